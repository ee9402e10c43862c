import { readdir, readFile } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import t from 'tap';
import { buildStoredParityReport } from '../../proxy/parity/build-parity-report.ts';
import { renderHtmlReport } from '../../proxy/report/html-report.ts';
import { renderJunitReport } from '../../proxy/report/junit-report.ts';
import { eventually, request, startUpstream } from '../helpers/http.ts';
import { startTestProxy } from '../helpers/proxy.ts';

/**
 * Issue 14: secrets leaked into the comparison store, the recording, the reports and the access
 * log. Every secret below is planted in real requests through a real proxy (a shadow route whose
 * comparisons go to SQLite, recording on, the access log on), then every place that keeps data is
 * searched for it. Each secret is unique, so a hit names the planting that leaked; the visible
 * values prove the search reads real data and that redaction does not hide what users need.
 */

/** name → value, planted in the query string, a JSON body, a form body and a multipart body */
const SECRET_NAMES = ['password', 'new_password', 'client_secret', 'password[]', 'newPassword', 'pwd', 'sessionToken', 'id_token', 'token'] as const;
const secret = (where: string, name: string) => `S-${where}-${name.replace(/\W/g, '')}-7f3a`;
const SECRET_HEADERS = ['x-auth-token', 'x-csrf-token', 'x-amz-security-token', 'x-session-id', 'authorization', 'cookie'] as const;
const headerSecret = (name: string) => `S-hdr-${name.replace(/\W/g, '')}-7f3a`;
/** one card per place, each Luhn-valid, written as people type them */
const CARDS = { query: '4111 1111 1111 1111', json: '5555-5555-5555-4444', form: '378282246310005', multipart: '6011 1111 1111 1117', response: '3530111333300000' };
/** a name only comparisons.redact.patterns makes secret, in the bodies and in the query */
const CONFIGURED = { name: 'payer_iban', value: 'S-cfg-iban-7f3a', inQuery: 'S-cfg-query-7f3a' };

/** visible values, under names that contain a secret word but are not secrets */
const VISIBLE = {
  query: { keyword: 'V-keyword-quiet', author: 'V-author-ada', order: '4111111111111112' },
  json: { monkey: 'V-monkey-george', token_type: 'V-tokentype-bearer' },
  form: { remember: 'V-remember-yes', passenger: 'V-passenger-bob' },
  multipart: { display_name: 'V-display-ada', keyword: 'V-mp-keyword' },
  header: { 'x-author': 'V-hdr-author' },
};

const query = new URLSearchParams([
  ...SECRET_NAMES.map((n) => [n, secret('query', n)]),
  ['memo', CARDS.query],
  [CONFIGURED.name, CONFIGURED.inQuery],
  ...Object.entries(VISIBLE.query),
]).toString();

const jsonBody = JSON.stringify({
  user: { login: 'ada', ...Object.fromEntries(SECRET_NAMES.map((n) => [n, secret('json', n)])) },
  payment: { note: `card ${CARDS.json}` },
  [CONFIGURED.name]: CONFIGURED.value,
  ...VISIBLE.json,
});

const formBody = new URLSearchParams([...SECRET_NAMES.map((n) => [n, secret('form', n)]), ['card', CARDS.form], ...Object.entries(VISIBLE.form)]).toString();

