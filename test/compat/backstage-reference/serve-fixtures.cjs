// Serves a directory over plain HTTP on 127.0.0.1 (the stand-in for the Go harness's
// fixture server). Usage: node serve-fixtures.cjs <dir> <port>
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(process.argv[2]);
const port = Number(process.argv[3]);

http
  .createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const file = path.join(root, rel);
    if (!file.startsWith(root + path.sep)) {
      res.writeHead(403).end();
      return;
    }
    fs.readFile(file, (err, data) => {
      if (err) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/yaml; charset=utf-8' }).end(data);
    });
  })
  .listen(port, '127.0.0.1');
