import type net from 'node:net';
import t, { type Test } from 'tap';
import { eventually, request } from '../helpers/http.ts';
import { startTestProxy } from '../helpers/proxy.ts';
import { startByteUpstream, type ByteUpstream } from './helpers/byte-upstream.ts';
import { openRaw, rawExchange, statusLines } from './helpers/raw-client.ts';

/**
 * Request smuggling through the proxy: for every framing a front end and a back end could read
 * two ways, the proxy must refuse (400, or close without forwarding), and the upstream must
 * never receive the request hidden in the body. The upstream logs the exact bytes the proxy put
 * on each connection, so "nothing ambiguous reached it" is checked on the wire.
 */

/** The request a lenient reader would find inside the body. */
const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';

interface SmugglingCase {
  name: string;
  /** the hostile request; its target is /case-<name>, so its bytes can be found upstream */
  bytes: (target: string) => string;
  /** the error is in the body (after the head): the head may have been streamed on already */
  inBody?: boolean;
  /** the framing is sound, only a field is not: the request pipelined behind it may be answered */
  framingSound?: boolean;
}

const post = (target: string, headers: string[], body: string) => `POST ${target} HTTP/1.1\r\nHost: x\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n${body}`;
const CHUNKED_END = `0\r\n\r\n${SMUGGLED}`;
/** a Content-Length that makes the smuggled request part of the body */
const CL_ALL = `Content-Length: ${CHUNKED_END.length}`;

