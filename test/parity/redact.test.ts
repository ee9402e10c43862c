import t from 'tap';
import { createRedactor, REDACTED } from '../../proxy/parity/redact.ts';

const SECRET = 'hunter2-s3cr3t';
const redactor = createRedactor({ fields: ['ssn'], headers: ['X-Api-Key'] });
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

t.test('a password nested in a JSON body is redacted at any depth, inside arrays too', async (t) => {
  const body = {
    user: { name: 'Ada', password: SECRET, profile: { ssn: '123-45-6789' } },
    sessions: [{ id: 1, refresh_token: SECRET }, { id: 2, accessToken: SECRET }],
    Secret: { value: SECRET },
    api_key: 12345,
    note: `the word password is fine in a value, ${'x'}`,
  };
  const out = redactor.body(json(body), 'application/json; charset=utf-8', 64 * 1024);
  t.equal(out.bodyEncoding, 'utf8');
  t.equal(out.truncated, false);
  t.same(JSON.parse(out.body), {
    user: { name: 'Ada', password: REDACTED, profile: { ssn: REDACTED } },
    sessions: [{ id: 1, refresh_token: REDACTED }, { id: 2, accessToken: REDACTED }],
    Secret: REDACTED,
    api_key: REDACTED,
    note: 'the word password is fine in a value, x',
  });
  t.notOk(out.body.includes(SECRET));
  t.notOk(out.body.includes('123-45-6789'), 'configured fields are redacted too');
});

t.test('a JSON body keeps its exact bytes apart from the redacted values', async (t) => {
  const text = '{\n  "id": 12345678901234567890,\n  "price": 1.50,\n  "password": "' + SECRET + '"\n}';
  const out = redactor.body(Buffer.from(text), 'application/json', 1024);
  t.equal(out.body, '{\n  "id": 12345678901234567890,\n  "price": 1.50,\n  "password": "[redacted]"\n}');
  const untouched = '{ "id": 1.0 }';
  t.equal(redactor.body(Buffer.from(untouched), 'application/json', 1024).body, untouched);
});

t.test('a body that looks like JSON is redacted whatever its content type says', async (t) => {
  const out = redactor.body(json({ password: SECRET }), 'text/plain', 1024);
  t.same(JSON.parse(out.body), { password: REDACTED });
});

t.test('JSON inside a JSON string is redacted too', async (t) => {
  const out = redactor.body(json({ payload: JSON.stringify({ login: 'ada', password: SECRET }) }), 'application/json', 1024);
  t.same(JSON.parse(JSON.parse(out.body).payload), { login: 'ada', password: REDACTED });
});

t.test('a JSON body over the cap is redacted first, then cut', async (t) => {
  const body = json({ password: SECRET, filler: 'x'.repeat(500), items: [{ token: SECRET }] });
  const out = redactor.body(body, 'application/json', 100);
  t.equal(out.truncated, true);
  t.equal(Buffer.byteLength(out.body), 100);
  t.match(out.body, /^\{"password":"\[redacted\]","filler":"x+$/);
  t.notOk(out.body.includes(SECRET));
});

t.test('a JSON body that arrives already cut, or broken, still never leaks a password', async (t) => {
  const cut = `{"user":{"name":"Ada","password":"${SECRET}","bio":"long`;
  t.equal(redactor.body(Buffer.from(cut), 'application/json', 1024).body, `{"user":{"name":"Ada","password":"[redacted]","bio":"long`);

  const cutInside = `{"id":1,"token":"${SECRET.slice(0, 6)}`;
  t.equal(redactor.body(Buffer.from(cutInside), 'application/json', 1024).body, '{"id":1,"token":"[redacted]"');

  const broken = `{"a": "x"y", "password": "${SECRET}", 'secret': 1}`;
  const out = redactor.body(Buffer.from(broken), 'application/json', 1024);
  t.notOk(out.body.includes(SECRET), out.body);
});

t.test('form bodies: matching parameters are redacted, PHP array names included', async (t) => {
  const form = `user=ada&password=${SECRET}&login%5Bpasswd%5D=${SECRET}&remember=1&ssn=123`;
  const out = redactor.body(Buffer.from(form), 'application/x-www-form-urlencoded', 1024);
  t.equal(out.body, 'user=ada&password=[redacted]&login%5Bpasswd%5D=[redacted]&remember=1&ssn=[redacted]');
});

t.test('other text is kept; bodies that are not UTF-8 come back as base64', async (t) => {
  t.same(redactor.body(Buffer.from('<p>password: shown on purpose</p>'), 'text/html', 1024), {
    body: '<p>password: shown on purpose</p>',
    bodyEncoding: 'utf8',
    truncated: false,
  });
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0x00, 0xfe]);
  t.same(redactor.body(png, 'image/png', 4), { body: png.subarray(0, 4).toString('base64'), bodyEncoding: 'base64', truncated: true });

  const latin1Form = Buffer.concat([Buffer.from('name=Ren'), Buffer.from([0xe9]), Buffer.from(`&password=${SECRET}`)]);
  const out = redactor.body(latin1Form, 'application/x-www-form-urlencoded', 1024);
  t.equal(out.bodyEncoding, 'base64');
  t.equal(Buffer.from(out.body, 'base64').toString('latin1'), 'name=René&password=[redacted]');
});

