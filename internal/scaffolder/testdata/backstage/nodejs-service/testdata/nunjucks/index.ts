import http from 'node:http';

import { metrics } from './metrics';

const server = http.createServer((req, res) => {
  res.end('Hello from payments-api');
});
server.listen(process.env.PORT || 3000);
