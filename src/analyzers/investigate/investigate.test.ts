import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blankExchange, type Exchange, type LogRecord } from '../../model/records.js';
import type { Span } from '../../model/span.js';
import { CaptureEngine } from '../../decoders/capture/engine.js';
import { allRecognisers } from '../../decoders/proto/registry.js';
import { Conversation, pcapFile, type FrameRec } from '../../decoders/capture/frames.test-util.js';
import { deriveSlowMs, inferenceMsOf, investigate } from './investigate.js';
import { estimateSkew } from './skew.js';
import { joinExchanges, traceIdOf } from './join.js';
import { parseLogText } from '../../decoders/logs/index.js';

const T0 = 1_700_000_000_000_000;
const CLIENT = '10.0.0.5';
const PROXY = '10.0.1.10';
const APP = '10.0.2.20';

/** One request through a proxy: client → proxy:8080 (hop 1), proxy → app:8000 (hop 2). */
function twoHops(opts: {
  at: number;
  serverUs: number;
  id?: string;
  traceparent?: string;
  port: number;
  status?: number;
}): FrameRec[] {
  const hdr =
    (opts.id ? `X-Request-ID: ${opts.id}\r\n` : '') +
    (opts.traceparent ? `traceparent: ${opts.traceparent}\r\n` : '');
  const req = `POST /predict HTTP/1.1\r\nHost: m\r\n${hdr}Content-Length: 2\r\n\r\n{}`;
  const status = opts.status ?? 200;
  const resp = `HTTP/1.1 ${status} X\r\nContent-Length: 2\r\n${opts.id ? `X-Request-ID: ${opts.id}\r\n` : ''}\r\n{}`;
  const outer = new Conversation(CLIENT, PROXY, opts.port, 8080, T0 + opts.at);
  const inner = new Conversation(PROXY, APP, opts.port + 1, 8000, T0 + opts.at + 1000);
  outer.handshake(200).at(100).c('PA', req);
  inner.handshake(200).at(100).c('PA', req).at(opts.serverUs).s('PA', resp).at(50).c('A');
  outer
    .at(opts.serverUs + 1500)
    .s('PA', resp)
    .at(50)
    .c('A');
  return [...outer.frames, ...inner.frames].sort((a, b) => a.tsUs - b.tsUs);
}

function capture(frames: FrameRec[]) {
  const exchanges: Exchange[] = [];
  const connections = new Map();
  const e = new CaptureEngine({
    source: 't',
    recognisers: allRecognisers(),
    sink: { exchange: (x) => exchanges.push(x), connection: (c) => connections.set(c.id, c) },
  });
  e.push(pcapFile(frames));
  e.end();
  return { exchanges, connections, retransmissions: [] };
}

/** Investigate log records alone (no capture, no spans). */
function logsOnly(logs: LogRecord[], slowMs: number): ReturnType<typeof investigate> {
  return investigate(
    { exchanges: [], connections: new Map(), retransmissions: [], logs, spans: [] },
    { slowMs },
  );
}

function appLog(id: string, tsUs: number, inferenceMs: number): LogRecord {
  return {
    tsUs,
    severity: 'INFO',
    body: 'prediction',
    requestId: id,
    traceId: null,
    spanId: null,
    httpMethod: null,
    httpPath: null,
    httpStatus: 200,
    durationMs: null,
    clientIp: null,
    attributes: { inference_ms: inferenceMs },
    service: null,
    host: null,
    file: 'app.jsonl',
    lineNo: 1,
    format: 'json',
    templateId: null,
  };
}

test('a request is joined across hops by its id; server time splits into queueing and inference', () => {
  const frames = [
    ...twoHops({ at: 0, serverUs: 50_000, id: 'fast-1', port: 40000 }),
    ...twoHops({ at: 200_000, serverUs: 50_000, id: 'fast-2', port: 40010 }),
    ...twoHops({ at: 400_000, serverUs: 900_000, id: 'slow-1', port: 40020 }),
  ];
  const cap = capture(frames);
  const logs = [
    appLog('fast-1', T0 + 60_000, 45),
    appLog('fast-2', T0 + 260_000, 45),
    appLog('slow-1', T0 + 1_300_000, 200),
  ];
  const inv = investigate({ ...cap, logs }, { slowMs: 300 });
  assert.equal(inv.requests.total, 3);
  assert.equal(inv.requests.slow, 1);
  const r = inv.slowRequests[0]!;
  assert.equal(r.requestId, 'slow-1');
  assert.equal(r.status, 200);
  assert.ok(Math.abs(r.breakdownMs.inference - 200) < 1);
  assert.ok(Math.abs(r.breakdownMs.queueing - 700) < 2, `queueing ${r.breakdownMs.queueing}`);
  assert.equal(r.cause, 'queueing');
  assert.ok(r.evidence.some((e) => e.includes('inference 200 ms per app.jsonl:1')));
  assert.deepEqual(
    inv.findings.map((f) => f.cause),
    ['queueing'],
  );
  // The app log's clock matches the capture: an offset near 0 from 3 pairs.
  const skew = inv.clockSkew.find((s) => s.source === 'app.jsonl')!;
  assert.equal(skew.pairs, 3);
});