const CASES: SmugglingCase[] = [
  // CL.TE and TE.CL: the classic desync
  { name: 'cl-then-te', bytes: (p) => post(p, [CL_ALL, 'Transfer-Encoding: chunked'], CHUNKED_END) },
  { name: 'te-then-cl', bytes: (p) => post(p, ['Transfer-Encoding: chunked', CL_ALL], CHUNKED_END) },
  // duplicate Content-Length
  { name: 'duplicate-cl-same', bytes: (p) => post(p, [`Content-Length: ${SMUGGLED.length}`, `Content-Length: ${SMUGGLED.length}`], SMUGGLED) },
  { name: 'duplicate-cl-different', bytes: (p) => post(p, ['Content-Length: 0', `Content-Length: ${SMUGGLED.length}`], SMUGGLED) },
  { name: 'cl-list', bytes: (p) => post(p, [`Content-Length: 0, ${SMUGGLED.length}`], SMUGGLED) },
  { name: 'cl-plus-sign', bytes: (p) => post(p, [`Content-Length: +${SMUGGLED.length}`], SMUGGLED) },
  { name: 'cl-hex', bytes: (p) => post(p, [`Content-Length: 0x${SMUGGLED.length.toString(16)}`], SMUGGLED) },
  // obs-fold: a continuation line that one reader joins and another drops
  { name: 'obs-fold-te', bytes: (p) => post(p, ['Transfer-Encoding: identity', ' chunked', CL_ALL], CHUNKED_END) },
  { name: 'obs-fold-plain-header', bytes: (p) => post(p, ['X-Note: a', ' b', `Content-Length: ${SMUGGLED.length}`], SMUGGLED) },
  // transfer codings that are not (only) chunked
  { name: 'te-xchunked-with-cl', bytes: (p) => post(p, ['Transfer-Encoding: xchunked', CL_ALL], CHUNKED_END) },
  { name: 'te-xchunked-alone', bytes: (p) => post(p, ['Transfer-Encoding: xchunked'], CHUNKED_END) },
  { name: 'te-chunked-identity', bytes: (p) => post(p, ['Transfer-Encoding: chunked, identity'], CHUNKED_END) },
  { name: 'te-two-headers', bytes: (p) => post(p, ['Transfer-Encoding: chunked', 'Transfer-Encoding: identity'], CHUNKED_END) },
  // TE spelled oddly next to a Content-Length: whichever a back end believes, it is ambiguous
  { name: 'te-upper-case-with-cl', bytes: (p) => post(p, ['Transfer-Encoding: CHUNKED', CL_ALL], CHUNKED_END) },
  { name: 'te-tab-with-cl', bytes: (p) => post(p, ['Transfer-Encoding:\tchunked', CL_ALL], CHUNKED_END) },
  { name: 'te-trailing-space-with-cl', bytes: (p) => post(p, ['Transfer-Encoding: chunked ', CL_ALL], CHUNKED_END) },
  { name: 'te-vertical-tab-with-cl', bytes: (p) => post(p, ['Transfer-Encoding:\x0bchunked', CL_ALL], CHUNKED_END) },
  { name: 'te-space-before-colon', bytes: (p) => post(p, ['Transfer-Encoding : chunked', CL_ALL], CHUNKED_END) },
  // bad chunk sizes: a reader that wraps or ignores the size finds the smuggled request
  { name: 'chunk-size-hex-overflow', inBody: true, bytes: (p) => post(p, ['Transfer-Encoding: chunked'], `FFFFFFFFFFFFFFFF${(SMUGGLED.length + 2).toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`) },
  { name: 'chunk-size-negative', inBody: true, bytes: (p) => post(p, ['Transfer-Encoding: chunked'], `-1\r\n${SMUGGLED}\r\n0\r\n\r\n`) },
  { name: 'chunk-size-0x', inBody: true, bytes: (p) => post(p, ['Transfer-Encoding: chunked'], `0x${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`) },
  { name: 'chunk-size-trailing-space', inBody: true, bytes: (p) => post(p, ['Transfer-Encoding: chunked'], `${SMUGGLED.length.toString(16)} \r\n${SMUGGLED}\r\n0\r\n\r\n`) },
  { name: 'chunk-data-longer-than-size', inBody: true, bytes: (p) => post(p, ['Transfer-Encoding: chunked'], `1\r\nxx${SMUGGLED}\r\n0\r\n\r\n`) },
  // chunk extensions abused
  { name: 'chunk-extension-huge', inBody: true, bytes: (p) => post(p, ['Transfer-Encoding: chunked'], `5;a=${'b'.repeat(20_000)}\r\nhello\r\n${CHUNKED_END}`) },
  { name: 'chunk-extension-bare-lf', inBody: true, bytes: (p) => post(p, ['Transfer-Encoding: chunked'], `5;a\n${SMUGGLED}\r\nhello\r\n0\r\n\r\n`) },
  { name: 'chunk-extension-quoted-crlf', inBody: true, bytes: (p) => post(p, ['Transfer-Encoding: chunked'], `5;a="b\r\n${SMUGGLED}"\r\nhello\r\n0\r\n\r\n`) },
  { name: 'chunked-trailer-content-length', inBody: true, bytes: (p) => post(p, ['Transfer-Encoding: chunked'], `0\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`) },
  // line endings
  { name: 'bare-lf-head', bytes: (p) => `POST ${p} HTTP/1.1\nHost: x\nContent-Length: ${SMUGGLED.length}\n\n${SMUGGLED}` },
  { name: 'bare-cr-head', bytes: (p) => `POST ${p} HTTP/1.1\rHost: x\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}` },
  { name: 'bare-lf-chunks', inBody: true, bytes: (p) => post(p, ['Transfer-Encoding: chunked'], `${SMUGGLED.length.toString(16)}\n${SMUGGLED}\n0\n\n`) },
  // NUL bytes
  { name: 'nul-in-header-name', bytes: (p) => post(p, ['Content-\0Length: 0', `Content-Length: ${SMUGGLED.length}`], SMUGGLED) },
  { name: 'nul-in-header-value', bytes: (p) => post(p, [`Content-Length: ${SMUGGLED.length}\0`], SMUGGLED) },
  { name: 'nul-in-target', bytes: (p) => `GET ${p}\0 HTTP/1.1\r\nHost: x\r\n\r\n${SMUGGLED}` },
  // a space before the colon
  { name: 'cl-space-before-colon', bytes: (p) => post(p, [`Content-Length : ${SMUGGLED.length}`], SMUGGLED) },
  { name: 'host-space-before-colon', bytes: (p) => `GET ${p} HTTP/1.1\r\nHost : x\r\n\r\n` },
  // RFC 9112 §3.2: a request with more than one Host field line must be answered 400
  { name: 'two-host-headers', framingSound: true, bytes: (p) => `GET ${p} HTTP/1.1\r\nHost: x\r\nHost: evil.example\r\n\r\n` },
  { name: 'two-host-headers-same-value', framingSound: true, bytes: (p) => `GET ${p} HTTP/1.1\r\nHost: x\r\nhost: x\r\n\r\n` },
];

/**
 * An upstream that answers each request the proxy sends it (framed by Content-Length or chunked,
 * as the proxy frames them) with 200 and the request's target, so a pipelined request that got
 * through is answered, not left hanging.
 */
