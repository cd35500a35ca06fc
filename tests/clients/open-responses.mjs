// The AI SDK (ai 7) with its Open Responses provider (@ai-sdk/open-responses) against AgentCloud's /v1/responses:
// generateText and streamText. Runs under the Node 22 of this folder's `node` package. Env: BASE_URL, TOKEN, AGENT_ID
// (a streaming echo agent). Prints one JSON summary line; exits non-zero on any failure.
import assert from 'node:assert/strict';
import { createOpenResponses } from '@ai-sdk/open-responses';
import { generateText, streamText } from 'ai';

const { BASE_URL, TOKEN, AGENT_ID } = process.env;
const provider = createOpenResponses({ name: 'agentcloud', url: `${BASE_URL}/v1/responses`, apiKey: TOKEN });
const model = provider(`agent-${AGENT_ID}`);

const generated = await generateText({ model, prompt: 'hello from the AI SDK' });
assert.equal(generated.text, 'hello from the AI SDK');
assert.equal(generated.finishReason, 'stop');
assert.match(generated.response.id, /^resp_/);

const result = streamText({ model, system: 'ignored: the agent has its own instructions', prompt: 'streamed from the AI SDK' });
const parts = [];
for await (const part of result.textStream) parts.push(part);
assert.equal(parts.join(''), 'streamed from the AI SDK');
assert.ok(parts.length >= 2, JSON.stringify(parts));
assert.equal(await result.finishReason, 'stop');

let failure;
try {
  await generateText({ model: provider('agent-999999999'), prompt: 'x', maxRetries: 0 });
} catch (error) {
  failure = error;
}
assert.equal(failure?.statusCode, 404, String(failure));

console.log(JSON.stringify({ ok: true, id: generated.response.id, parts: parts.length }));