test("a finding's examples are its strongest cases, the longest wait first", () => {
  const frames = [
    ...twoHops({ at: 0, serverUs: 500_000, id: 'wait-300', port: 42000 }),
    ...twoHops({ at: 600_000, serverUs: 1_100_000, id: 'wait-900', port: 42010 }),
    ...twoHops({ at: 1_800_000, serverUs: 700_000, id: 'wait-500', port: 42020 }),
  ];
  const logs = [
    appLog('wait-300', T0 + 490_000, 200),
    appLog('wait-900', T0 + 1_690_000, 200),
    appLog('wait-500', T0 + 2_490_000, 200),
  ];
  const inv = investigate({ ...capture(frames), logs }, { slowMs: 300 });
  const f = inv.findings.find((x) => x.cause === 'queueing')!;
  assert.equal(f.requests, 3);
  assert.deepEqual(
    f.evidence.map((e) => e.split(':')[0]),
    ['wait-900', 'wait-500', 'wait-300'],
  );
  assert.match(f.evidence[0]!, /^wait-900: waited 9\d\d ms \(server time/);
});

test("a response lost from the capture (a gap in the server's bytes) is not a failure", () => {
  const conv = new Conversation(CLIENT, APP, 43000, 8000, T0);
  conv
    .handshake(200)
    .at(100)
    .c('PA', 'POST /predict HTTP/1.1\r\nHost: m\r\nContent-Length: 2\r\n\r\n{}');
  conv.at(40_000).s('PA', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}');
  conv.frames.pop(); // tcpdump dropped the answer; the client's ACK below covers it
  conv.at(100).c('PA', 'POST /predict HTTP/1.1\r\nHost: m\r\nContent-Length: 2\r\n\r\n{}');
  conv.at(40_000).s('PA', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}');
  conv.at(100).c('A');
  const cap = capture(conv.frames);
  assert.deepEqual(
    cap.exchanges.map((x) => [x.status, x.state]),
    [
      [null, 'truncated'],
      [200, 'complete'],
    ],
  );
  const inv = investigate({ ...cap, logs: [] }, { slowMs: 300 });
  assert.equal(inv.requests.total, 2);
  assert.deepEqual(inv.slowRequests, [], 'nothing failed and nothing was slow');
});

test('without request ids, hops join by trace id and an inference span gives the model time', () => {
  const tp = (n: number) => `00-${String(n).padStart(32, 'a')}-00f067aa0ba902b7-01`;
  const frames = [
    ...twoHops({ at: 0, serverUs: 40_000, traceparent: tp(1), port: 41000 }),
    ...twoHops({ at: 100_000, serverUs: 40_000, traceparent: tp(2), port: 41010 }),
    ...twoHops({ at: 300_000, serverUs: 800_000, traceparent: tp(3), port: 41020 }),
  ];
  const cap = capture(frames);
  const span = (n: number, ms: number): Span => ({
    traceId: traceIdOf(tp(n))!,
    spanId: '1111111111111111',
    parentSpanId: null,
    service: 'model-server',
    name: 'model.inference',
    kind: 'internal',
    startUs: T0,
    endUs: T0 + ms * 1000,
    status: 'ok',
    statusMessage: null,
    attributes: {},
    events: [],
    links: [],
    resource: {},
    scope: null,
    format: 'otlp-json',
  });
  const inv = investigate(
    { ...cap, logs: [], spans: [span(1, 35), span(2, 35), span(3, 780)] },
    { slowMs: 300 },
  );
  assert.equal(inv.requests.total, 3, 'three requests, not six exchanges');
  const r = inv.slowRequests[0]!;
  assert.equal(r.cause, 'inference');
  assert.ok(Math.abs(r.breakdownMs.inference - 780) < 1);
  assert.ok(r.evidence.some((e) => e.includes("span 'model.inference' (model-server)")));
});

test('a 5xx is an upstream error explained by the app log, fast or slow', () => {
  const frames = [
    ...twoHops({ at: 0, serverUs: 30_000, id: 'ok-1', port: 42000 }),
    ...twoHops({ at: 100_000, serverUs: 30_000, id: 'boom', port: 42010, status: 500 }),
  ];
  const cap = capture(frames);
  const err: LogRecord = {
    ...appLog('boom', T0 + 140_000, 20),
    severity: 'ERROR',
    body: 'prediction_failed',
    attributes: { error: 'torch.cuda.OutOfMemoryError: CUDA out of memory' },
    lineNo: 7,
  };
  const inv = investigate({ ...cap, logs: [err] }, { slowMs: 1000 });
  assert.equal(inv.requests.failed, 1);
  const r = inv.slowRequests[0]!;
  assert.equal(r.requestId, 'boom');
  assert.equal(r.cause, 'upstream-error');
  assert.ok(r.evidence.some((e) => e.includes('app.jsonl:7') && e.includes('CUDA out of memory')));
  assert.match(
    inv.findings[0]!.title,
    /1 failed request \(500 from 10\.0\.2\.20:8000\): torch\.cuda\.OutOfMemoryError/,
  );
});

test('the default slow threshold is twice the median, rounded, at least 100 ms', () => {
  assert.equal(deriveSlowMs([40, 45, 50, 52, 60, 2000]), 100);
  assert.equal(deriveSlowMs([140, 150, 147, 160, 900]), 300);
  assert.equal(deriveSlowMs([]), 1000);
});

test('whole-second log clocks: intersecting the pairs narrows the offset', () => {
  // The log clock runs 300 ms ahead; its lines show whole seconds.
  const pairs = Array.from({ length: 50 }, (_, i) => {
    const anchorUs = 1e15 + i * 137_000;
    return { anchorUs, logUs: Math.floor((anchorUs + 300_000) / 1e6) * 1e6 };
  });
  const s = estimateSkew('nginx.log', pairs)!;
  assert.equal(s.resolutionMs, 1000);
  assert.ok(Math.abs(s.offsetMs - 300) <= s.uncertaintyMs + 1, JSON.stringify(s));
  assert.ok(s.uncertaintyMs < 100);
});

test('proxy access logs alone: HAProxy queue time is queueing; Envoy/HAProxy say why requests failed', () => {
  const { records } = parseLogText(
    [
      'Mar  4 08:00:00 lb1 haproxy[1]: 10.0.0.1:5001 [04/Mar/2025:08:00:00.000] fe be_llm/srv1 0/1500/1/300/1801 200 2048 - - ---- 9/9/9/1/0 0/40 "POST /v1/chat/completions HTTP/1.1"',
      'Mar  4 08:00:01 lb1 haproxy[1]: 10.0.0.1:5002 [04/Mar/2025:08:00:01.000] fe be_llm/srv1 0/20/1/250/271 200 2048 - - ---- 9/9/9/1/0 0/0 "POST /v1/chat/completions HTTP/1.1"',
      'Mar  4 08:00:02 lb1 haproxy[1]: 10.0.0.1:5003 [04/Mar/2025:08:00:02.000] fe be_llm/srv1 0/30000/-1/-1/30000 503 212 - - sQ-- 9/9/9/1/0 0/80 "POST /v1/chat/completions HTTP/1.1"',
    ].join('\n') + '\n',
    'haproxy.log',
    { referenceYear: 2025 },
  );
  const inv = logsOnly(records, 1000);
  const slow = inv.slowRequests.find((r) => r.status === 200)!;
  assert.equal(slow.totalMs, 1801);
  assert.equal(slow.breakdownMs.queueing, 1500);
  assert.equal(slow.cause, 'queueing');
  const failed = inv.slowRequests.find((r) => r.status === 503)!;
  assert.equal(failed.cause, 'upstream-error');
  assert.ok(
    inv.findings.some((f) =>
      /haproxy sQ--: server-side timeout while queued for a server connection slot/.test(f.title),
    ),
    inv.findings.map((f) => f.title).join('\n'),
  );
});

test('HAProxy 2.6 log alone with the app log (lab lines): ids join, a slow connect is network', () => {
  // `mlscope lab slow-endpoint --proxy haproxy`: option httplog with the X-Request-ID captured
  const haproxy = parseLogText(
    [
      '10.10.0.5:53392 [28/Nov/2026:19:19:13.667] fe_http app_b/srv1 0/0/0/38/38 200 210 - - ---- 6/6/0/0/0 0/0 {cli-42c0fb3a-950b-4260-8222-a0ad080199fe} "POST /lossy/predict HTTP/1.1"',
      '10.10.0.5:53392 [28/Nov/2026:19:19:13.714] fe_http app_b/srv1 0/0/1/16/17 200 210 - - ---- 6/6/1/1/0 0/0 {cli-d3bdee1a-2a56-4d51-bd89-1dae08e9a540} "POST /lossy/predict HTTP/1.1"',
      '10.10.0.5:53394 [28/Nov/2026:19:19:13.693] fe_http app_a/srv1 0/0/0/45/45 200 211 - - ---- 6/6/1/1/0 0/0 {cli-10a8c6a5-93a2-41aa-87ef-777255187103} "POST /predict HTTP/1.1"',
      '10.10.0.5:53398 [28/Nov/2026:19:19:13.669] fe_http app_e/srv1 0/0/0/77/78 200 212 - - ---- 6/6/0/0/0 0/0 {cli-7ebd2f14-c1ee-4eb3-a5d4-30f230e39820} "POST /gen/predict HTTP/1.1"',
      '10.10.0.5:53404 [28/Nov/2026:19:19:13.989] fe_http app_b/srv1 0/0/1014/51/1065 200 210 - - ---- 5/5/0/0/0 0/0 {cli-dbafe2ca-3768-4ca7-8c9a-5267fae90f8b} "POST /lossy/predict HTTP/1.1"',
      '10.10.0.5:53402 [28/Nov/2026:19:19:13.676] fe_http app_a/srv1 0/0/0/1554/1554 200 214 - - ---- 3/3/0/0/0 0/0 {cli-74bbab58-0c60-4507-8e43-740dff8f50d1} "POST /big/predict HTTP/1.1"',
      '10.10.0.5:53392 [28/Nov/2026:19:19:14.243] fe_http app_e/srv1 0/0/0/-1/2002 504 250 - - sH-- 1/1/0/0/0 0/0 {cli-89b40b53-2c86-4e06-8b62-167e97afb19e} "POST /gen/predict HTTP/1.1"',
    ].join('\n') + '\n',
    'haproxy.log',
  ).records;
  const app = (ts: string, id: string, ms: number, server: string): string =>
    `{"ts": "2026-11-28T${ts}Z", "level": "INFO", "logger": "model_server", "event": "prediction", "request_id": "cli-${id}", "model": "fake-linear-v1", "n_inputs": 8, "inference_ms": ${ms}, "status": 200, "peer": "10.10.1.10:49584", "pid": 10552, "server": "${server}"}`;
  const apps = parseLogText(
    [
      app('19:19:13.705', '42c0fb3a-950b-4260-8222-a0ad080199fe', 30.6, 'app-8001'),
      app('19:19:13.730', 'd3bdee1a-2a56-4d51-bd89-1dae08e9a540', 14.27, 'app-8001'),
      app('19:19:13.738', '10a8c6a5-93a2-41aa-87ef-777255187103', 43.28, 'app-8000'),
      app('19:19:13.746', '7ebd2f14-c1ee-4eb3-a5d4-30f230e39820', 73.36, 'app-8004'),
      app('19:19:15.053', 'dbafe2ca-3768-4ca7-8c9a-5267fae90f8b', 49.24, 'app-8001'),
      app('19:19:15.230', '74bbab58-0c60-4507-8e43-740dff8f50d1', 1549.29, 'app-8000'),
      app('19:19:17.342', '89b40b53-2c86-4e06-8b62-167e97afb19e', 3096.76, 'app-8004'),
    ].join('\n') + '\n',
    'app.jsonl',
  ).records;
  const inv = logsOnly([...haproxy, ...apps], 300);
  assert.equal(inv.requests.total, 7);
  const by = (id: string) => inv.slowRequests.find((r) => r.requestId === `cli-${id}`);
  const connect = by('dbafe2ca-3768-4ca7-8c9a-5267fae90f8b')!;
  assert.equal(connect.cause, 'network');
  assert.equal(connect.breakdownMs.inference, 49.24);
  assert.ok(connect.breakdownMs.network >= 1000, JSON.stringify(connect.breakdownMs));
  const big = by('74bbab58-0c60-4507-8e43-740dff8f50d1')!;
  assert.equal(big.cause, 'inference');
  assert.equal(big.breakdownMs.inference, 1549.29);
  const timeout = by('89b40b53-2c86-4e06-8b62-167e97afb19e')!;
  assert.equal(timeout.cause, 'upstream-error');
  assert.ok(
    timeout.evidence.some((e) => /haproxy sH--: server-side timeout/.test(e)),
    timeout.evidence.join('\n'),
  );
});

test('JSON access logs alone (nginx escape=json + app JSON): one request per front line, joined by id', () => {
  const nginx = parseLogText(
    [
      '{"time":"2025-03-04T08:00:01.900+00:00","remote_addr":"10.0.0.1","request_id":"r1","request_method":"POST","request_uri":"/predict","status":200,"request_time":0.900,"upstream_response_time":"0.880","upstream_addr":"10.0.2.20:8000"}',
      '{"time":"2025-03-04T08:00:02.100+00:00","remote_addr":"10.0.0.1","request_id":"r2","request_method":"POST","request_uri":"/predict","status":200,"request_time":0.050,"upstream_response_time":"0.045","upstream_addr":"10.0.2.20:8000"}',
      '{"time":"2025-03-04T08:00:03.100+00:00","remote_addr":"10.0.0.1","request_id":"r3","request_method":"POST","request_uri":"/predict","status":502,"request_time":0.010,"upstream_response_time":"0.010","upstream_addr":"10.0.2.20:8000"}',
    ].join('\n') + '\n',
    'nginx.json',
  ).records;
  // the app's own per-request line (method, path, status, duration) is access-shaped too: it must
  // not become a second request, and its inference time is what explains r1
  const app = parseLogText(
    '{"ts":"2025-03-04T08:00:01.890Z","level":"info","msg":"done","request_id":"r1","method":"POST","path":"/predict","status":200,"duration_ms":870,"inference_ms":850}\n',
    'app.json',
  ).records;
  const inv = logsOnly([...nginx, ...app], 500);
  assert.equal(inv.requests.total, 3);
  const r1 = inv.slowRequests.find((r) => r.requestId === 'r1')!;
  assert.equal(r1.totalMs, 900);
  assert.equal(r1.breakdownMs.inference, 850);
  assert.equal(r1.cause, 'inference');
  const r3 = inv.slowRequests.find((r) => r.requestId === 'r3')!;
  assert.equal(r3.cause, 'upstream-error');
});

const xch = blankExchange;

test('gRPC: a server-side grpc-status inside a 200 is a failure; a caller error is not', () => {
  const call = (i: number, grpcStatus: number | null, message: string | null): Exchange =>
    xch({
      id: i,
      connId: 1,
      client: { ip: CLIENT, port: 40000 },
      server: { ip: APP, port: 8001 },
      protocol: 'HTTP/2',
      streamId: 1 + 2 * i,
      method: 'POST',
      path: '/inference.GRPCInferenceService/ModelInfer',
      status: 200,
      requestId: `g${i}`,
      contentType: 'application/grpc',
      reqFirstUs: T0 + i * 1_000_000,
      reqLastUs: T0 + i * 1_000_000 + 100,
      respFirstUs: T0 + i * 1_000_000 + 20_000,
      respLastUs: T0 + i * 1_000_000 + 20_100,
      serverTimeMs: 20,
      totalMs: 20,
      grpcStatus,
      grpcMessage: message,
    });
  const xs = [
    call(0, 0, null),
    call(1, 14, 'upstream connect error'),
    call(2, 3, 'bad tensor shape'),
    call(3, 8, 'GPU memory exhausted'),
  ];
  const inv = investigate(
    { exchanges: xs, connections: new Map(), retransmissions: [], logs: [], spans: [] },
    { slowMs: 1000 },
  );
  const failed = inv.slowRequests.filter((r) => r.failed).map((r) => r.requestId);
  assert.deepEqual(failed.sort(), ['g1', 'g3']);
  assert.ok(
    inv.findings.some(
      (f) => /grpc-UNAVAILABLE/.test(f.title) && /upstream connect error/.test(f.evidence[0]!),
    ),
    inv.findings.map((f) => f.title).join('\n'),
  );
});

test('HTTPS without keys: the TLS hop (timed from records) joins the proxy hop in clear', () => {
  const xs: Exchange[] = [];
  for (let i = 0; i < 6; i++) {
    const t = T0 + i * 1_000_000;
    const slow = i === 5;
    // client → proxy:443, encrypted: timing only
    xs.push(
      xch({
        id: 2 * i,
        connId: 2 * i,
        client: { ip: CLIENT, port: 50000 + i },
        server: { ip: PROXY, port: 443 },
        protocol: 'TLS',
        reqFirstUs: t,
        reqLastUs: t + 200,
        respFirstUs: t + (slow ? 900_000 : 30_000) + (slow ? 250_000 : 0),
        respLastUs: t + (slow ? 1_150_500 : 30_500),
        serverTimeMs: null,
      }),
    );
    // proxy → app in clear, with the request id
    xs.push(
      xch({
        id: 2 * i + 1,
        connId: 2 * i + 1,
        client: { ip: PROXY, port: 40000 + i },
        server: { ip: APP, port: 8000 },
        method: 'POST',
        path: '/predict',
        status: 200,
        requestId: `t${i}`,
        reqFirstUs: t + 1000,
        reqLastUs: t + 1100,
        respFirstUs: t + (slow ? 900_000 : 29_000),
        respLastUs: t + (slow ? 900_100 : 29_100),
        serverTimeMs: slow ? 898.9 : 27.9,
      }),
    );
  }
  const inv = investigate(
    { exchanges: xs, connections: new Map(), retransmissions: [], logs: [], spans: [] },
    { slowMs: 500 },
  );
  assert.equal(inv.requests.total, 6, 'one request per TLS exchange, joined to its proxy hop');
  assert.equal(inv.requests.failed, 0, 'an encrypted hop with no visible status is not a failure');
  const slow = inv.slowRequests.find((r) => r.requestId === 't5')!;
  assert.equal(slow.status, 200, 'status from the hop in clear');
  assert.equal(slow.path, '/predict');
  assert.equal(slow.totalMs, 1150.5);
  assert.ok(slow.breakdownMs.network >= 250, JSON.stringify(slow.breakdownMs));
  assert.match(slow.evidence[0]!, /in TLS: timed from its records/);
});

test('traces alone: the critical path says inference, queueing, network, or a failed span', () => {
  let n = 0;
  const span = (
    trace: number,
    parent: string | null,
    name: string,
    kind: Span['kind'],
    startMs: number,
    endMs: number,
    attributes: Span['attributes'] = {},
    status: Span['status'] = 'unset',
  ): Span => ({
    traceId: trace.toString(16).padStart(32, '0'),
    spanId: (++n).toString(16).padStart(16, '0'),
    parentSpanId: parent,
    service: kind === 'client' ? 'gateway' : 'model-server',
    name,
    kind,
    startUs: T0 + trace * 10_000_000 + startMs * 1000,
    endUs: T0 + trace * 10_000_000 + endMs * 1000,
    status,
    statusMessage: status === 'error' ? 'CUDA out of memory' : null,
    attributes,
    events: [],
    links: [],
    resource: {},
    scope: null,
    format: 'otlp-json',
  });
  const http = { 'http.request.method': 'POST', 'http.route': '/predict' };
  const spans: Span[] = [];
  // a gateway calls the model server, which waits for a batch slot, then runs the model
  const request = (trace: number, netMs: number, waitMs: number, inferMs: number, code = 200) => {
    const c = span(trace, null, 'POST', 'client', 0, netMs + waitMs + inferMs + 10, {
      ...http,
      'http.response.status_code': code,
    });
    const s = span(
      trace,
      c.spanId,
      'POST /predict',
      'server',
      netMs / 2,
      netMs / 2 + waitMs + inferMs + 10,
      { ...http, 'http.response.status_code': code },
      code >= 500 ? 'error' : 'unset',
    );
    const w = span(
      trace,
      s.spanId,
      'batch.wait',
      'internal',
      netMs / 2 + 5,
      netMs / 2 + 5 + waitMs,
    );
    const m = span(
      trace,
      s.spanId,
      'model.forward',
      'internal',
      netMs / 2 + 5 + waitMs,
      netMs / 2 + 5 + waitMs + inferMs,
    );
    spans.push(c, s, w, m);
  };
  for (let i = 1; i <= 8; i++) request(i, 4, 2, 40);
  request(20, 4, 2, 900); // slow model
  request(21, 4, 700, 40); // queued
  request(22, 800, 2, 40); // slow network between gateway and server
  request(23, 4, 2, 40, 503); // failed
  const inv = investigate(
    { exchanges: [], connections: new Map(), retransmissions: [], logs: [], spans },
    { slowMs: 300 },
  );
  assert.equal(inv.requests.total, 12);
  const cause = (t: number) =>
    inv.slowRequests.find((r) => r.requestId === t.toString(16).padStart(32, '0'))?.cause;
  assert.equal(cause(20), 'inference');
  assert.equal(cause(21), 'queueing');
  assert.equal(cause(22), 'network');
  assert.equal(cause(23), 'upstream-error');
  const slow = inv.slowRequests.find((r) => r.cause === 'inference')!;
  assert.equal(slow.path, '/predict');
  assert.equal(slow.method, 'POST');
  assert.ok(slow.breakdownMs.inference >= 900);
  assert.ok(inv.findings.some((f) => f.cause === 'upstream-error'));
  assert.ok(inv.notes.some((n) => /12 requests are known from their traces alone/.test(n)));
});

test("logs only, nginx's default combined format (no times): the app's timed line stands in", () => {
  const nginx = parseLogText(
    [
      '10.0.0.1 - - [04/Mar/2025:08:00:01 +0000] "POST /predict HTTP/1.1" 200 12 "-" "curl/8" rid=a1',
      '10.0.0.1 - - [04/Mar/2025:08:00:02 +0000] "POST /predict HTTP/1.1" 200 12 "-" "curl/8" rid=a2',
      '10.0.0.1 - - [04/Mar/2025:08:00:03 +0000] "GET /health HTTP/1.1" 200 2 "-" "kube-probe"',
    ].join('\n') + '\n',
    'nginx.log',
  ).records;
  const app = parseLogText(
    [
      '{"ts":"2025-03-04T08:00:01Z","msg":"done","request_id":"a1","method":"POST","path":"/predict","status":200,"duration_ms":950,"inference_ms":900}',
      '{"ts":"2025-03-04T08:00:02Z","msg":"done","request_id":"a2","method":"POST","path":"/predict","status":200,"duration_ms":40,"inference_ms":35}',
      // an app line without an id: the proxy layer counts id-less requests, not this one
      '{"ts":"2025-03-04T08:00:03Z","msg":"done","method":"GET","path":"/health","status":200,"duration_ms":1}',
    ].join('\n') + '\n',
    'app.json',
  ).records;
  const inv = logsOnly([...nginx, ...app], 500);
  assert.equal(inv.requests.total, 3, 'a1, a2 and the health check, each once');
  const a1 = inv.slowRequests.find((r) => r.requestId === 'a1')!;
  assert.equal(a1.totalMs, 950);
  assert.equal(a1.cause, 'inference');
});

test('one hop, capture only: a model server (by its Server header) splits into queueing and inference', () => {
  const run = (server: string): ReturnType<typeof investigate> => {
    const xs: Exchange[] = [];
    let free = 0;
    // a blocking server: 30 ms per request, request 5 takes 900 ms; arrivals every 100 ms
    for (let i = 0; i < 12; i++) {
      const arrive = i * 100_000;
      const start = Math.max(arrive, free);
      free = start + (i === 5 ? 900_000 : 30_000);
      xs.push(
        xch({
          id: i,
          connId: i,
          client: { ip: CLIENT, port: 41000 + i },
          server: { ip: APP, port: 8000 },
          method: 'POST',
          path: '/predict',
          status: 200,
          requestId: `s${i}`,
          responseHeaders: { server },
          reqFirstUs: T0 + arrive - 100,
          reqLastUs: T0 + arrive,
          respFirstUs: T0 + free,
          respLastUs: T0 + free + 100,
          serverTimeMs: (free - arrive) / 1000,
        }),
      );
    }
    return investigate(
      { exchanges: xs, connections: new Map(), retransmissions: [], logs: [], spans: [] },
      { slowMs: 300 },
    );
  };
  const app = run('uvicorn');
  const cause = (inv: ReturnType<typeof investigate>, id: string) =>
    inv.slowRequests.find((r) => r.requestId === id)?.cause;
  assert.equal(cause(app, 's5'), 'inference');
  assert.equal(cause(app, 's6'), 'queueing', 'arrived while s5 ran');
  assert.equal(cause(app, 's7'), 'queueing');
  assert.ok(
    app.notes.some((n) => /estimated from the capture/.test(n)),
    'says it estimated',
  );
  const proxy = run('nginx/1.24.0');
  assert.equal(cause(proxy, 's5'), 'unknown', 'behind a proxy the capture did not see past');
});

test('access log and traces: the inference span of the trace an access line names', () => {
  const tid = '4bf92f3577b34da6a3ce929d0e0e4736';
  const logs = parseLogText(
    `{"time":"2025-03-04T08:00:01.000+00:00","request_method":"POST","request_uri":"/predict","status":200,"request_time":0.900,"upstream_response_time":"0.890","upstream_addr":"10.0.2.20:8000","trace_id":"${tid}"}\n`,
    'nginx.json',
  ).records;
  const at = Date.parse('2025-03-04T08:00:00.100Z') * 1000;
  const spans: Span[] = [
    {
      traceId: tid,
      spanId: '00f067aa0ba902b7',
      parentSpanId: null,
      service: 'model-server',
      name: 'model.forward',
      kind: 'internal',
      startUs: at,
      endUs: at + 850_000,
      status: 'unset',
      statusMessage: null,
      attributes: {},
      events: [],
      links: [],
      resource: {},
      scope: null,
      format: 'otlp-json',
    },
  ];
  const inv = investigate(
    { exchanges: [], connections: new Map(), retransmissions: [], logs, spans },
    { slowMs: 500 },
  );
  const r = inv.slowRequests[0]!;
  assert.equal(r.breakdownMs.inference, 850);
  assert.equal(r.cause, 'inference');
});

test("capture of the proxy's front only: the proxy's log and the app's load split the hop behind it", () => {
  // client → proxy:8080 captured; proxy → app not captured. The proxy logs its upstream time, the
  // app its inference. Request 3 waited 400 ms on the way to an idle app: transit, not queueing.
  const frames: FrameRec[] = [];
  const nginx: string[] = [];
  const app: LogRecord[] = [];
  for (let i = 0; i < 8; i++) {
    const at = i * 2_000_000;
    const wait = i === 3 ? 400_000 : 2_000;
    const infUs = 30_000;
    const serverUs = wait + infUs + 3_000;
    const id = `f${i}`;
    const req = `POST /predict HTTP/1.1\r\nHost: m\r\nX-Request-ID: ${id}\r\nContent-Length: 2\r\n\r\n{}`;
    const resp = `HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Request-ID: ${id}\r\n\r\n{}`;
    const c = new Conversation(CLIENT, PROXY, 50000 + i, 8080, T0 + at);
    c.handshake(200).at(100).c('PA', req).at(serverUs).s('PA', resp).at(50).c('A');
    frames.push(...c.frames);
    const end = new Date((T0 + at + 300 + serverUs + 100) / 1000).toISOString();
    nginx.push(
      JSON.stringify({
        time: end,
        request_id: id,
        request_method: 'POST',
        request_uri: '/predict',
        status: 200,
        request_time: (serverUs + 200) / 1e6,
        upstream_connect_time: '0.000',
        upstream_header_time: ((serverUs - 1000) / 1e6).toFixed(3),
        upstream_response_time: ((serverUs - 1000) / 1e6).toFixed(3),
        upstream_addr: `${APP}:8000`,
      }),
    );
    app.push(appLog(id, T0 + at + 300 + wait + infUs, infUs / 1000));
  }
  frames.sort((a, b) => a.tsUs - b.tsUs);
  const inv = investigate(
    {
      ...capture(frames),
      logs: [...parseLogText(nginx.join('\n') + '\n', 'nginx.json').records, ...app],
      spans: [],
    },
    { slowMs: 300 },
  );
  const r = inv.slowRequests.find((x) => x.requestId === 'f3')!;
  assert.equal(r.cause, 'network', JSON.stringify(r));
  assert.ok(r.breakdownMs.network >= 390, JSON.stringify(r.breakdownMs));
  assert.ok(r.evidence.some((e) => /had a free slot/.test(e)));
});

test("the app's inference time is read from the names apps give it, in their units", () => {
  const rec = (attributes: LogRecord['attributes']): LogRecord =>
    ({ attributes, durationMs: null, format: 'json' }) as unknown as LogRecord;
  const ms = (k: string, v: number): number | null => inferenceMsOf([rec({ [k]: v })], false);
  for (const k of [
    'inference_ms',
    'inference_time_ms',
    'inferenceTime_ms',
    'model_latency_ms',
    'model_time_ms',
    'modelTimeMs',
    'model_ms',
    'predict_latency_ms',
    'model_inference_time_ms',
  ])
    assert.equal(ms(k, 12), 12, k);
  assert.equal(ms('predict_seconds', 0.012), 12);
  assert.equal(ms('inference_duration_s', 0.5), 500);
  assert.equal(ms('forward_us', 1500), 1.5);
  // a class label, a device index, a model version are not times
  for (const k of ['prediction', 'gpu', 'model', 'compute', 'generation'])
    assert.equal(ms(k, 1), null, k);
});

test('without any ids, hops nest by time, path and body sizes — through a relay that rewrites the path and reorders', () => {
  const ep = (ip: string, port: number) => ({ ip, port });
  const RELAY = '10.0.3.30';
  // two concurrent requests A (100 B in, 7000 B out) and B (900 B in, 300 B out); the relay's
  // jitter makes B's inner hops start before A's and end after
  const hop = (
    id: number,
    c: string,
    s: string,
    port: number,
    path: string,
    t0: number,
    t1: number,
    inB: number,
    outB: number,
  ): Exchange =>
    blankExchange({
      id,
      client: ep(c, 40000 + id),
      server: ep(s, port),
      method: 'POST',
      path,
      status: 200,
      reqFirstUs: T0 + t0,
      reqLastUs: T0 + t0 + 10,
      respFirstUs: T0 + t1 - 10,
      respLastUs: T0 + t1,
      reqBodyBytes: inB,
      respBodyBytes: outB,
    });
  const xs = [
    hop(1, CLIENT, PROXY, 8080, '/slow/predict', 0, 900_000, 100, 7000), // A front
    hop(2, CLIENT, PROXY, 8080, '/slow/predict', 1_000, 950_000, 900, 300), // B front
    hop(3, PROXY, RELAY, 8002, '/slow/predict', 2_000, 890_000, 100, 7000), // A → relay
    hop(4, PROXY, RELAY, 8002, '/slow/predict', 3_000, 940_000, 900, 300), // B → relay
    hop(5, RELAY, APP, 8000, '/predict', 150_000, 600_000, 900, 300), // B relay → app (first)
    hop(6, RELAY, APP, 8000, '/predict', 160_000, 500_000, 100, 7000), // A relay → app
  ];
  const chains = joinExchanges(xs);
  const ids = chains.map((ch) => ch.map((x) => x.id));
  assert.deepEqual(ids, [
    [1, 3, 6],
    [2, 4, 5],
  ]);
});

test("a capture of the hops behind the proxy only: the proxy's log gives the whole time, the rest was outside", () => {
  // tcpdump on the model server's host: only proxy → app is captured; the proxy's line says the
  // client waited 1.2 s (it took the proxy 1.15 s to reach the app: SYN retries on its side)
  const inner = new Conversation(PROXY, APP, 45000, 8000, T0 + 1_150_000);
  const req =
    'POST /predict HTTP/1.1\r\nHost: m\r\nX-Request-ID: r1\r\nContent-Length: 2\r\n\r\n{}';
  const resp = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Request-ID: r1\r\n\r\n{}';
  inner.handshake(200).at(100).c('PA', req).at(40_000).s('PA', resp).at(50).c('A');
  const cap = capture(inner.frames);
  const end = new Date((T0 + 1_200_500) / 1000).toISOString();
  const nginx = parseLogText(
    `{"time":"${end}","remote_addr":"${CLIENT}","request_id":"r1","request_method":"POST","request_uri":"/predict","status":200,"request_time":1.200,"upstream_response_time":"1.190","upstream_addr":"${APP}:8000"}\n`,
    'nginx.json',
  ).records;
  const inv = investigate(
    { ...cap, logs: [...nginx, appLog('r1', T0 + 1_190_000, 30)] },
    { slowMs: 300 },
  );
  assert.equal(inv.requests.total, 1);
  const r = inv.slowRequests[0]!;
  assert.equal(r.requestId, 'r1');
  assert.ok(Math.abs(r.totalMs - 1200) < 1, `total ${r.totalMs}`);
  assert.equal(r.cause, 'network');
  assert.ok(Math.abs(r.breakdownMs.inference - 30) < 1);
  assert.ok(r.breakdownMs.network > 1100, `network ${r.breakdownMs.network}`);
  assert.ok(
    r.evidence.some((e) => /outside the captured hops/.test(e)),
    r.evidence.join('\n'),
  );
});

test("the application's own logs alone: one request per id, its time the server's, inference named", () => {
  const lines = [
    appLog('a', T0 + 100_000, 20),
    appLog('b', T0 + 200_000, 25),
    appLog('c', T0 + 300_000, 22),
    appLog('d', T0 + 1_400_000, 900),
    { ...appLog('e', T0 + 1_500_000, 30), httpStatus: 500, severity: 'ERROR' as const },
  ];
  // uvicorn's default access lines (no time, no id) do not stand for requests
  const uvicorn = parseLogText(
    '10.0.1.10:59040 - "POST /predict HTTP/1.1" 200\n10.0.1.10:59041 - "POST /predict HTTP/1.1" 200\n',
    'uvicorn.log',
  ).records;
  const inv = logsOnly([...uvicorn, ...lines], 300);
  assert.equal(inv.requests.total, 5);
  assert.deepEqual(inv.slowRequests.map((r) => [r.requestId, r.cause]).sort(), [
    ['d', 'inference'],
    ['e', 'upstream-error'],
  ]);
  assert.ok(inv.notes.some((n) => /application's own log lines only/.test(n)));
});

test('access lines stamped at the request start (Envoy) end at start + duration: app lines join by time', () => {
  const lines: string[] = [];
  const app: string[] = [];
  for (let i = 0; i < 8; i++) {
    const start = Date.UTC(2025, 2, 4, 8, 0, i) + 137;
    const dur = 40 + 90 * i; // durations differ: a start stamp taken for the end would smear
    const ups = dur - 3;
    lines.push(
      `[${new Date(start).toISOString()}] "POST /predict HTTP/1.1" 200 - 2 2 ${dur} ${ups} "-" "client" "r${i}" "m" "10.0.2.20:8000"`,
    );
    // the app logs when inference ends, just before it answers (2 ms before the upstream answer)
    const answered = start + 1 + ups;
    app.push(
      `{"ts":"${new Date(answered - 2).toISOString()}","msg":"done","inference_ms":${ups - 10}}`,
    );
  }
  const envoy = parseLogText(lines.join('\n') + '\n', 'envoy.log').records;
  assert.equal(envoy[0]!.format, 'envoy');
  assert.equal(envoy[0]!.attributes['log.time_is_start'], true);
  const appRecs = parseLogText(app.join('\n') + '\n', 'app.json').records;
  const inv = logsOnly([...envoy, ...appRecs], 100);
  assert.ok(
    inv.notes.some((n) => /^8 app lines without a request id were joined/.test(n)),
    inv.notes.join('\n'),
  );
  const slow = inv.slowRequests.find((r) => r.requestId === 'r7')!;
  assert.equal(slow.cause, 'inference');
  assert.equal(slow.startTime, new Date(Date.UTC(2025, 2, 4, 8, 0, 7) + 137).toISOString());
});

test('failures of one kind group together whatever numbers their messages carry', () => {
  const lines = [0, 1, 2].map(
    (i) =>
      `{"ts":"2025-03-04T08:00:0${i + 1}.000Z","level":"error","msg":"failed","request_id":"f${i}","status":500,"inference_ms":5,"error":"torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.${i}5 GiB. GPU ${i} has 23.65 GiB"}`,
  );
  const recs = parseLogText(lines.join('\n') + '\n', 'app.jsonl').records;
  const inv = logsOnly(recs, 300);
  const failures = inv.findings.filter((f) => f.cause === 'upstream-error');
  assert.equal(failures.length, 1, failures.map((f) => f.title).join('\n'));
  assert.equal(failures[0]!.requests, 3);
  assert.match(failures[0]!.title, /torch\.OutOfMemoryError: CUDA out of memory\./);
});
