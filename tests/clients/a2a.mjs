// Drives an AgentCloud agent with the official A2A JavaScript SDK over one binding: card discovery (and the
// extended card), send, stream, get, list, subscribe, cancel. Env: BASE_URL, TOKEN, AGENT_ID (an echo agent),
// SLOW_AGENT_ID (one whose head of line is held, so its messages stay queued), TRANSPORT (JSONRPC, the
// default, or HTTP+JSON). Prints one JSON summary line; exits non-zero on any failure.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { CancelTaskRequest, GetTaskRequest, ListTasksRequest, Message, TaskState } from '@a2a-js/sdk';
import { ClientFactory, DefaultAgentCardResolver, JsonRpcTransportFactory, RestTransportFactory } from '@a2a-js/sdk/client';

const { BASE_URL, TOKEN, AGENT_ID, SLOW_AGENT_ID } = process.env;
const TRANSPORT = process.env.TRANSPORT ?? 'JSONRPC';
const withToken = (url, init = {}) =>
  fetch(url, { ...init, headers: { ...(init.headers ?? {}), Authorization: `Bearer ${TOKEN}` } });
const transports = () => [TRANSPORT === 'HTTP+JSON' ? new RestTransportFactory({ fetchImpl: withToken }) : new JsonRpcTransportFactory({ fetchImpl: withToken })];
const factory = new ClientFactory({
  transports: transports(),
  cardResolver: new DefaultAgentCardResolver({ fetchImpl: withToken }),
});
const userMessage = (text, contextId) =>
  ({ message: Message.fromJSON({ messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text }], ...(contextId ? { contextId } : {}) }) });
const textOf = (parts) => parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');

const client = await factory.createFromUrl(`${BASE_URL}/a2a/${AGENT_ID}/`);
assert.equal(client.transport.protocolName, TRANSPORT);
// extendedAgentCard is set, so the client fetches the extended card over the binding it chose.
const card = await client.getAgentCard();
assert.equal(card.capabilities.streaming, true);
assert.deepEqual(card.supportedInterfaces.map((i) => `${i.protocolBinding} ${i.protocolVersion}`), ['JSONRPC 1.0', 'HTTP+JSON 1.0']);

const task = await client.sendMessage(userMessage('hello over A2A'));
assert.equal(task.status.state, TaskState.TASK_STATE_COMPLETED);
assert.equal(textOf(task.artifacts[0].parts), 'hello over A2A');
assert.equal(textOf(task.status.message.parts), 'hello over A2A');

const streamed = [];
for await (const event of client.sendMessageStream(userMessage('streamed words', task.contextId))) {
  streamed.push(event.payload);
}
assert.equal(streamed[0].$case, 'task');
assert.equal(streamed[0].value.contextId, task.contextId);
const last = streamed.at(-1);
assert.equal(last.$case, 'statusUpdate');
assert.equal(last.value.status.state, TaskState.TASK_STATE_COMPLETED);
const text = streamed.filter((e) => e.$case === 'artifactUpdate').map((e) => textOf(e.value.artifact.parts)).join('');
assert.equal(text, 'streamed words');

const fetched = await client.getTask(GetTaskRequest.fromJSON({ id: task.id, historyLength: 10 }));
assert.equal(fetched.id, task.id);
assert.equal(fetched.history.length, 2);
const listed = await client.listTasks(ListTasksRequest.fromJSON({ contextId: task.contextId, pageSize: 10 }));
assert.equal(listed.tasks.length, 2);

// polling: SendMessage returns at once (returnImmediately) instead of waiting for the answer.
const pollingFactory = new ClientFactory({
  transports: transports(),
  cardResolver: new DefaultAgentCardResolver({ fetchImpl: withToken }),
  clientConfig: { polling: true },
});
const slow = await pollingFactory.createFromUrl(`${BASE_URL}/a2a/${SLOW_AGENT_ID}/`);
const queued = await slow.sendMessage(userMessage('wait in line'));
assert.equal(queued.status.state, TaskState.TASK_STATE_SUBMITTED);
// subscribe to the queued task (its first event, the task, says the subscription is open); canceling it ends the
// subscription with the final state.
const subscription = slow.resubscribeTask({ id: queued.id })[Symbol.asyncIterator]();
const first = await subscription.next();
assert.equal(first.value.payload.$case, 'task');
const canceled = await slow.cancelTask(CancelTaskRequest.fromJSON({ id: queued.id }));
assert.equal(canceled.status.state, TaskState.TASK_STATE_CANCELED);
let lastEvent = first.value;
for (let next = await subscription.next(); !next.done; next = await subscription.next()) lastEvent = next.value;
assert.equal(lastEvent.payload.value.status.state, TaskState.TASK_STATE_CANCELED);
let notCancelable;
try {
  await slow.cancelTask(CancelTaskRequest.fromJSON({ id: queued.id }));
} catch (error) {
  notCancelable = error;
}
assert.ok(notCancelable, 'a second cancel fails');
let notFound;
try {
  await client.getTask(GetTaskRequest.fromJSON({ id: randomUUID() }));
} catch (error) {
  notFound = error;
}
assert.ok(notFound, 'an unknown task fails');
assert.equal(notFound.name, 'TaskNotFoundError');
assert.equal(notCancelable.name, 'TaskNotCancelableError');

console.log(JSON.stringify({
  ok: true, transport: client.transport.protocolName, card: card.name, task: task.id, streamedEvents: streamed.length, canceled: canceled.id,
  notCancelable: notCancelable.constructor.name, notFound: notFound.constructor.name,
}));
