import path from 'node:path';
import t from 'tap';
import { startLegacy } from '../../legacy/start-legacy.ts';
import { startDiaries } from '../../services/diaries/server.ts';
import { request } from '../helpers/http.ts';
import { phpSkipReason } from '../helpers/legacy.ts';
import { startTestProxy } from '../helpers/proxy.ts';

/** The service made with `strangler extract`, at 100 %: the proxy sends every diary read to it. */
t.test('diaries (made with strangler extract) answers GET /api/diaries through the proxy at 100 %', { skip: phpSkipReason }, async (t) => {
  const dir = t.testdir();
  const databaseUrl = `sqlite:${path.join(dir, 'timing.sqlite')}`;
  const legacy = await startLegacy({ databaseUrl, port: 0, workers: 2 });
  t.teardown(() => legacy.stop());
  const diaries = await startDiaries({ databaseUrl, port: 0, logger: false });
  t.teardown(() => diaries.stop());
  const proxy = await startTestProxy({
    dir,
    legacy: legacy.url,
    services: { diaries: diaries.url },
    routes: '  - name: diaries-list\n    match: GET /api/diaries\n    service: diaries\n    stage: cutover\n',
  });
  t.teardown(() => proxy.close());
  for (const query of ['?user=1', '?user=250', '?user=9999', '?user=x', '']) {
    const viaProxy = await request(`${proxy.url}/api/diaries${query}`);
    const direct = await request(`${legacy.url}/api/diaries${query}`);
    t.equal(viaProxy.headers['x-strangler-target'], 'diaries', `${query || '(no query)'}: answered by the service`);
    t.equal(viaProxy.status, direct.status);
    const strip = (body: any) => (body.data ? { ...body, generated_at: undefined, request_id: undefined } : body);
    t.same(strip(viaProxy.json()), strip(direct.json()), `${query || '(no query)'}: the same JSON as legacy`);
  }
});
