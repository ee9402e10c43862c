import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Child process: the upstream every row ends at, answering any request with the same 1 KB JSON
 * body over keep-alive. It does as little as possible so the rows measure the proxy.
 */
const BODY = buildBody(1024);

const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
  res.end(BODY);
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.send!({ url: `http://127.0.0.1:${port}`, bodyBytes: BODY.length });
});
process.on('disconnect', () => process.exit(0));

/** A room-like document padded to exactly `bytes` bytes of JSON. */
function buildBody(bytes: number): Buffer {
  const room = {
    id: 42,
    name: 'Room 42',
    floor: 3,
    capacity: 12,
    amenities: ['projector', 'whiteboard', 'video'],
    slots: Array.from({ length: 8 }, (_, i) => ({ from: `${9 + i}:00`, to: `${10 + i}:00`, free: i % 3 !== 0 })),
    notes: '',
  };
  const base = Buffer.byteLength(JSON.stringify(room));
  room.notes = 'x'.repeat(Math.max(0, bytes - base));
  return Buffer.from(JSON.stringify(room));
}
