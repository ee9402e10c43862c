import { Writable } from 'node:stream';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import pino from 'pino';
import t, { type Test } from 'tap';
import { buildApp as buildDiaries } from '../../../services/diaries/app.ts';
import { buildApp as buildRooms } from '../../../services/rooms/app.ts';
import { createDb } from '../../../services/shared/database.ts';
import { request } from '../../helpers/http.ts';

/**
 * A request's id crosses processes: the proxy sends x-request-id, and each service logs its
 * lines under that id (and answers with it), so ops can join the proxy's line to the service's.
 */

type BuildApp = (options: { db: Knex; logger?: FastifyBaseLogger }) => FastifyInstance;

interface LogLine {
  reqId?: string;
  msg: string;
  [key: string]: unknown;
}

async function startWithLog(t: Test, buildApp: BuildApp): Promise<{ url: string; lines: () => LogLine[] }> {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += chunk;
      done();
    },
  });
  const db = createDb(`sqlite:${t.testdir()}/empty.sqlite`);
  const app = buildApp({ db, logger: pino({ level: 'info' }, stream) });
  t.teardown(async () => {
    await app.close();
    await db.destroy();
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, lines: () => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogLine) };
}

for (const [name, buildApp] of [['rooms', buildRooms], ['diaries', buildDiaries]] as const) {
  t.test(`the ${name} service logs and answers under the x-request-id it was sent`, async (t) => {
    const service = await startWithLog(t, buildApp as BuildApp);
    const res = await request(`${service.url}/healthz`, { headers: { 'x-request-id': 'from-proxy-123' } });
    t.equal(res.status, 200);
    t.equal(res.headers['x-request-id'], 'from-proxy-123', 'the answer carries the same id');
    const requestLines = service.lines().filter((l) => l.reqId !== undefined);
    t.ok(requestLines.length > 0, 'the request was logged');
    t.same([...new Set(requestLines.map((l) => l.reqId))], ['from-proxy-123'], 'every line of the request under the proxy\'s id');
  });

  t.test(`the ${name} service makes its own id when none, or an unusable one, is sent`, async (t) => {
    const service = await startWithLog(t, buildApp as BuildApp);
    const none = await request(`${service.url}/healthz`);
    t.match(none.headers['x-request-id'], /^[0-9a-f]{16}$/);
    const forged = await request(`${service.url}/healthz`, { headers: { 'x-request-id': `a"}\\u000a{"msg":"forged${'x'.repeat(200)}` } });
    t.match(forged.headers['x-request-id'], /^[0-9a-f]{16}$/, 'an id with quotes or 200 characters is not taken');
    t.same(new Set(service.lines().map((l) => l.reqId).filter(Boolean)), new Set([none.headers['x-request-id'], forged.headers['x-request-id']]));
  });
}
