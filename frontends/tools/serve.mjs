// Runs the four apps locally on ports 4200 (shell), 4201 (payment-app), 4202 (admin-panel), 4203 (feature-flags),
// as their manifests and config.json files expect, against Portal at PORTAL_URL (default http://localhost:7007).
//   node tools/serve.mjs dev    `ng serve` for each app (rebuilds on change; proxy.conf.json proxies /portal)
//   node tools/serve.mjs dist   serves dist/<app> as a CDN would (CORS on remotes, SPA fallback) and proxies
//                               /portal/* to Portal's management API; run `npm run build` first
//        … dist --mock-api      also starts the Backend API mock (tools/mock-api.mjs, Prism on 127.0.0.1:4010)
//                               and serves config.json with apiBaseUrl pointing at it (npm run serve:mock)
// Without --mock-api the committed config.json files leave apiBaseUrl empty: the in-browser demo backend.
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { request as httpRequest, createServer } from 'node:http';
import { extname, join, normalize, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const apps = { shell: 4200, 'payment-app': 4201, 'admin-panel': 4202, 'feature-flags': 4203 };
const portal = new URL(process.env.PORTAL_URL ?? 'http://localhost:7007');
const mode = process.argv[2] ?? 'dev';
const mockApi = process.argv.includes('--mock-api');
const mockApiUrl = `http://127.0.0.1:${process.env.MOCK_API_PORT ?? '4010'}`;

if (mockApi && mode !== 'dist') {
  console.error('--mock-api needs dist mode: the dev servers serve the committed config.json');
  process.exit(2);
}

if (mode === 'dev') {
  const children = Object.keys(apps).map((app) =>
    spawn(join(root, 'node_modules', '.bin', 'ng'), ['serve', app], { cwd: root, stdio: 'inherit' }),
  );
  const stop = () => children.forEach((c) => c.kill('SIGTERM'));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} else if (mode === 'dist') {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.svg': 'image/svg+xml' };
  for (const [app, port] of Object.entries(apps)) {
    const dir = join(root, 'dist', app);
    if (!existsSync(join(dir, 'index.html'))) {
      console.error(`dist/${app} is missing: run npm run build first`);
      process.exit(1);
    }
    createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/portal' || url.pathname.startsWith('/portal/')) {
        const upstream = httpRequest(
          { host: portal.hostname, port: portal.port, method: req.method, path: url.pathname.slice('/portal'.length) + url.search,
            headers: { ...req.headers, host: portal.host } },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        upstream.on('error', (e) => {
          res.writeHead(502, { 'Content-Type': 'text/plain' });
          res.end(`Portal at ${portal.origin} is not answering: ${e.message}`);
        });
        req.pipe(upstream);
        return;
      }
      if (mockApi && url.pathname === '/config.json') {
        // Every environment of the app's config.json, with the Backend API at the mock.
        const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
        for (const env of Object.values(config.environments)) {
          env.apiBaseUrl = mockApiUrl;
        }
        res.writeHead(200, { 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'no-cache' });
        res.end(JSON.stringify(config));
        return;
      }
      let file = join(dir, normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, ''));
      if (!file.startsWith(dir) || !existsSync(file) || statSync(file).isDirectory()) {
        if (extname(url.pathname) !== '') {
          res.writeHead(404, { 'Access-Control-Allow-Origin': '*' });
          res.end();
          return;
        }
        file = join(dir, 'index.html'); // client-side routes
      }
      res.writeHead(200, {
        'Content-Type': types[extname(file)] ?? 'application/octet-stream',
        'Access-Control-Allow-Origin': '*',
        'Cache-Control': 'no-cache',
      });
      createReadStream(file).pipe(res);
    }).listen(port, '127.0.0.1', () => console.log(`${app}: http://localhost:${port}/`));
  }
  if (mockApi) {
    const mock = spawn(process.execPath, [join(root, 'tools', 'mock-api.mjs')], { cwd: root, stdio: 'inherit' });
    mock.on('exit', (code) => {
      console.error(`the Backend API mock stopped (exit ${code})`);
      process.exit(1);
    });
    const stop = () => {
      mock.removeAllListeners('exit');
      mock.kill('SIGTERM');
      process.exit(0);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  }
} else {
  console.error('usage: node tools/serve.mjs dev|dist');
  process.exit(2);
}
