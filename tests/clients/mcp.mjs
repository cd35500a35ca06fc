// Drives AgentCloud's MCP server with the official MCP TypeScript SDK: initialise, list tools and
// resources, call send_message and the other tools. Env: BASE_URL, TOKEN, AGENT_ID (an echo agent),
// OTHER_AGENT_ID (another user's). Prints one JSON summary line; exits non-zero on any failure.
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const { BASE_URL, TOKEN, AGENT_ID, OTHER_AGENT_ID } = process.env;
const transport = new StreamableHTTPClientTransport(new URL(`${BASE_URL}/mcp`), {
  requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
});
const client = new Client({ name: 'agentcloud-tests', version: '1.0.0' });
await client.connect(transport);

const { tools } = await client.listTools();
const names = tools.map((t) => t.name).sort();
assert.deepEqual(names, ['get_conversation', 'get_message', 'list_agents', 'read_logs', 'send_message']);

const parse = (result) => {
  assert.ok(!result.isError, `tool failed: ${JSON.stringify(result.content)}`);
  return JSON.parse(result.content[0].text);
};
const listed = await client.callTool({ name: 'list_agents', arguments: {} });
const agents = parse(listed);
assert.ok(agents.some((a) => a.id === Number(AGENT_ID)));
// Structured output: the SDK has checked it against the tool's output schema (an array, wrapped for 2025-11-25).
assert.ok(tools.every((t) => t.outputSchema?.type === 'object'));
assert.deepEqual(listed.structuredContent.result, agents);

const sent = parse(await client.callTool({ name: 'send_message', arguments: { agent_id: Number(AGENT_ID), text: 'hello over MCP' } }));
assert.equal(sent.status, 'done');
assert.equal(sent.answer, 'hello over MCP');
const again = parse(await client.callTool({
  name: 'send_message', arguments: { agent_id: Number(AGENT_ID), text: 'second turn', session: sent.session },
}));
assert.equal(again.session, sent.session);

const message = parse(await client.callTool({ name: 'get_message', arguments: { agent_id: Number(AGENT_ID), message_id: sent.message_id } }));
assert.equal(message.reply, 'hello over MCP');
const conversation = parse(await client.callTool({ name: 'get_conversation', arguments: { agent_id: Number(AGENT_ID), session: sent.session } }));
assert.deepEqual(conversation.map((m) => m.payload), ['hello over MCP', 'second turn']);
const logs = await client.callTool({ name: 'read_logs', arguments: { agent_id: Number(AGENT_ID) } });
assert.ok(!logs.isError);
assert.match(logs.content[0].text, new RegExp(`Received message ${sent.message_id}`));

const { resources } = await client.listResources();
const log = resources.find((r) => r.uri === `agentcloud://agents/${AGENT_ID}/log`);
assert.ok(log, 'each agent has a log resource');
const read = await client.readResource({ uri: log.uri });
assert.match(read.contents[0].text, /Received message/);

const stranger = await client.callTool({ name: 'send_message', arguments: { agent_id: Number(OTHER_AGENT_ID), text: 'not mine' } });
assert.equal(stranger.isError, true);
assert.match(stranger.content[0].text, /not found/);

await client.close();
console.log(JSON.stringify({ ok: true, tools: names, message: sent.message_id, resources: resources.length, stranger: stranger.content[0].text }));
