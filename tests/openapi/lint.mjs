// Validates an OpenAPI document against the OpenAPI 3.x schema and its semantic rules (swagger-parser:
// unique operation ids, path parameters declared and present, $refs that resolve), then checks what the
// API promises on top: every error response is problem details with the problem schema.
// Usage: node lint.mjs <document.json>. Exit 0 when valid; otherwise each problem on its own line.
import SwaggerParser from "@apidevtools/swagger-parser";
import { readFile } from "node:fs/promises";

const file = process.argv[2];
if (!file) {
  console.error("usage: node lint.mjs <openapi.json>");
  process.exit(2);
}

const problems = [];
const raw = JSON.parse(await readFile(file, "utf8"));
try {
  // Work on a copy: validate() dereferences in place.
  await SwaggerParser.validate(structuredClone(raw), { resolve: { external: false } });
} catch (error) {
  problems.push(`invalid OpenAPI document: ${error.message}`);
}

for (const [path, item] of Object.entries(raw.paths ?? {})) {
  for (const [method, operation] of Object.entries(item)) {
    for (const [status, response] of Object.entries(operation.responses ?? {})) {
      if (!/^[45]\d\d$/.test(status) || path === "/health") continue;
      const media = response.content?.["application/problem+json"];
      if (!media) {
        problems.push(`${method.toUpperCase()} ${path} ${status}: no application/problem+json content`);
      } else if (!media.schema?.$ref?.endsWith("ApiProblem")) {
        problems.push(`${method.toUpperCase()} ${path} ${status}: not the ApiProblem schema`);
      }
    }
  }
}

for (const problem of problems) console.log(problem);
console.log(problems.length === 0 ? "OpenAPI document is valid" : `${problems.length} problem(s)`);
process.exit(problems.length === 0 ? 0 : 1);
