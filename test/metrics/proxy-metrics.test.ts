import { register as globalRegister } from 'prom-client';
import t from 'tap';
import { createProxyMetrics, MAX_ROUTE_LABELS, type ProxyMetrics } from '../../proxy/metrics/proxy-metrics.ts';

/** The value of one series in the text exposition, e.g. `strangler_requests_total{route="a",target="b"}`; undefined when absent. */
function valueOf(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Every series line (not comments) of one metric. */
function seriesOf(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

const quiet = (): ProxyMetrics => createProxyMetrics({ collectProcess: false });

t.test('requests are counted per route and target, responses per status class, durations in the histogram', async (t) => {
  const metrics = quiet();
  for (let i = 0; i < 3; i++) metrics.recordRequest('rooms-get', 'rooms', 200, 0.004);
  metrics.recordRequest('rooms-get', 'legacy', 201, 0.02);
  metrics.recordRequest('rooms-get', 'legacy', 304, 0.02);
  metrics.recordRequest('rooms-get', 'legacy', 404, 0.02);
  metrics.recordRequest('rooms-get', 'legacy', 502, 12);
  metrics.recordRequest('rooms-get', 'legacy', 101, 0.5);
  const text = await metrics.render();

  t.equal(valueOf(text, 'strangler_requests_total{route="rooms-get",target="rooms"}'), 3);
  t.equal(valueOf(text, 'strangler_requests_total{route="rooms-get",target="legacy"}'), 5);
  t.equal(valueOf(text, 'strangler_responses_total{route="rooms-get",target="rooms",status_class="2xx"}'), 3);
  for (const statusClass of ['1xx', '2xx', '3xx', '4xx', '5xx']) {
    t.equal(valueOf(text, `strangler_responses_total{route="rooms-get",target="legacy",status_class="${statusClass}"}`), 1, statusClass);
  }
  t.equal(valueOf(text, 'strangler_request_duration_seconds_count{route="rooms-get",target="rooms"}'), 3);
  t.equal(valueOf(text, 'strangler_request_duration_seconds_sum{route="rooms-get",target="rooms"}'), 0.012);
  t.equal(valueOf(text, 'strangler_request_duration_seconds_bucket{le="0.001",route="rooms-get",target="rooms"}'), 0);
  t.equal(valueOf(text, 'strangler_request_duration_seconds_bucket{le="0.005",route="rooms-get",target="rooms"}'), 3);
  t.equal(valueOf(text, 'strangler_request_duration_seconds_bucket{le="10",route="rooms-get",target="legacy"}'), 4, 'the 12 s request is above the last bucket');
  t.equal(valueOf(text, 'strangler_request_duration_seconds_bucket{le="+Inf",route="rooms-get",target="legacy"}'), 5);
});

t.test('a request without a route is labelled (unmatched)', async (t) => {
  const metrics = quiet();
  metrics.recordRequest(null, 'legacy', 200, 0.001);
  metrics.recordUpstreamFailure(null, 'legacy', 'refused');
  const text = await metrics.render();
  t.equal(valueOf(text, 'strangler_requests_total{route="(unmatched)",target="legacy"}'), 1);
  t.equal(valueOf(text, 'strangler_upstream_errors_total{route="(unmatched)",target="legacy",kind="refused"}'), 1);
});

t.test('upstream failures are counted by kind; an unknown kind counts as other', async (t) => {
  const metrics = quiet();
  metrics.recordUpstreamFailure('rooms-get', 'rooms', 'timeout');
  metrics.recordUpstreamFailure('rooms-get', 'rooms', 'timeout');
  metrics.recordUpstreamFailure('rooms-get', 'rooms', 'reset');
  metrics.recordUpstreamFailure('rooms-get', 'rooms', 'dns');
  metrics.recordUpstreamFailure('rooms-get', 'rooms', 'ECONNABORTED');
  metrics.recordUpstreamFailure('rooms-get', 'rooms', 'other');
  const text = await metrics.render();
  t.equal(valueOf(text, 'strangler_upstream_errors_total{route="rooms-get",target="rooms",kind="timeout"}'), 2);
  t.equal(valueOf(text, 'strangler_upstream_errors_total{route="rooms-get",target="rooms",kind="reset"}'), 1);
  t.equal(valueOf(text, 'strangler_upstream_errors_total{route="rooms-get",target="rooms",kind="dns"}'), 1);
  t.equal(valueOf(text, 'strangler_upstream_errors_total{route="rooms-get",target="rooms",kind="other"}'), 2);
  t.notMatch(text, /ECONNABORTED/);
});

t.test('fallbacks to legacy are counted by cause: a 5xx or how the transport failed', async (t) => {
  const metrics = quiet();
  metrics.recordFallback('rooms-get', 'rooms', 'refused');
  metrics.recordFallback('rooms-get', 'rooms', 'refused');
  metrics.recordFallback('rooms-get', 'rooms', '5xx');
  metrics.recordFallback('rooms-get', 'rooms', 'ECONNABORTED' as never);
  const text = await metrics.render();
  t.equal(valueOf(text, 'strangler_fallbacks_total{route="rooms-get",target="rooms",cause="refused"}'), 2);
  t.equal(valueOf(text, 'strangler_fallbacks_total{route="rooms-get",target="rooms",cause="5xx"}'), 1);
  t.equal(valueOf(text, 'strangler_fallbacks_total{route="rooms-get",target="rooms",cause="other"}'), 1, 'an unknown cause is other');
  t.same(seriesOf(text, 'strangler_upstream_errors_total'), [], 'a fallback is not an upstream error by itself');
  metrics.forgetRoute('rooms-get');
  t.same(seriesOf(await metrics.render(), 'strangler_fallbacks_total'), [], 'forgetRoute drops them too');
});

t.test('comparisons, shedding and the gauges show what was recorded last', async (t) => {
  const metrics = quiet();
  metrics.recordComparison('rooms-list', 'match');
  metrics.recordComparison('rooms-list', 'match');
  metrics.recordComparison('rooms-list', 'mismatch');
  metrics.recordComparison('rooms-list', 'candidate-error');
  metrics.recordShed('global', 'queue-full');
  metrics.recordShed('rooms-get', 'breaker-open');
  metrics.setShare('rooms-get', 25);
  metrics.setShare('rooms-get', 50);
  metrics.setRolloutStep('rooms-get', 3);
  metrics.setBreakerState('rooms', 'open');
  metrics.setBreakerState('billing', 'half-open');
  metrics.setBreakerState('search', 'open');
  metrics.setBreakerState('search', 'closed');
  metrics.setControlPlane(true);
  let text = await metrics.render();

  t.equal(valueOf(text, 'strangler_shadow_comparisons_total{route="rooms-list",outcome="match"}'), 2);
  t.equal(valueOf(text, 'strangler_shadow_comparisons_total{route="rooms-list",outcome="mismatch"}'), 1);
  t.equal(valueOf(text, 'strangler_shadow_comparisons_total{route="rooms-list",outcome="candidate-error"}'), 1);
  t.equal(valueOf(text, 'strangler_shadow_comparisons_total{route="rooms-list",outcome="skipped"}'), undefined);
  t.equal(valueOf(text, 'strangler_shed_total{scope="global",reason="queue-full"}'), 1);
  t.equal(valueOf(text, 'strangler_shed_total{scope="rooms-get",reason="breaker-open"}'), 1);
  t.equal(valueOf(text, 'strangler_route_share_percent{route="rooms-get"}'), 50);
  t.equal(valueOf(text, 'strangler_rollout_step{route="rooms-get"}'), 3);
  t.equal(valueOf(text, 'strangler_breaker_open{service="rooms"}'), 1);
  t.equal(valueOf(text, 'strangler_breaker_open{service="billing"}'), 0.5);
  t.equal(valueOf(text, 'strangler_breaker_open{service="search"}'), 0);
  t.equal(valueOf(text, 'strangler_control_plane_degraded'), 1);

  metrics.setControlPlane(false);
  text = await metrics.render();
  t.equal(valueOf(text, 'strangler_control_plane_degraded'), 0);
});

t.test('forgetRoute removes every series of that route and leaves the others', async (t) => {
  const metrics = quiet();
  for (const route of ['rooms-get', 'rooms-list']) {
    metrics.recordRequest(route, 'rooms', 200, 0.01);
    metrics.recordRequest(route, 'legacy', 500, 0.01);
    metrics.recordUpstreamFailure(route, 'rooms', 'timeout');
    metrics.recordComparison(route, 'match');
    metrics.recordShed(route, 'breaker-open');
    metrics.setShare(route, 10);
    metrics.setRolloutStep(route, 1);
  }
  metrics.forgetRoute('rooms-get');
  metrics.forgetRoute('never-seen');
  let text = await metrics.render();
  t.notMatch(text, /"rooms-get"/, 'no series of the forgotten route');
  t.equal(valueOf(text, 'strangler_requests_total{route="rooms-list",target="rooms"}'), 1);
  t.equal(valueOf(text, 'strangler_request_duration_seconds_count{route="rooms-list",target="legacy"}'), 1);
  t.equal(valueOf(text, 'strangler_shed_total{scope="rooms-list",reason="breaker-open"}'), 1);
  t.equal(valueOf(text, 'strangler_route_share_percent{route="rooms-list"}'), 10);

  metrics.recordRequest('rooms-get', 'rooms', 200, 0.01);
  text = await metrics.render();
  t.equal(valueOf(text, 'strangler_requests_total{route="rooms-get",target="rooms"}'), 1, 'a route that comes back starts from zero');
  t.equal(valueOf(text, 'strangler_responses_total{route="rooms-get",target="legacy",status_class="5xx"}'), undefined);
});

t.test(`past ${MAX_ROUTE_LABELS} distinct routes, further routes are counted as (other)`, async (t) => {
  const metrics = quiet();
  const extra = 5;
  for (let i = 0; i < MAX_ROUTE_LABELS + extra; i++) metrics.recordRequest(`route-${i}`, 'legacy', 200, 0.001);
  metrics.recordRequest('route-0', 'legacy', 200, 0.001);
  metrics.recordComparison(`route-${MAX_ROUTE_LABELS + 99}`, 'match');
  let text = await metrics.render();
  const requestSeries = seriesOf(text, 'strangler_requests_total');
  t.equal(requestSeries.length, MAX_ROUTE_LABELS + 1, 'the known routes and (other)');
  t.equal(valueOf(text, 'strangler_requests_total{route="route-0",target="legacy"}'), 2);
  t.equal(valueOf(text, `strangler_requests_total{route="route-${MAX_ROUTE_LABELS - 1}",target="legacy"}`), 1);
  t.equal(valueOf(text, `strangler_requests_total{route="route-${MAX_ROUTE_LABELS}",target="legacy"}`), undefined);
  t.equal(valueOf(text, 'strangler_requests_total{route="(other)",target="legacy"}'), extra);
  t.equal(valueOf(text, 'strangler_shadow_comparisons_total{route="(other)",outcome="match"}'), 1);

  metrics.forgetRoute('route-0');
  metrics.recordRequest('route-new', 'legacy', 200, 0.001);
  text = await metrics.render();
  t.equal(valueOf(text, 'strangler_requests_total{route="route-new",target="legacy"}'), 1, 'a forgotten route frees its place');
});

t.test('two instances do not share series, and the global registry stays empty', async (t) => {
  const a = quiet();
  const b = quiet();
  a.recordRequest('rooms-get', 'rooms', 200, 0.01);
  a.recordRequest('rooms-get', 'rooms', 200, 0.01);
  b.recordRequest('rooms-get', 'rooms', 200, 0.01);
  b.setControlPlane(true);
  t.equal(valueOf(await a.render(), 'strangler_requests_total{route="rooms-get",target="rooms"}'), 2);
  t.equal(valueOf(await b.render(), 'strangler_requests_total{route="rooms-get",target="rooms"}'), 1);
  t.equal(valueOf(await a.render(), 'strangler_control_plane_degraded'), 0);
  t.notMatch(await globalRegister.metrics(), /strangler_/);
});

t.test('process metrics are there by default and can be left out', async (t) => {
  const withProcess = createProxyMetrics();
  const another = createProxyMetrics();
  const text = await withProcess.render();
  t.ok(valueOf(text, 'process_cpu_user_seconds_total')! >= 0, 'process cpu');
  t.ok(valueOf(text, 'nodejs_heap_size_used_bytes')! > 0, 'heap');
  t.match(await another.render(), /^process_resident_memory_bytes /m, 'a second instance collects too');
  t.notMatch(await quiet().render(), /^(process|nodejs)_/m);
  t.match(withProcess.contentType, /^text\/plain/);
});

t.test('the prefix replaces strangler_ in the proxy metric names', async (t) => {
  const metrics = createProxyMetrics({ collectProcess: false, prefix: 'edge_' });
  metrics.recordRequest('rooms-get', 'rooms', 200, 0.01);
  const text = await metrics.render();
  t.equal(valueOf(text, 'edge_requests_total{route="rooms-get",target="rooms"}'), 1);
  t.notMatch(text, /strangler_/);
  t.throws(() => createProxyMetrics({ prefix: 'edge-' }), TypeError);
});
