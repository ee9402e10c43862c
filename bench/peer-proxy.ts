import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import fastifyHttpProxy from '@fastify/http-proxy';
import httpProxy from 'http-proxy';
import { answerGcPauses } from './gc-pauses.ts';

/**
 * Child process: a Node reverse proxy someone would reach for instead of strangler, set up the
 * way its documentation recommends for keep-alive to one upstream, with nothing else on the
 * path. These rows say whether strangler, with its routing, flags and metrics, still beats
 * them. Usage: peer-proxy.ts <http-proxy|fastify-http-proxy> <upstream url>; reports its URL
 * over IPC.
 */
export const PEERS = ['http-proxy', 'fastify-http-proxy'] as const;
export type Peer = (typeof PEERS)[number];

const [peer, upstream] = process.argv.slice(2) as [Peer, string];

/** as many sockets to the upstream as the other rows' pools allow (floor-proxy.ts) */
const UPSTREAM_CONNECTIONS = 256;

async function startPeer(): Promise<AddressInfo> {
  if (peer === 'http-proxy') {
    // without an agent http-proxy opens a connection per request (the 0.06× row)
    const agent = new http.Agent({ keepAlive: true, maxSockets: UPSTREAM_CONNECTIONS });
    const proxy = httpProxy.createProxyServer({ target: upstream, agent });
    proxy.on('error', (_err, _req, res) => {
      if (res instanceof http.ServerResponse && !res.headersSent) res.writeHead(502).end();
    });
    const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => proxy.web(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return server.address() as AddressInfo;
  }
  if (peer === 'fastify-http-proxy') {
    // @fastify/reply-from keeps an undici pool of its own to the upstream
    const app = Fastify({ logger: false, keepAliveTimeout: 65_000 });
    await app.register(fastifyHttpProxy, { upstream, undici: { connections: UPSTREAM_CONNECTIONS, pipelining: 1 } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    return app.server.address() as AddressInfo;
  }
  throw new Error(`peer-proxy: no peer "${peer}"; the peers are ${PEERS.join(', ')}`);
}

const { port } = await startPeer();
process.send!({ url: `http://127.0.0.1:${port}` });
process.on('disconnect', () => process.exit(0));
answerGcPauses();
