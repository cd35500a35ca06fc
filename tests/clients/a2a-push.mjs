// Sets, reads, lists and deletes a task's push notification configs with the official A2A JavaScript SDK (which refuses
// unless the card says capabilities.pushNotifications). Env: BASE_URL, TOKEN, AGENT_ID (an echo agent), PUSH_URL (a
// receiver on loopback). The task is finished when the config is set, so its final state is pushed at once.
// Prints one JSON summary line; exits non-zero on any failure.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  DeleteTaskPushNotificationConfigRequest, GetTaskPushNotificationConfigRequest, ListTaskPushNotificationConfigsRequest, Message,
  TaskPushNotificationConfig, TaskState,
} from '@a2a-js/sdk';
import { ClientFactory, DefaultAgentCardResolver, JsonRpcTransportFactory } from '@a2a-js/sdk/client';

const { BASE_URL, TOKEN, AGENT_ID, PUSH_URL } = process.env;
const withToken = (url, init = {}) =>
  fetch(url, { ...init, headers: { ...(init.headers ?? {}), Authorization: `Bearer ${TOKEN}` } });
const factory = new ClientFactory({
  transports: [new JsonRpcTransportFactory({ fetchImpl: withToken })],
  cardResolver: new DefaultAgentCardResolver({ fetchImpl: withToken }),
});

const client = await factory.createFromUrl(`${BASE_URL}/a2a/${AGENT_ID}/`);
const card = await client.getAgentCard();
assert.equal(card.capabilities.pushNotifications, true);

const task = await client.sendMessage({
  message: Message.fromJSON({ messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text: 'push from the sdk' }] }),
});
assert.equal(task.status.state, TaskState.TASK_STATE_COMPLETED);

const created = await client.createTaskPushNotificationConfig(
  TaskPushNotificationConfig.fromJSON({ taskId: task.id, id: 'sdk', url: PUSH_URL, token: 'sdk-token' }));
assert.equal(created.id, 'sdk');
assert.equal(created.taskId, task.id);
await client.createTaskPushNotificationConfig(
  TaskPushNotificationConfig.fromJSON({ taskId: task.id, id: 'gone', url: PUSH_URL, token: 'gone-token' }));
const read = await client.getTaskPushNotificationConfig(GetTaskPushNotificationConfigRequest.fromJSON({ taskId: task.id, id: 'sdk' }));
assert.equal(read.url, PUSH_URL);
const listed = await client.listTaskPushNotificationConfig(ListTaskPushNotificationConfigsRequest.fromJSON({ taskId: task.id }));
assert.deepEqual(listed.configs.map((c) => c.id), ['gone', 'sdk']);
await client.deleteTaskPushNotificationConfig(DeleteTaskPushNotificationConfigRequest.fromJSON({ taskId: task.id, id: 'gone' }));
const after = await client.listTaskPushNotificationConfig(ListTaskPushNotificationConfigsRequest.fromJSON({ taskId: task.id }));
assert.deepEqual(after.configs.map((c) => c.id), ['sdk']);

console.log(JSON.stringify({ ok: true, task: task.id, configs: listed.configs.length }));
