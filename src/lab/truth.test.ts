import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTruth, label, parseNginxLine, type ClientResult } from './truth.js';
import { makePlan, parseFaults } from './plan.js';

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
  const c: ClientResult = {
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
    request_id: 'a9e2',
    client_port: 40000,
    resp_bytes: 87,
    error: null,
  };
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

test('plans are reproducible and mixes parse', () => {
  assert.deepEqual(makePlan(parseFaults('all'), 100, 3), makePlan(parseFaults('all'), 100, 3));
  assert.deepEqual(parseFaults('network'), ['loss', 'delay']);
  assert.deepEqual(parseFaults('inference,errors'), ['inference', 'errors']);
  assert.throws(() => parseFaults('bogus'));
  const n = makePlan(parseFaults('queueing'), 96, 1).reduce((s, p) => s + p.requests.length, 0);
  assert.equal(n, 96);
});