const BOUNDARY = '----strangler7MA4YWxkTrZu0gW';
const multipartBody = [
  ...SECRET_NAMES.map((n) => [n, secret('multipart', n)]),
  ['note', `pay with ${CARDS.multipart}`],
  [CONFIGURED.name, CONFIGURED.value],
  ...Object.entries(VISIBLE.multipart),
]
  .map(([name, value]) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`)
  .join('')
  .concat(`--${BOUNDARY}--\r\n`);

const headers = {
  ...Object.fromEntries(SECRET_HEADERS.map((n) => [n, headerSecret(n)])),
  ...VISIBLE.header,
};

const RESPONSE_SECRETS = { token: 'S-resp-token-7f3a', setCookie: 'S-resp-cookie-7f3a', header: 'S-resp-hdr-7f3a' };

/** Both sides answer JSON that differs in the room name (a mismatch is stored whole) and in the token. */
function answer(side: 'legacy' | 'service') {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'set-cookie': `sid=${RESPONSE_SECRETS.setCookie}-${side}; HttpOnly`,
        'x-auth-token': `${RESPONSE_SECRETS.header}-${side}`,
      });
      res.end(JSON.stringify({ room: side === 'legacy' ? 'V-room-quiet' : 'V-room-loud', session: { token: `${RESPONSE_SECRETS.token}-${side}` }, card: CARDS.response }));
    });
  };
}

/** Every byte the SQLite store wrote (database, WAL, journal). */
async function storeBytes(dir: string): Promise<string> {
  const files = (await readdir(dir)).filter((f) => f.startsWith('comparisons.sqlite'));
  const parts = await Promise.all(files.map((f) => readFile(path.join(dir, f), 'latin1')));
  return parts.join('\n');
}

/** The ways a planted value can be written down: as sent, URL-encoded, and (cards) digits only. */
function spellings(value: string): string[] {
  return [...new Set([value, encodeURIComponent(value), value.replace(/ /g, '+'), value.replace(/\D/g, '').length >= 13 ? value.replace(/\D/g, '') : value])];
}

const secrets = [
  ...['query', 'json', 'form', 'multipart'].flatMap((where) => SECRET_NAMES.map((n) => secret(where, n))),
  ...SECRET_HEADERS.map(headerSecret),
  ...Object.values(CARDS),
  CONFIGURED.value,
  ...Object.values(RESPONSE_SECRETS),
];

t.test('no planted secret reaches the comparison store, the recording, the reports or the log', async (t) => {
  const legacy = await startUpstream('legacy', answer('legacy'));
  const rooms = await startUpstream('rooms', answer('service'));
  const sandbox = await startUpstream('sandbox', answer('service'));
  const dir = t.testdir();
  const proxy = await startTestProxy({
    dir,
    legacy: legacy.url,
    services: { rooms: rooms.url, 'rooms-sandbox': `{ url: ${sandbox.url}, sandbox: true }` },
    extra: ['comparisons:', '  database: sqlite:comparisons.sqlite', '  redact:', '    patterns: [iban]', 'recording:', '  file: traffic.jsonl', '  maxBody: 64kb'].join('\n'),
    routes: `
  - name: rooms-get
    match: GET /api/rooms/:id
    service: rooms
    stage: shadow
    record: 100%
    shadow: { noiseWarmup: 0, noiseSample: 0% }
  - name: login
    match: POST /login
    service: rooms
    stage: shadow
    record: 100%
    shadow: { writes: rooms-sandbox, noiseWarmup: 0, noiseSample: 0% }
`,
  });
  t.teardown(async () => {
    await proxy.close();
    await Promise.all([legacy.close(), rooms.close(), sandbox.close()]);
  });

  const sent = [
    await request(`${proxy.url}/api/rooms/7?${query}`, { headers }),
    await request(`${proxy.url}/login?${query}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: jsonBody }),
    await request(`${proxy.url}/login`, { method: 'POST', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: formBody }),
    await request(`${proxy.url}/login`, { method: 'POST', headers: { ...headers, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, body: multipartBody }),
  ];
  t.same(sent.map((r) => r.json().room), ['V-room-quiet', 'V-room-quiet', 'V-room-quiet', 'V-room-quiet'], 'every client got legacy\'s real answer');
  const store = proxy.proxy.store!;
  await proxy.proxy.state.shadow.idle();
  const rows = await eventually(async () => {
    await store.flush();
    const list = await store.list({ limit: 100 });
    return list.length >= 4 ? list : undefined;
  });
  t.same(rows.map((r) => r.outcome), ['mismatch', 'mismatch', 'mismatch', 'mismatch'], 'four mismatches stored whole');
  const report = await buildStoredParityReport(store, { since: 0 });
  const places: Record<string, string> = {
    'comparison rows': JSON.stringify(rows),
    'HTML report': renderHtmlReport(report),
    'JUnit report': renderJunitReport(report, { minParity: 100 }),
  };
  await proxy.close();
  places['SQLite files'] = await storeBytes(dir);
  places['recording file'] = await readFile(path.join(dir, 'traffic.jsonl'), 'utf8');
  places['log lines'] = JSON.stringify(proxy.logs);

  const accessLines = proxy.logs.filter((l) => l.msg === 'request completed');
  t.equal(accessLines.length, 4, 'the access log has a line per request');
  t.equal(places['recording file'].trim().split('\n').length, 4, 'the recording has a line per request');

  for (const [place, text] of Object.entries(places)) {
    const leaked = [...secrets, ...(place === 'log lines' ? [] : [CONFIGURED.inQuery])].filter((s) => spellings(s).some((form) => text.includes(form)));
    t.same(leaked, [], `no planted secret in the ${place}`);
  }
  t.notOk(places['log lines'].includes(CONFIGURED.inQuery), 'a comparisons.redact.patterns name in a query is redacted in the access log too');

  // visible values: proof that each place holds the real data, and that redaction did not over-reach
  const visibleIn = (place: string, values: string[]) => t.same(values.filter((v) => !places[place].includes(v)), [], `the ${place} still show ${values.join(', ')}`);
  const requestVisible = [...Object.values(VISIBLE.query), ...Object.values(VISIBLE.json), ...Object.values(VISIBLE.form), ...Object.values(VISIBLE.multipart), ...Object.values(VISIBLE.header)];
  visibleIn('comparison rows', [...requestVisible, 'V-room-quiet', 'V-room-loud']);
  visibleIn('SQLite files', [...requestVisible, 'V-room-quiet', 'V-room-loud']);
  visibleIn('recording file', [...requestVisible, 'V-room-quiet']);
  visibleIn('log lines', Object.values(VISIBLE.query));
  visibleIn('HTML report', ['V-room-quiet', 'V-room-loud']);
  visibleIn('JUnit report', ['V-room-quiet', 'V-room-loud']);

  const [getLine] = accessLines;
  t.match(getLine.url, /^\/api\/rooms\/7\?password=\[redacted\]&new_password=\[redacted\]/, 'the access log keeps the URL readable, secrets marked');
  t.match(getLine.url, /&memo=\[redacted\]&payer_iban=[^&]+&keyword=V-keyword-quiet&author=V-author-ada&order=4111111111111112$/);
});

t.test('the access log writes a URL without a query, or without a secret, exactly as it came', async (t) => {
  const legacy = await startUpstream('legacy');
  const proxy = await startTestProxy({ dir: t.testdir(), legacy: legacy.url });
  t.teardown(async () => {
    await proxy.close();
    await legacy.close();
  });
  const urls = ['/rooms', '/rooms?page=2&sort=name', '/search?q=Z%C3%BCrich%20%E2%82%AC&keyword=monkey', '/a?since=1733312345676'];
  for (const url of urls) await request(`${proxy.url}${url}`);
  await proxy.close();
  t.same(proxy.logs.filter((l) => l.msg === 'request completed').map((l) => l.url), urls);
});