function answerEachRequest(socket: net.Socket, received: () => string) {
  let cursor = 0;
  socket.on('data', () => {
    for (;;) {
      const text = received();
      const headEnd = text.indexOf('\r\n\r\n', cursor);
      if (headEnd < 0) return;
      const head = text.slice(cursor, headEnd);
      let end = headEnd + 4;
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (length) end += Number(length[1]);
      else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
        const last = text.indexOf('0\r\n\r\n', headEnd + 4);
        if (last < 0) return;
        end = last + 5;
      }
      if (text.length < end) return;
      cursor = end;
      const target = head.split(' ')[1] ?? '?';
      const body = `ok ${target}`;
      socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\nkeep-alive: timeout=5\r\n\r\n${body}`);
    }
  });
}

async function startSmugglingFixture(t: Test) {
  const upstream = await startByteUpstream(answerEachRequest);
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: upstream.url });
  t.teardown(async () => {
    await proxy.close();
    await upstream.close();
  });
  return { upstream, proxy };
}

/** the connections on which the proxy sent bytes naming this target */
const connectionsWith = (upstream: ByteUpstream, needle: string) => upstream.connections.filter((c) => c.bytes.includes(needle));

t.test('request smuggling: every ambiguous framing is refused and nothing hidden reaches the upstream', async (t) => {
  const { upstream, proxy } = await startSmugglingFixture(t);

  for (const c of CASES) {
    t.test(c.name, async (t) => {
      const target = `/case-${c.name}`;
      const after = `/after-${c.name}`;
      // a valid request pipelined behind the bad one: once the framing is in doubt, it is too
      const bytes = c.bytes(target) + `GET ${after} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;
      const answer = await rawExchange(proxy.url, bytes, 5000);
      const statuses = statusLines(answer);
      const refused = statuses.length === 0 || (statuses[0] === 400 && (statuses.length === 1 || (c.framingSound && statuses.length === 2 && statuses[1] === 200)));
      t.ok(refused, `answered 400 or closed without an answer (got ${JSON.stringify(statuses)}: ${JSON.stringify(answer.slice(0, 200))})`);

      // a normal request on a fresh connection still works, and marks the point by which
      // anything the bad one caused has reached the upstream
      const normal = await request(`${proxy.url}/normal-${c.name}`);
      t.equal(normal.status, 200, 'the proxy still answers a normal request');
      t.equal(normal.text, `ok /normal-${c.name}`);

      const all = upstream.allBytes();
      t.notOk(all.includes('/smuggled'), 'the request hidden in the body never reached the upstream');
      if (!c.framingSound) t.notOk(all.includes(after), 'the request pipelined behind the bad one was not forwarded either');
      const carried = connectionsWith(upstream, target);
      if (!c.inBody) {
        t.same(carried.length, 0, 'the bad request was not forwarded at all');
      } else {
        // a body is streamed as it comes: its head may have gone on before the bad chunk was
        // seen, but then that upstream connection must be cut, never reused for another request
        for (const conn of carried) {
          await eventually(() => conn.socket.destroyed, { timeoutMs: 5000 });
          t.ok(conn.socket.destroyed, 'the upstream connection that carried the partial request was closed');
          // (the pool may have used it for earlier requests; nothing may follow this one)
          const fromHere = conn.bytes.slice(conn.bytes.indexOf(`POST ${target} `));
          t.equal(fromHere.split(' HTTP/1.1\r\n').length - 1, 1, 'and carried no request after it');
        }
      }
    });
  }
});

