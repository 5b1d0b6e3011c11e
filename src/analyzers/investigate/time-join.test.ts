import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LogRecord } from '../../model/records.js';
import type { JoinedRequest } from './join.js';
import { joinByTime, joinByValue } from './time-join.js';

const T0 = 1_700_000_000_000_000;

function access(i: number, endUs: number, totalMs: number, uhtMs: number): LogRecord {
  return {
    tsUs: endUs,
    durationMs: totalMs,
    requestId: `r${i}`,
    httpStatus: 200,
    httpPath: '/predict',
    httpMethod: 'POST',
    attributes: { upstream_header_ms: uhtMs },
    file: 'nginx.log',
    lineNo: i + 1,
    format: 'nginx-combined',
  } as unknown as LogRecord;
}

function appLine(endUs: number, inferenceMs: number): LogRecord {
  return {
    tsUs: endUs,
    requestId: null,
    attributes: { inference_ms: inferenceMs },
    file: 'app.jsonl',
    lineNo: 1,
    format: 'json',
  } as unknown as LogRecord;
}

const isApp = (r: LogRecord): boolean => r.attributes['inference_ms'] !== undefined;

function requests(n: number, skewUs: number, jitter: (i: number) => number) {
  const reqs: JoinedRequest[] = [];
  const app: LogRecord[] = [];
  for (let i = 0; i < n; i++) {
    const start = T0 + i * 137_000 + (i % 7) * 9_000; // irregular arrivals
    const inf = 20 + (i % 5) * 30;
    const uht = inf + 3;
    const end = start + (uht + 2) * 1000;
    const a = access(i, end, uht + 2, uht);
    reqs.push({ requestId: null, hops: [], access: a, logs: [] });
    // the app logs when inference ends, ≈1 ms before the proxy has the answer, in its own clock
    app.push(appLine(start + (uht - 1) * 1000 - skewUs + jitter(i), inf));
  }
  return { reqs, app };
}

test('app lines without ids join their requests by time, across a clock offset', () => {
  const { reqs, app } = requests(60, 350_000, () => 0);
  const res = joinByTime(reqs, app, isApp, (r) => r.file);
  assert.equal(res.joined, 60);
  assert.equal(res.offsets.get('app.jsonl'), 351);
  for (let i = 0; i < 60; i++) {
    const got = reqs[i]!.logs[0]!;
    assert.equal(got, app[i], `request ${i} got its own line`);
  }
});

test('app lines of other requests (times that do not line up): nothing is joined', () => {
  const { reqs } = requests(60, 0, () => 0);
  const other: LogRecord[] = [];
  for (let i = 0; i < 60; i++) other.push(appLine(T0 + ((i * 7919) % 8000) * 1013, 30));
  const res = joinByTime(reqs, other, isApp, (r) => r.file);
  assert.equal(res.joined, 0);
  assert.equal(res.offsets.get('app.jsonl'), null);
  assert.ok(reqs.every((j) => j.logs.length === 0));
});

test('whole-second timestamps are not paired by time', () => {
  const { reqs, app } = requests(20, 0, () => 0);
  for (const r of app) r.tsUs = Math.floor(r.tsUs! / 1e6) * 1e6;
  assert.equal(joinByTime(reqs, app, isApp, (r) => r.file).joined, 0);
});

for (const [key, A, B] of [
  ['upstream_addr', '10.0.2.1:8000', '10.0.2.2:8000'], // nginx: the address
  ['upstream', 'be_a/srv1', 'be_b/srv1'], // HAProxy: backend/server
] as const)
  test(`one app source is one upstream (${key}): a line does not take another server's request`, () => {
    const reqs: JoinedRequest[] = [];
    const lines: LogRecord[] = [];
    for (let i = 0; i < 12; i++) {
      const t = T0 + i * 500_000;
      // server A's request answered at t, B's at t + 2.2 ms; every fourth A line is 1.8 ms late,
      // nearer B's answer than its own
      const a = access(2 * i, t + 10_000, 10, 0);
      a.attributes[key] = A;
      const b = access(2 * i + 1, t + 12_200, 10, 0);
      b.attributes[key] = B;
      reqs.push(
        { requestId: null, hops: [], access: a, logs: [] },
        { requestId: null, hops: [], access: b, logs: [] },
      );
      const la = appLine(t + (i % 4 === 0 ? 1_800 : 0), 8);
      la.file = 'a.jsonl';
      const lb = appLine(t + 2_200, 8);
      lb.file = 'b.jsonl';
      lines.push(la, lb);
    }
    const res = joinByTime(reqs, lines, isApp, (r) => r.file);
    assert.ok(res.joined > 0);
    for (const j of reqs) {
      const ua = j.access!.attributes[key];
      for (const l of j.logs)
        assert.equal(l.file, ua === A ? 'a.jsonl' : 'b.jsonl', 'joined to its server');
    }
  });

