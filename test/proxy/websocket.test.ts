import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import WebSocket, { WebSocketServer } from 'ws';
import { eventually } from '../helpers/http.ts';
import { startTestProxy } from '../helpers/proxy.ts';

/** A real WebSocket server that greets with its name and the path, then echoes. */
async function startWsUpstream(t: { teardown(fn: () => unknown): void }, name: string): Promise<string> {
  const server = http.createServer((_req, res) => res.end(`${name} plain`));
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket, req) => {
    socket.send(`${name} hello ${req.url}`);
    socket.on('message', (data) => socket.send(`${name} echo ${data}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function converse(url: string): Promise<string[]> {
  const ws = new WebSocket(url);
  const messages: string[] = [];
  return new Promise<string[]>((resolve, reject) => {
    ws.on('message', (data) => {
      messages.push(String(data));
      if (messages.length === 1) ws.send('ping');
      if (messages.length === 2) {
        ws.close();
        resolve(messages);
      }
    });
    ws.on('error', reject);
  });
}

t.test('WebSocket upgrades go where the route decides, both directions', async (t) => {
  const legacy = await startWsUpstream(t, 'legacy');
  const rooms = await startWsUpstream(t, 'rooms');
  const proxy = await startTestProxy({
    dir: t.testdir(),
    legacy,
    services: { rooms },
    routes: ['  - name: live', '    match: GET /live', '    service: rooms', '    stage: cutover', '  - name: chat', '    match: GET /chat', '    service: rooms', '    stage: legacy', ''].join('\n'),
  });
  t.teardown(() => proxy.close());
  const ws = proxy.url.replace('http', 'ws');

  t.same(await converse(`${ws}/live?room=3`), ['rooms hello /live?room=3', 'rooms echo ping'], 'a cut-over route upgrades on its service');
  t.same(await converse(`${ws}/chat`), ['legacy hello /chat', 'legacy echo ping'], 'a route still at legacy upgrades on legacy');
  t.same(await converse(`${ws}/anything`), ['legacy hello /anything', 'legacy echo ping'], 'an unmatched path upgrades on legacy');
  const lines = await eventually(() => {
    const found = proxy.logs.filter((l) => l.msg === 'request completed' && l.upgrade === true);
    return found.length === 3 ? found : null;
  });
  t.same(
    lines.map((l) => [l.url, l.target, l.status]).sort((a, b) => String(b[0]).localeCompare(String(a[0]))),
    [
      ['/live?room=3', 'rooms', 101],
      ['/chat', 'legacy', 101],
      ['/anything', 'legacy', 101],
    ],
    'each upgraded connection has its access-log line, with its target, once closed',
  );
});
