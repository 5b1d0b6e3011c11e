import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTruth, label, parseHaproxyLine, parseNginxLine, type ClientResult } from './truth.js';
import { makePlan, parseFaults } from './plan.js';

/** A client's record of one request: a fast 200 on /lossy/predict unless overridden. */
function client(over: Partial<ClientResult>): ClientResult {
  return {
    i: 0,
    route: '/lossy/predict',
    phase: 0,
    conc: 6,
    n_inputs: 8,
    req_bytes: 100,
    client_sent_request_id: false,
    sent_request_id: null,
    ts: 'x',
    t_send: 1795855717.519,
    t_end: 1795855717.8237,
    client_ms: 303.7,
    status: 200,
    request_id: null,
    client_port: 40000,
    resp_bytes: 87,
    error: null,
    ...over,
  };
}

const line =
  '10.10.0.5 - - [28/Nov/2026:08:48:37 +0000] "POST /lossy/predict HTTP/1.1" 200 87 "-" "ml-gateway-client/1.4" rt=0.303 uct="0.000" uht="0.051" urt="0.304" ua="10.10.2.21:8001" us="200" rid=a9e2 msec=1795855717.823';

test('parseNginxLine reads the lab log format, upstream lists summed', () => {
  const p = parseNginxLine(line)!;
  assert.equal(p.path, '/lossy/predict');
  assert.equal(p.requestTimeMs, 303);
  assert.equal(p.headerMs, 51);
  assert.equal(p.rid, 'a9e2');
  const two = parseNginxLine(line.replace('uht="0.051"', 'uht="0.010, 0.020"'))!;
  assert.equal(two.headerMs, 30);
  assert.equal(parseNginxLine('garbage'), null);
});

test('label follows the README rules in order', () => {
  const base = {
    slow: true,
    clientMs: 1000,
    modelMs: 10,
    queueMs: 0,
    networkFault: false,
    networkMs: 0,
  };
  assert.equal(label({ ...base, status: 502 }).cause, 'upstream-error');
  assert.equal(label({ ...base, status: 200, slow: false }).cause, 'none');
  assert.equal(label({ ...base, status: 200, modelMs: 700 }).cause, 'inference');
  assert.equal(label({ ...base, status: 200, networkFault: true }).cause, 'network');
  assert.equal(label({ ...base, status: 200, queueMs: 600 }).cause, 'queueing');
  const weak = label({ ...base, status: 200, networkMs: 800 });
  assert.deepEqual(weak, { cause: 'network', weak: true });
});

test('buildTruth joins by the id the client saw and counts retransmissions on its connection', () => {
  const c = client({ request_id: 'a9e2' });
  const [t] = buildTruth({
    slowMs: 300,
    routeFaults: { '/lossy/predict': 'loss' },
    proxyAddr: '10.10.1.10',
    clients: [c],
    proxyLog: [parseNginxLine(line)!],
    app: [{ request_id: 'a9e2', inference_ms: 49.9, status: 200, peer: '10.10.1.10:55984' }],
    ledger: [],
    relay: [],
    retrans: [
      { tsS: 1795855717.823, src: '10.10.2.21', srcPort: 8001, dst: '10.10.1.10', dstPort: 55984 },
      { tsS: 1795855717.823, src: '10.10.2.21', srcPort: 8001, dst: '10.10.1.10', dstPort: 1 },
    ],
  });
  assert.equal(t!.upstream_retrans, 1);
  assert.equal(t!.cause, 'network');
  assert.equal(t!.model_ms, 49.9);
});

test('parseHaproxyLine reads the lab HAProxy line in nginx terms', () => {
  const servers = { 'app_b/srv1': '10.10.2.21:8001', 'app_e/srv1': '10.10.2.23:8004' };
  const p = parseHaproxyLine(
    '10.10.0.5:53404 [28/Nov/2026:19:19:13.989] fe_http app_b/srv1 0/0/1014/51/1065 200 210 - - ---- 5/5/0/0/0 0/0 {cli-dbafe2ca-3768-4ca7-8c9a-5267fae90f8b} "POST /lossy/predict HTTP/1.1"',
    servers,
  )!;
  assert.equal(p.rid, 'cli-dbafe2ca-3768-4ca7-8c9a-5267fae90f8b');
  assert.equal(p.path, '/lossy/predict');
  assert.equal(p.requestTimeMs, 1065);
  assert.equal(p.connectMs, 1014);
  assert.equal(p.headerMs, 1065);
  assert.equal(p.upstreamAddr, '10.10.2.21:8001');
  const t = parseHaproxyLine(
    '10.10.0.5:53392 [28/Nov/2026:19:19:14.243] fe_http app_e/srv1 0/0/0/-1/2002 504 250 - - sH-- 1/1/0/0/0 0/0 {cli-89b40b53-2c86-4e06-8b62-167e97afb19e} "POST /gen/predict HTTP/1.1"',
    servers,
  )!;
  assert.equal(t.status, 504);
  assert.equal(t.headerMs, null);
  assert.equal(t.upstreamStatus, '-');
  assert.equal(
    parseHaproxyLine('Proxy fe_http stopped (cumulated conns: FE: 76, BE: 0).', servers),
    null,
  );
});

test("a request the client got no answer to keeps the id it sent, or the proxy's from the ledger", () => {
  const base = client({
    route: '/gen/predict',
    t_send: 1795893661.731,
    t_end: 1795893661.843,
    client_ms: 112.2,
    status: 0,
    resp_bytes: 0,
    error: 'RemoteDisconnected: Remote end closed connection without response',
  });
  const sent = { ...base, i: 1, client_sent_request_id: true, sent_request_id: 'cli-1' };
  const truth = buildTruth({
    slowMs: 300,
    routeFaults: {},
    proxyAddr: '10.10.1.10',
    clients: [base, sent],
    proxyLog: [],
    app: [],
    ledger: [
      { request_id: 'early', fault: 'oom', ts: '2026-11-28T19:21:00.000Z' },
      { request_id: 'gen-1', fault: 'crash', ts: '2026-11-28T19:21:01.790Z' },
    ],
    relay: [],
    retrans: [],
  });
  assert.deepEqual(
    truth.map((t) => [t.request_id, t.cause]),
    [
      ['gen-1', 'upstream-error'],
      ['cli-1', 'upstream-error'],
    ],
  );
});

test('plans are reproducible and mixes parse', () => {
  assert.deepEqual(makePlan(parseFaults('all'), 100, 3), makePlan(parseFaults('all'), 100, 3));
  assert.deepEqual(parseFaults('network'), ['loss', 'delay']);
  assert.deepEqual(parseFaults('inference,errors'), ['inference', 'errors']);
  assert.throws(() => parseFaults('bogus'));
  const n = makePlan(parseFaults('queueing'), 96, 1).reduce((s, p) => s + p.requests.length, 0);
  assert.equal(n, 96);
});
