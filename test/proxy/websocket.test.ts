import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import WebSocket, { WebSocketServer } from 'ws';
import { startUpstream } from '../helpers/http.ts';
import { on, startTestProxy } from '../helpers/proxy.ts';

t.test('WebSocket upgrades pass through to legacy, both directions', async (t) => {
  const legacyServer = http.createServer();
  const wss = new WebSocketServer({ server: legacyServer });
  wss.on('connection', (socket, req) => {
    socket.send(`hello ${req.url}`);
    socket.on('message', (data) => socket.send(`echo ${data}`));
  });
  await new Promise<void>((resolve) => legacyServer.listen(0, '127.0.0.1', resolve));
  const legacyUrl = `http://127.0.0.1:${(legacyServer.address() as AddressInfo).port}`;
  const rooms = await startUpstream('rooms');
  // even a path a route matches is upgraded on legacy: services take plain HTTP routes only
  const proxy = await startTestProxy({
    dir: t.testdir(),
    legacy: legacyUrl,
    services: { rooms: rooms.url },
    routes: '  - name: live\n    match: GET /live\n    service: rooms\n',
    features: [on('live')],
  });
  t.teardown(async () => {
    await proxy.close();
    await rooms.close();
    wss.close();
    legacyServer.closeAllConnections();
    await new Promise<void>((resolve) => legacyServer.close(() => resolve()));
  });

  const ws = new WebSocket(`${proxy.url.replace('http', 'ws')}/live?room=3`);
  const messages: string[] = [];
  const done = new Promise<void>((resolve, reject) => {
    ws.on('message', (data) => {
      messages.push(String(data));
      if (messages.length === 1) ws.send('ping');
      if (messages.length === 2) resolve();
    });
    ws.on('error', reject);
  });
  await done;
  ws.close();
  t.same(messages, ['hello /live?room=3', 'echo ping']);
  t.equal(rooms.seen.length, 0, 'the service saw nothing');
});