t.test('a cut never splits a UTF-8 character', async (t) => {
  const out = redactor.body(Buffer.from('héllo'), 'text/plain', 2);
  t.same(out, { body: 'h', bodyEncoding: 'utf8', truncated: true });
});

t.test('headers: names lower-cased, credentials and configured names redacted', async (t) => {
  const out = redactor.headers({
    Authorization: `Bearer ${SECRET}`,
    'Proxy-Authorization': `Basic ${SECRET}`,
    Cookie: `sid=${SECRET}`,
    'set-cookie': [`sid=${SECRET}; HttpOnly`, 'theme=dark'],
    'x-api-key': SECRET,
    Accept: ['application/json', 'text/plain'],
    'X-Empty': undefined,
  });
  t.same(out, {
    authorization: REDACTED,
    'proxy-authorization': REDACTED,
    cookie: REDACTED,
    'set-cookie': REDACTED,
    'x-api-key': REDACTED,
    accept: 'application/json, text/plain',
  });
});

t.test('query strings: matching parameters redacted in readable form', async (t) => {
  t.equal(redactor.url(`/login?user=ada&password=${SECRET}`), '/login?user=ada&password=[redacted]');
  t.equal(redactor.url(`/a?Access_Token=${SECRET}#top`), '/a?Access_Token=[redacted]#top');
  t.equal(redactor.url('/rooms?page=2&q=a%20b'), '/rooms?page=2&q=a%20b', 'other parameters keep their exact bytes');
  t.equal(redactor.url('/rooms'), '/rooms');
});

t.test('difference values: redacted by path, or inside the value', async (t) => {
  t.equal(redactor.value('$.user.password', SECRET), REDACTED);
  t.equal(redactor.value("$['user']['Password']", SECRET), REDACTED);
  t.equal(redactor.value('$.secret[0].x', SECRET), REDACTED, 'anything under a redacted field');
  t.equal(redactor.value('$.user.name', 'Ada'), 'Ada');
  t.equal(redactor.value('$.user.password', undefined), undefined, 'a missing side stays missing');
  t.equal(redactor.value('headers.x-api-key', SECRET), REDACTED);
  t.equal(redactor.value('status', 200), 200);

  const original = { name: 'Ada', password: SECRET, list: [{ token: SECRET }] };
  t.same(redactor.value('$.user', original), { name: 'Ada', password: REDACTED, list: [{ token: REDACTED }] });
  t.equal(original.password, SECRET, 'the argument is not changed');

  const preview = `{"name":"Ada","password":"${SECRET}","bio":"xxxxxxxx…`;
  t.notOk(JSON.stringify(redactor.value('$.user', preview)).includes(SECRET), 'a cut preview of an object');
  const excerpt = `…ogin=ada&password=${SECRET}&remember=1`;
  t.equal(redactor.value('body', excerpt), '…ogin=ada&password=[redacted]&remember=1');
});

t.test('the secret appears nowhere in any output', async (t) => {
  const outputs = [
    redactor.headers({ authorization: SECRET, cookie: [SECRET, SECRET] }),
    redactor.body(json({ a: [{ b: { password: SECRET } }] }), 'application/json', 10_000),
    redactor.body(json({ password: SECRET, pad: 'x'.repeat(100) }), 'application/json', 20),
    redactor.body(Buffer.from(`password=${SECRET}`), 'application/x-www-form-urlencoded', 1024),
    redactor.url(`/x?token=${SECRET}&apikey=${SECRET}`),
    redactor.value('$.password', SECRET),
    redactor.value('$', { deep: [[{ passwd: SECRET }]] }),
  ];
  t.notOk(JSON.stringify(outputs).includes(SECRET));
});
