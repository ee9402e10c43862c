/**
 * A service process for the kill test: plain node:http, no framework, so a SIGKILL finds it
 * mid-request. GET answers 200; POST appends the body's `id` to the file named by argv[2]
 * (synchronously: the line is written before any answer, and survives the process) and answers
 * 201 after a short pause, so a kill can fall between executing a write and answering it.
 * Run: node --import tsx test/hostile/helpers/counting-service.ts <executed-ids file>; prints its URL.
 */
import { appendFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const executedFile = process.argv[2];
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.method === 'POST') {
      const { id } = JSON.parse(Buffer.concat(chunks).toString()) as { id: string };
      appendFileSync(executedFile, `${id}\n`);
      setTimeout(() => {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id, source: 'service' }));
      }, 1 + Math.floor(Math.random() * 5));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ url: req.url, source: 'service' }));
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`));
