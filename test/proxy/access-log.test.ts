import type { IncomingMessage, ServerResponse } from 'node:http';
import pino from 'pino';
import t from 'tap';
import { createAccessLog } from '../../proxy/access-log.ts';
import { createExchange } from '../../proxy/pipeline/exchange.ts';

/** A logger like the proxy's, writing into an array; and a finished request to a URL. */
function setUp() {
  const writes: string[] = [];
  const logger = pino({ name: 'strangler', level: 'info', base: { pid: 1 }, timestamp: pino.stdTimeFunctions.isoTime }, { write: (chunk: string) => void writes.push(chunk) });
  const log = createAccessLog(logger)!;
  const exchangeFor = (url: string, id: string) => {
    const req = { method: 'GET', url } as IncomingMessage;
    const res = { statusCode: 200, writableFinished: true } as ServerResponse;
    const exchange = createExchange(id, req, res, performance.now());
    exchange.decision = { primary: 'legacy', target: new URL('http://127.0.0.1:1'), reason: 'unmatched' };
    return exchange;
  };
  const lines = () => writes.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return { log, exchangeFor, lines, writes };
}

t.test('batched lines come out whole, in order, with non-ASCII URLs intact', async (t) => {
  const { log, exchangeFor, lines, writes } = setUp();
  const urls = Array.from({ length: 600 }, (_, i) => `/api/rooms/${i}?q=${i % 7 === 0 ? 'Zürich €' : 'x'.repeat(i % 50)}`);
  urls.forEach((url, i) => log.record(exchangeFor(url, `r${i}`)));
  log.flush();
  const got = lines();
  t.equal(got.length, urls.length, 'one line per request');
  t.same(got.map((l) => l.url), urls, 'every URL as it was, in order');
  t.same(got.map((l) => l.reqId), urls.map((_, i) => `r${i}`));
  t.ok(got.every((l) => l.level === 30 && l.msg === 'request completed' && l.name === 'strangler' && l.target === 'legacy'), 'the logger\'s own shape');
  t.ok(writes.length > 1, `written in several batches (${writes.length}), none over the batch size`);
});

t.test('a URL longer than a whole batch (a raised --max-http-header-size) is written alone, not cut', async (t) => {
  const { log, exchangeFor, lines } = setUp();
  const long = `/search?q=${'ä'.repeat(40_000)}`;
  log.record(exchangeFor('/before', 'a'));
  log.record(exchangeFor(long, 'b'));
  log.record(exchangeFor('/after', 'c'));
  log.flush();
  t.same(lines().map((l) => [l.reqId, l.url]), [['a', '/before'], ['b', long], ['c', '/after']]);
});