test('whole-second access times: app lines join the request whose window holds them and whose upstream time fits', () => {
  const S = T0; // a whole second
  const whole = (id: number, endUs: number, totalMs: number, upMs: number): LogRecord => {
    const a = access(id, Math.floor(endUs / 1e6) * 1e6, totalMs, 0); // $time_local: whole seconds
    a.attributes = { upstream_response_ms: upMs, upstream_addr: '10.0.2.20:8000' };
    return a;
  };
  // three requests to one server ending within the same second, and one in the next
  const reqs = [
    whole(0, S + 200_000, 61, 60), // inference 55
    whole(1, S + 500_000, 352, 350), // inference 340
    whole(2, S + 800_000, 130, 128), // inference 120
    whole(3, S + 1_300_000, 90, 88), // inference 80
  ];
  const lines = [
    appLine(S + 198_000, 55),
    appLine(S + 497_000, 340),
    appLine(S + 797_000, 120),
    appLine(S + 1_297_000, 80),
  ];
  const joined: JoinedRequest[] = reqs.map((a) => ({
    requestId: a.requestId,
    hops: [],
    access: a,
    logs: [],
  }));
  const inf = (r: LogRecord): number | null => r.attributes['inference_ms'] as number;
  assert.equal(joinByTime(joined, lines, isApp, (r) => r.file).joined, 0, 'no time join');
  assert.equal(
    joinByValue(joined, lines, isApp, inf, (r) => r.file),
    4,
  );
  assert.deepEqual(
    joined.map((j) => [j.requestId, j.logs[0]!.attributes['inference_ms']]),
    [
      ['r0', 55],
      ['r1', 340],
      ['r2', 120],
      ['r3', 80],
    ],
  );
});

test("a relay in front of a server is that server's address too: its lines join the relayed requests", () => {
  // whole-second access times; nginx sends to A (10.0.2.20:8000) directly, to a relay R
  // (10.0.3.30:8002) that forwards to A after 200 ms, and to B (10.0.2.21:8001). a.jsonl is A's
  // log (direct and relayed requests), b.jsonl B's.
  const S = T0;
  const reqs: JoinedRequest[] = [];
  const lines: LogRecord[] = [];
  const plan: ['A' | 'R' | 'B', number][] = [];
  for (let i = 0; i < 24; i++)
    plan.push([i % 4 === 1 ? 'R' : i % 4 === 3 ? 'B' : 'A', 30 + ((i * 37) % 90)]);
  const addr = { A: '10.0.2.20:8000', R: '10.0.3.30:8002', B: '10.0.2.21:8001' };
  plan.forEach(([to, inf], i) => {
    const start = S + i * 450_000;
    const up = inf + 3 + (to === 'R' ? 200 : 0);
    const end = start + (up + 2) * 1000;
    const a = access(i, Math.floor(end / 1e6) * 1e6, up + 2, 0);
    a.attributes = { upstream_response_ms: up, upstream_addr: addr[to] };
    reqs.push({ requestId: a.requestId, hops: [], access: a, logs: [] });
    const l = appLine(start + (up - 1) * 1000, inf);
    l.file = to === 'B' ? 'b.jsonl' : 'a.jsonl';
    l.lineNo = i;
    lines.push(l);
  });
  const inf = (r: LogRecord): number | null => r.attributes['inference_ms'] as number;
  joinByValue(reqs, lines, isApp, inf, (r) => r.file);
  reqs.forEach((j, i) => {
    const to = plan[i]![0];
    assert.equal(j.logs.length, 1, `request ${i} (${to}) joined`);
    assert.equal(j.logs[0]!.file, to === 'B' ? 'b.jsonl' : 'a.jsonl', `request ${i} (${to})`);
  });
});

test('a proxy that logs no upstream (Apache: whole-second start + %D): app lines join by route, inside start + duration + 1 s', () => {
  // Apache's %t is the whole second the request started in; %D its duration. Two servers: a.jsonl
  // answers /predict, b.jsonl /batch/predict; nothing else tells their requests apart.
  const S = T0;
  const reqs: JoinedRequest[] = [];
  const lines: LogRecord[] = [];
  for (let i = 0; i < 16; i++) {
    const batch = i % 2 === 1;
    const start = S + 300_000 + i * 260_000;
    const inf = 40 + ((i * 53) % 200);
    const total = inf + 6;
    const a = access(i, Math.floor(start / 1e6) * 1e6, total, 0);
    a.httpPath = batch ? '/batch/predict' : '/predict';
    a.attributes = { request_time_us: total * 1000, 'log.time_is_start': true };
    reqs.push({ requestId: a.requestId, hops: [], access: a, logs: [] });
    const l = appLine(start + (total - 2) * 1000, inf);
    l.file = batch ? 'b.jsonl' : 'a.jsonl';
    l.lineNo = i;
    lines.push(l);
  }
  const inf = (r: LogRecord): number | null => r.attributes['inference_ms'] as number;
  assert.equal(joinByTime(reqs, lines, isApp, (r) => r.file).joined, 0, 'no time join');
  assert.equal(
    joinByValue(reqs, lines, isApp, inf, (r) => r.file),
    16,
  );
  reqs.forEach((j, i) => {
    assert.equal(j.logs.length, 1, `request ${i} joined`);
    assert.equal(j.logs[0]!.lineNo, i, `request ${i}`);
  });
});
