// Runs an AgentCloud agent through its AG-UI door with the reference client, @ag-ui/client's HttpAgent (which checks the
// events' order as it applies them: a stream out of protocol fails the run). One thread: a text run, a second run that the
// model answers knowing the first turn, a run with a tool call, one that ends with an approval interrupt, and the run that
// answers it (resume) and streams the rest. Env: BASE_URL, TOKEN, AGENT_ID, ASK (the text that makes the model call a tool that
// needs approval). Prints one JSON summary line; exits non-zero on any failure.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { HttpAgent } from '@ag-ui/client';

const { BASE_URL, TOKEN, AGENT_ID, ASK } = process.env;
const agent = new HttpAgent({
  url: `${BASE_URL}/agents/${AGENT_ID}/ag-ui`, headers: { Authorization: `Bearer ${TOKEN}` }, threadId: randomUUID(),
});

/** One run: its events' types (steps left out: when they come depends on the worker), its events, its step names. */
async function run(text, parameters = {}) {
  if (text !== undefined) agent.addMessage({ id: randomUUID(), role: 'user', content: text });
  const events = [];
  await agent.runAgent({ runId: randomUUID(), ...parameters }, { onEvent: ({ event }) => { events.push(event); } });
  const types = events.map((e) => e.type).filter((t) => !t.startsWith('STEP_'))
    .filter((t, i, all) => t !== 'TEXT_MESSAGE_CONTENT' || all[i - 1] !== t);
  const steps = events.filter((e) => e.type.startsWith('STEP_'));
  assert.equal(steps.filter((e) => e.type === 'STEP_STARTED').length, steps.filter((e) => e.type === 'STEP_FINISHED').length);
  const said = events.filter((e) => e.type === 'TEXT_MESSAGE_CONTENT').map((e) => e.delta).join('');
  return { types, events, text: said, steps: steps.filter((e) => e.type === 'STEP_STARTED').map((e) => e.stepName) };
}

const last = () => agent.messages[agent.messages.length - 1];

const first = await run('hello');
assert.equal(first.events[0].threadId, agent.threadId);
assert.equal(first.events[0].protocolVersion, '1.0');
assert.equal(first.events.at(-1).outcome.type, 'success');
assert.equal(last().role, 'assistant');
assert.equal(last().content, first.text);

const second = await run('and again');

const tool = await run('remember teal');
const call = tool.events.find((e) => e.type === 'TOOL_CALL_START');
const result = tool.events.find((e) => e.type === 'TOOL_CALL_RESULT');
assert.equal(result.toolCallId, call.toolCallId);
const assistant = agent.messages.find((m) => m.toolCalls?.some((c) => c.id === call.toolCallId));
assert.equal(JSON.parse(assistant.toolCalls.find((c) => c.id === call.toolCallId).function.arguments).value, 'teal');
assert.ok(agent.messages.some((m) => m.role === 'tool' && m.toolCallId === call.toolCallId));

const asked = await run(ASK);
const finished = asked.events.at(-1);
assert.equal(finished.outcome.type, 'interrupt');
assert.equal(agent.pendingInterrupts.length, 1);
const [interrupt] = agent.pendingInterrupts;
assert.equal(asked.events.find((e) => e.type === 'TOOL_CALL_START').toolCallId, interrupt.toolCallId);

const resumed = await run(undefined, {
  resume: [{ interruptId: interrupt.id, status: 'resolved', payload: { decision: 'approve', reason: 'fine by me' } }],
});
assert.equal(agent.pendingInterrupts.length, 0);
assert.equal(resumed.events.at(-1).outcome.type, 'success');
assert.equal(resumed.events.find((e) => e.type === 'TOOL_CALL_RESULT').toolCallId, interrupt.toolCallId);

console.log(JSON.stringify({
  ok: true, thread: agent.threadId,
  runs: [first, second, tool, asked, resumed].map(({ types, text, steps }) => ({ types, text, steps })),
  tool: { name: call.toolCallName, result: result.content },
  interrupt: { id: interrupt.id, reason: interrupt.reason, message: interrupt.message, tool: interrupt.metadata.approval.tool },
}));
