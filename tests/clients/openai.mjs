// Talks to an AgentCloud agent with the official OpenAI JavaScript client, base URL pointed at /v1:
// models, a chat completion, a streamed one, and the errors. Env: BASE_URL, TOKEN, AGENT_ID (an echo
// agent), OTHER_AGENT_ID (another user's). Prints one JSON summary line; exits non-zero on any failure.
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const { BASE_URL, TOKEN, AGENT_ID, OTHER_AGENT_ID } = process.env;
const openai = new OpenAI({ baseURL: `${BASE_URL}/v1`, apiKey: TOKEN, maxRetries: 0 });
const model = `agent-${AGENT_ID}`;

const models = await openai.models.list();
assert.ok(models.data.some((m) => m.id === model));

const completion = await openai.chat.completions.create({
  model, user: 'js-client-conversation',
  messages: [{ role: 'system', content: 'ignored' }, { role: 'user', content: 'hello over OpenAI' }],
});
assert.equal(completion.object, 'chat.completion');
assert.equal(completion.choices[0].message.content, 'hello over OpenAI');
assert.equal(completion.choices[0].finish_reason, 'stop');

const stream = await openai.chat.completions.create({
  model, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'streamed hello' }],
});
let text = '';
let chunks = 0;
let finish;
for await (const chunk of stream) {
  chunks++;
  assert.equal(chunk.object, 'chat.completion.chunk');
  text += chunk.choices[0]?.delta?.content ?? '';
  finish = chunk.choices[0]?.finish_reason ?? finish;
}
assert.equal(text, 'streamed hello');
assert.equal(finish, 'stop');

const refuse = async (request, status) => {
  try {
    await request();
  } catch (error) {
    assert.equal(error.status, status, String(error));
    return error;
  }
  assert.fail(`expected ${status}`);
};
const notFound = await refuse(() => openai.chat.completions.create({ model: `agent-${OTHER_AGENT_ID}`, messages: [{ role: 'user', content: 'x' }] }), 404);
assert.equal(notFound.code, 'model_not_found');
const bad = await refuse(() => openai.chat.completions.create({ model, messages: [] }), 400);
assert.equal(bad.param, 'messages');
const unauthorized = await refuse(() => new OpenAI({ baseURL: `${BASE_URL}/v1`, apiKey: 'not-a-token', maxRetries: 0 }).models.list(), 401);
assert.equal(unauthorized.code, 'invalid_api_key');

console.log(JSON.stringify({ ok: true, completion: completion.id, chunks, notFound: notFound.message }));
