// The official OpenAI JavaScript client as it ships (it retries a timeout, a 408, 409, 429 or 5xx), with a timeout shorter
// than the agent takes to answer: it times out and tries again until an attempt lasts long enough. Then the same request
// once more, which is a new call. Env: BASE_URL, TOKEN, AGENT_ID (an llm agent whose first answer is slow). Prints one JSON
// summary line; exits non-zero on any failure.
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const { BASE_URL, TOKEN, AGENT_ID } = process.env;
const retryCounts = [];
const countingFetch = (url, init) => {
  retryCounts.push(Number(new Headers(init.headers).get('x-stainless-retry-count')));
  return fetch(url, init);
};
const openai = new OpenAI({ baseURL: `${BASE_URL}/v1`, apiKey: TOKEN, timeout: 1500, maxRetries: 6, fetch: countingFetch });
const request = { model: `agent-${AGENT_ID}`, messages: [{ role: 'user', content: 'pay once' }] };

const slow = await openai.chat.completions.create(request);
const attempts = retryCounts.length;
assert.ok(attempts >= 2, `the first call took ${attempts} attempt(s); it was meant to time out at least once`);
const again = await openai.chat.completions.create(request, { timeout: 60_000 });

console.log(JSON.stringify({
  ok: true, attempts, retryCounts, first: slow.choices[0].message.content, second: again.choices[0].message.content,
  firstId: slow.id, secondId: again.id,
}));
