import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { answerCpuProfile } from './cpu-profile.ts';
import { answerGcPauses } from './gc-pauses.ts';

/**
 * Child process: the reference row "Node floor", the least a Node reverse proxy can do here:
 * node:http in, one undici Pool out, headers passed as they are, no routing, flags, metrics or
 * log. The proxy's rows minus this one is what strangler's own stages cost; this one minus
 * nginx is what Node costs. Usage: floor-proxy.ts <upstream url>; reports its URL over IPC.
 */
const pool = new Pool(process.argv[2], { connections: 256, pipelining: 1 });

const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  pool.stream(
    { path: req.url!, method: req.method as 'GET', headers: req.headers as Record<string, string>, body: null, opaque: res },
    ({ statusCode, headers, opaque }) => {
      const response = opaque as http.ServerResponse;
      response.writeHead(statusCode, headers as http.OutgoingHttpHeaders);
      return response;
    },
    (err) => {
      if (err && !res.headersSent) res.writeHead(502).end();
    },
  );
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.send!({ url: `http://127.0.0.1:${port}` });
});
process.on('disconnect', () => process.exit(0));
answerGcPauses();
answerCpuProfile();
