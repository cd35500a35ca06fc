// Talks to AgentCloud's Responses door with the official OpenAI JavaScript client: a response, a streamed one that
// continues it (previous_response_id), a conversation, a background response polled and cancelled, and the 404s of
// another user's ids. Env: BASE_URL, TOKEN, AGENT_ID (a streaming echo agent), SLOW_AGENT_ID (one whose messages wait),
// OTHER_TOKEN and OTHER_AGENT_ID (another user's, and their echo agent). Prints one JSON summary line; exits non-zero on any failure.
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const { BASE_URL, TOKEN, AGENT_ID, SLOW_AGENT_ID, OTHER_TOKEN, OTHER_AGENT_ID } = process.env;
const openai = new OpenAI({ baseURL: `${BASE_URL}/v1`, apiKey: TOKEN, maxRetries: 0 });
const stranger = new OpenAI({ baseURL: `${BASE_URL}/v1`, apiKey: OTHER_TOKEN, maxRetries: 0 });
const model = `agent-${AGENT_ID}`;

const first = await openai.responses.create({ model, input: 'hello over Responses', metadata: { run: 'js' } });
assert.equal(first.object, 'response');
assert.equal(first.status, 'completed');
assert.equal(first.output_text, 'hello over Responses');
assert.equal(first.metadata.run, 'js');
assert.equal(first.output[0].type, 'message');
assert.equal(first.output[0].role, 'assistant');

// The SDK's stream helper rebuilds the response from the events and checks their order as it goes.
const stream = openai.responses.stream({
  model, previous_response_id: first.id, input: [{ role: 'user', content: [{ type: 'input_text', text: 'streamed hello' }] }],
});
const types = [];
let deltas = '';
for await (const event of stream) {
  types.push(event.type);
  if (event.type === 'response.output_text.delta') deltas += event.delta;
}
const streamed = await stream.finalResponse();
assert.equal(deltas, 'streamed hello');
assert.equal(streamed.output[0].content[0].text, 'streamed hello');
assert.equal(streamed.status, 'completed');
assert.equal(streamed.previous_response_id, first.id);
assert.deepEqual(types.slice(0, 4), ['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
assert.deepEqual(types.slice(-4), ['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
assert.ok(types.filter((t) => t === 'response.output_text.delta').length >= 2, types.join());

// The same session: both are messages of one conversation of the agent.
const again = await openai.responses.retrieve(streamed.id);
assert.equal(again.output[0].content[0].text, 'streamed hello');

// Conversations (the 5.x client has no conversations resource yet: its generic post/get).
const conversation = await openai.post('/conversations', { body: { metadata: { topic: 'greetings' } } });
assert.equal(conversation.object, 'conversation');
const inConversation = await openai.responses.create({ model, input: 'in a conversation', conversation: conversation.id });
assert.equal(inConversation.conversation.id, conversation.id);
const second = await openai.responses.create({ model, input: 'still in it', conversation: { id: conversation.id } });
const items = await openai.get(`/conversations/${conversation.id}/items`, { query: { order: 'asc' } });
assert.deepEqual(items.data.map((i) => `${i.role}:${i.content[0].text}`),
  ['user:in a conversation', 'assistant:in a conversation', 'user:still in it', 'assistant:still in it']);
assert.equal(items.data[1].id, inConversation.output[0].id);

// Background: answers at once; its agent is busy, so it waits queued until it is cancelled.
const background = await openai.responses.create({ model: `agent-${SLOW_AGENT_ID}`, input: 'later', background: true });
assert.equal(background.status, 'queued');
assert.equal(background.background, true);
assert.equal((await openai.responses.retrieve(background.id)).status, 'queued');
const cancelled = await openai.responses.cancel(background.id);
assert.equal(cancelled.status, 'cancelled');
assert.equal((await openai.responses.retrieve(background.id)).status, 'cancelled');

const refuse = async (request, status) => {
  try {
    await request();
  } catch (error) {
    assert.equal(error.status, status, String(error));
    return error;
  }
  assert.fail(`expected ${status}`);
};
await refuse(() => stranger.responses.retrieve(first.id), 404);
await refuse(() => stranger.responses.cancel(background.id), 404);
await refuse(() => stranger.responses.create({ model: `agent-${AGENT_ID}`, input: 'x' }), 404);
const theirs = `agent-${OTHER_AGENT_ID}`;
const theirPrevious = await refuse(() => stranger.responses.create({ model: theirs, input: 'x', previous_response_id: first.id }), 404);
assert.equal(theirPrevious.param, 'previous_response_id');
await refuse(() => stranger.get(`/conversations/${conversation.id}`), 404);
await refuse(() => stranger.get(`/conversations/${conversation.id}/items`), 404);
await refuse(() => stranger.responses.create({ model: theirs, input: 'x', conversation: conversation.id }), 404);
const bad = await refuse(() => openai.responses.create({ model, input: [] }), 400);
assert.equal(bad.param, 'input');

const deleted = await openai.delete(`/conversations/${conversation.id}`);
assert.equal(deleted.deleted, true);
await refuse(() => openai.get(`/conversations/${conversation.id}`), 404);

console.log(JSON.stringify({ ok: true, first: first.id, second: second.id, events: types.length, notFound: theirPrevious.message }));
