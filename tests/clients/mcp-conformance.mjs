// Runs the official MCP conformance suite's server scenarios (@modelcontextprotocol/conformance) against
// AgentCloud's /mcp. Its server mode has no way to send an Authorization header, and /mcp is
// authenticated like the API, so the suite talks to a small loopback proxy that adds the caller's bearer
// token and passes everything else (streamed SSE included) through unchanged. Only the scenarios that test
// the protocol itself run: the others expect the reference "everything" server's own tools, resources and
// prompts (test_simple_text, test://static-text, …), which an AgentCloud server does not have.
// Env: BASE_URL, TOKEN. Prints one JSON summary line; exits non-zero when a check fails.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SCENARIOS = process.env.SCENARIOS?.split(',')
  ?? ['server-initialize', 'ping', 'logging-set-level', 'tools-list', 'resources-list', 'server-sse-multiple-streams', 'server-sse-polling'];

const { BASE_URL, TOKEN } = process.env;
const target = new URL(BASE_URL);

const proxy = http.createServer((request, response) => {
  const headers = { ...request.headers, host: target.host, authorization: `Bearer ${TOKEN}` };
  const upstream = http.request(
    { hostname: target.hostname, port: target.port, path: request.url, method: request.method, headers },
    (answer) => {
      response.writeHead(answer.statusCode, answer.headers);
      answer.pipe(response);
    },
  );
  upstream.on('error', (error) => {
    response.writeHead(502);
    response.end(String(error));
  });
  request.pipe(upstream);
});
await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${proxy.address().port}/mcp`;

// The suite needs Node 22; the `node` package of this folder's lock file ships that binary, so the
// machine's own Node (which runs this script) stays as it is.
const modules = path.join(path.dirname(fileURLToPath(import.meta.url)), 'node_modules');
const cli = path.join(modules, '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
const node22 = path.join(modules, 'node', 'bin', 'node');
const run = (scenario, outputDir) =>
  new Promise((resolve) => {
    const child = spawn(node22, [cli, 'server', '--url', url, '--scenario', scenario, '-o', outputDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (code) => resolve({ code, output }));
  });

const results = {};
let failed = 0;
for (const scenario of SCENARIOS) {
  const outputDir = mkdtempSync(path.join(tmpdir(), 'mcp-conformance-'));
  const { code, output } = await run(scenario, outputDir);
  const files = readdirSync(outputDir, { recursive: true }).filter((f) => String(f).endsWith('checks.json'));
  const checks = files.flatMap((f) => JSON.parse(readFileSync(path.join(outputDir, String(f)), 'utf8')));
  rmSync(outputDir, { recursive: true, force: true });
  const bad = checks.filter((c) => c.status === 'FAILURE');
  if (code !== 0 || bad.length > 0 || checks.length === 0) {
    failed++;
    console.error(`${scenario}: exit ${code}\n${output}\n${JSON.stringify(bad, null, 2)}`);
  }
  results[scenario] = Object.fromEntries(checks.map((c) => [c.id, c.status]));
}

proxy.close();
console.log(JSON.stringify({ scenarios: results, failed }));
process.exit(failed > 0 ? 1 : 0);