t.test('an absolute-form target naming another host is never forwarded as is', async (t) => {
  const { upstream, proxy } = await startSmugglingFixture(t);
  const requestLines = () => upstream.connections.flatMap((c) => [...c.bytes.matchAll(/(?:^|\r\n\r\n)([A-Z]+ \S+ HTTP\/1\.1)\r\n/g)].map((m) => m[1]));
  for (const form of ['http://evil.example/api/rooms/1', 'https://evil.example:8443/admin', 'HTTP://evil.example/x']) {
    const before = requestLines().length;
    const answer = await rawExchange(proxy.url, `GET ${form} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 5000);
    const statuses = statusLines(answer);
    t.ok(statuses.length === 1 && (statuses[0] === 400 || statuses[0] === 200), `${form}: one answer, 400 or 200 (got ${JSON.stringify(statuses)})`);
    t.same(requestLines().slice(before).filter((l) => !/^[A-Z]+ \/\S* HTTP\/1\.1$/.test(l)), [], `${form}: every request line the upstream saw is in origin form`);
    t.notOk(requestLines().slice(before).some((l) => l.includes('evil.example')), `${form}: the foreign target never reached the upstream`);
  }
  t.equal((await request(`${proxy.url}/normal`)).status, 200, 'the proxy still answers a normal request');
});

t.test('valid but unusual framing is read once, the same way the upstream gets it', async (t) => {
  const { upstream, proxy } = await startSmugglingFixture(t);
  // transfer-coding names are case-insensitive and OWS may be a tab (RFC 9112 §6.1, RFC 9110 §5.6.3)
  const forms = { upper: 'Transfer-Encoding: CHUNKED', tab: 'Transfer-Encoding:\tchunked' };
  for (const [name, te] of Object.entries(forms)) {
    const bytes = post(`/odd-${name}`, [te], '5;ext=1\r\nhello\r\n0\r\n\r\n') + `GET /odd-after-${name} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;
    const answer = await rawExchange(proxy.url, bytes, 5000);
    t.same(statusLines(answer), [200, 200], `${name}: both requests answered, in order`);
    t.match(answer, new RegExp(`ok /odd-${name}[\\s\\S]*ok /odd-after-${name}`), `${name}: each answer is its own request's`);
    const carried = connectionsWith(upstream, `/odd-${name} `);
    t.equal(carried.length, 1, `${name}: forwarded once`);
    const bytesSent = carried[0].bytes.slice(carried[0].bytes.indexOf(`POST /odd-${name} `));
    const head = bytesSent.slice(0, bytesSent.indexOf('\r\n\r\n'));
    t.notMatch(head, /CHUNKED|\tchunked/, `${name}: the client's spelling of the framing is not passed on`);
    t.match(bytesSent, /\r\n\r\n(hello|5\r\nhello\r\n0\r\n\r\n)/, `${name}: the body arrives whole, re-framed by the proxy`);
  }
});

t.test('garbage pipelined behind a slow request does not corrupt the answer in flight', async (t) => {
  const FIRST = 'first half of the slow answer, ';
  const SECOND = 'second half, complete';
  // /slow: the head and half the body at once, the rest 300 ms later; anything else at once
  const upstream = await startByteUpstream((socket, received) => {
    let cursor = 0;
    socket.on('data', () => {
      for (;;) {
        const text = received();
        const headEnd = text.indexOf('\r\n\r\n', cursor);
        if (headEnd < 0) return;
        const head = text.slice(cursor, headEnd);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (text.length < headEnd + 4 + length) return;
        cursor = headEnd + 4 + length;
        const target = head.split(' ')[1];
        if (target === '/slow') {
          socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${FIRST.length + SECOND.length}\r\n\r\n${FIRST}`);
          setTimeout(() => socket.write(SECOND), 300);
        } else socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${target.length}\r\n\r\n${target}`);
      }
    });
  });
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: upstream.url });
  t.teardown(async () => {
    await proxy.close();
    await upstream.close();
  });
  const GARBAGE = ['GARBAGE\r\n\r\n', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', '\0\0\0\r\n\r\n'];

  t.test('garbage that comes once the answer has begun: no byte of a 400 inside the answer', async (t) => {
    for (const garbage of GARBAGE) {
      const conn = await openRaw(proxy.url, (fn) => t.teardown(fn));
      conn.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
      await conn.waitFor(new RegExp(FIRST));
      conn.write(garbage);
      const closed = await conn.closed(5000).then(() => true, () => false);
      const answer = conn.received();
      conn.destroy();
      const what = JSON.stringify(garbage);
      t.equal(statusLines(answer)[0], 200, `${what}: the answer on the wire is the slow request's own`);
      const rest = answer.slice(answer.indexOf('\r\n\r\n') + 4);
      const full = FIRST + SECOND;
      const body = rest.slice(0, full.length);
      t.equal(body, full.slice(0, body.length), `${what}: its body holds only the upstream's bytes (got ${JSON.stringify(rest.slice(0, 200))})`);
      t.ok(rest.length <= full.length || /^HTTP\/1\.1 400 /.test(rest.slice(full.length)), `${what}: anything after the whole answer is a 400 for the garbage`);
      // an answer cut short must end with the connection, so the client sees the cut
      t.ok(body === full || closed, `${what}: the answer is complete, or the connection is closed`);
    }
  });

  t.test('garbage that comes before the answer: no 400 stands in for a request the upstream executed', async (t) => {
    for (const garbage of GARBAGE) {
      const before = upstream.allBytes().length;
      const conn = await openRaw(proxy.url, (fn) => t.teardown(fn));
      conn.write(`POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi${garbage}`);
      await conn.closed(5000).catch(() => {});
      const answer = conn.received();
      conn.destroy();
      const what = JSON.stringify(garbage);
      const executed = upstream.allBytes().slice(before).includes('POST /slow ');
      const statuses = statusLines(answer);
      if (executed) t.ok(statuses.length === 0 || statuses[0] === 200, `${what}: the POST reached the upstream, so its answer is its own or none (got ${JSON.stringify(answer.slice(0, 120))})`);
      else t.ok(statuses.length === 0 || statuses[0] === 400, `${what}: the POST was not forwarded: 400 or no answer`);
    }
  });

  t.test('the proxy still answers a normal request', async (t) => {
    t.equal((await request(`${proxy.url}/normal`)).status, 200);
  });
});
