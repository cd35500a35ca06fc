// An approval round through A2A with the official JavaScript SDK: the task of a message whose run calls a tool that needs a
// person's approval is input-required, its status message carries the call (a data part {approval}), and the answer goes in
// the same task (message.taskId) as a data part {decision: "approve"}. Env: BASE_URL, TOKEN, AGENT_ID, ASK (the text that makes
// the model call the tool). Prints one JSON summary line; exits non-zero on any failure.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Message, TaskState } from '@a2a-js/sdk';
import { ClientFactory, DefaultAgentCardResolver, JsonRpcTransportFactory } from '@a2a-js/sdk/client';

const { BASE_URL, TOKEN, AGENT_ID, ASK } = process.env;
const withToken = (url, init = {}) =>
  fetch(url, { ...init, headers: { ...(init.headers ?? {}), Authorization: `Bearer ${TOKEN}` } });
const factory = new ClientFactory({
  transports: [new JsonRpcTransportFactory({ fetchImpl: withToken })],
  cardResolver: new DefaultAgentCardResolver({ fetchImpl: withToken }),
});
const client = await factory.createFromUrl(`${BASE_URL}/a2a/${AGENT_ID}/`);

const task = await client.sendMessage({
  message: Message.fromJSON({ messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text: ASK }] }),
});
assert.equal(task.status.state, TaskState.TASK_STATE_INPUT_REQUIRED);
const request = task.status.message.parts.find((p) => p.content?.$case === 'data')?.content.value.approval;
assert.ok(request, 'the status message carries the approval');

const answered = await client.sendMessage({
  message: Message.fromJSON({
    messageId: randomUUID(), role: 'ROLE_USER', taskId: task.id, contextId: task.contextId, parts: [{ data: { decision: 'approve' } }],
  }),
});
assert.equal(answered.id, task.id);
assert.equal(answered.status.state, TaskState.TASK_STATE_COMPLETED);
const answer = answered.artifacts[0].parts.map((p) => p.content?.value).join('');

console.log(JSON.stringify({ ok: true, task: task.id, approval: request.approval_id, tool: request.tool, answer }));
