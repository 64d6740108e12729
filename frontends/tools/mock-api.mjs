// Serves a mock of BillPay's Backend API from its OpenAPI definition with Prism (@stoplight/prism-cli): the
// definition api-clients.json names for the backend-api client (the catalog's api:backend-api), so the mock
// answers exactly the operations the generated client types. Responses are the definition's examples (static
// mode); Prism checks every request against the definition (parameters, bodies, the bearer token) and, with
// --errors, answers a violation — in the request or in its own example — with an error instead of a guess.
//
//   node tools/mock-api.mjs            (npm run mock:api) on http://127.0.0.1:4010
//   MOCK_API_HOST, MOCK_API_PORT       where to listen instead
//
// Paths are served from the root (GET /me/payments), so an app's apiBaseUrl is the mock's origin itself:
// "apiBaseUrl": "http://127.0.0.1:4010" in its config.json. CORS is on (any origin). internal/frontendtest starts
// it for the end-to-end test; SIGINT or SIGTERM stops it.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const config = JSON.parse(readFileSync(resolve(root, 'api-clients.json'), 'utf8'));
const backend = config.clients.find((c) => c.name === 'backend-api');
if (!backend) {
  console.error('api-clients.json has no backend-api client');
  process.exit(2);
}
const spec = resolve(root, backend.spec);
const host = process.env.MOCK_API_HOST || '127.0.0.1';
const port = process.env.MOCK_API_PORT || '4010';

// The CLI's script itself, run by this node: one process to stop, whatever npm's .bin shims look like.
const require = createRequire(import.meta.url);
const prismPackage = require.resolve('@stoplight/prism-cli/package.json');
const prism = resolve(dirname(prismPackage), JSON.parse(readFileSync(prismPackage, 'utf8')).bin.prism);

const child = spawn(
  process.execPath,
  [prism, 'mock', '--host', host, '--port', port, '--errors', '--multiprocess=false', spec],
  { cwd: root, stdio: 'inherit' },
);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => child.kill(signal));
}
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
