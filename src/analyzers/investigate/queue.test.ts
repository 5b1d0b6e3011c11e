import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Exchange, LogRecord } from '../../model/records.js';
import { estimateQueueing } from './queue.js';
import { busyTimelines, busyWithin, serverKeyOf } from './busy.js';

/** Only the fields the estimator reads. */
function ex(arriveMs: number, answerMs: number): Exchange {
  return { reqLastUs: arriveMs * 1000, respFirstUs: answerMs * 1000 } as Exchange;
}

test('a blocking server (one at a time): the wait behind earlier requests is queueing', () => {
  // each request takes 100 ms of work; arrivals every 50 ms queue up behind each other
  const xs: Exchange[] = [];
  let free = 0;
  for (let i = 0; i < 10; i++) {
    const a = i * 50;
    const start = Math.max(a, free);
    free = start + 100;
    xs.push(ex(a, free));
  }
  const q = estimateQueueing(xs)!;
  assert.equal(q.capacity, 1);
  assert.equal(q.waitUs.get(xs[0]!), 0);
  assert.equal(q.waitUs.get(xs[1]!), 50_000, 'second waits for the first to finish');
  assert.equal(q.waitUs.get(xs[9]!), 450_000);
});

/** A blocking worker: bursts of 6 requests served one at a time in `order` (not arrival order). */
function blockingBursts(order: readonly number[]): { xs: Exchange[]; starts: number[] } {
  const xs: Exchange[] = [];
  const starts: number[] = [];
  for (let round = 0; round < 4; round++) {
    const t = round * 3000;
    // one request alone first (the worker idle): its processing time is the usual one
    xs.push(ex(t, t + 200));
    starts.push(t);
    const arrive = [0, 1, 2, 3, 4, 5].map((i) => t + 500 + i);
    const answer: number[] = [];
    let free = t + 500;
    for (const i of order) {
      starts[xs.length + i] = Math.max(arrive[i]!, free);
      free = Math.max(arrive[i]!, free) + 180 + 10 * i;
      answer[i] = free;
    }
    for (let i = 0; i < 6; i++) xs.push(ex(arrive[i]!, answer[i]!));
  }
  return { xs, starts };
}

test('a blocking worker serving the connections it holds first (not arrival order): one slot, waits from the answers', () => {
  // HAProxy opens a new server connection per client connection; after a block the worker
  // serves the connections it already holds before new ones, so answers leave arrival order
  const { xs, starts } = blockingBursts([0, 3, 1, 5, 2, 4]);
  const q = estimateQueueing(xs)!;
  assert.equal(q.capacity, 1);
  for (let i = 0; i < xs.length; i++) {
    const want = starts[i]! * 1000 - xs[i]!.reqLastUs!;
    assert.equal(q.waitUs.get(xs[i]!), want, `request ${i} waits until the answer before its own`);
  }
  // the request served last in round 0 (arrived 5th, answered 6th) waited for five others
  assert.ok(q.waitUs.get(xs[5]!)! > 900_000);
});

test('a blocking worker mostly in arrival order: the one it took out of turn still waits only until the answer before it', () => {
  // one slot in arrival order fits (one contradiction in 40 is tolerated) but would say the
  // request served out of turn spent its whole time queued; answer order gives its real start
  const xs: Exchange[] = [];
  const starts: number[] = [];
  for (let round = 0; round < 8; round++) {
    const t = round * 3000;
    xs.push(ex(t, t + 200));
    starts.push(t);
    const order = round === 0 ? [0, 2, 1, 3] : [0, 1, 2, 3];
    const base = xs.length;
    const answer: number[] = [];
    let free = t + 500;
    for (const i of order) {
      starts[base + i] = Math.max(t + 500 + i, free);
      free = starts[base + i]! + 190 + 5 * i;
      answer[i] = free;
    }
    for (let i = 0; i < 4; i++) xs.push(ex(t + 500 + i, answer[i]!));
  }
  const q = estimateQueueing(xs)!;
  assert.equal(q.capacity, 1);
  for (let i = 0; i < xs.length; i++)
    assert.equal(q.waitUs.get(xs[i]!), starts[i]! * 1000 - xs[i]!.reqLastUs!, `request ${i}`);
});

test('an async server answering several at once out of arrival order: not one slot', () => {
  // the same bursts, but all six worked on at once: answers come close together, far less
  // apart than the 200 ms a request takes alone — one slot would leave them no time to work
  const xs: Exchange[] = [];
  for (let round = 0; round < 4; round++) {
    const t = round * 3000;
    xs.push(ex(t, t + 200));
    const done = [230, 200, 215, 260, 205, 240];
    for (let i = 0; i < 6; i++) xs.push(ex(t + 500 + i, t + 500 + done[i]!));
  }
  const q = estimateQueueing(xs)!;
  assert.ok(q.capacity >= 5, `capacity ${q.capacity}`);
  for (const x of xs) assert.equal(q.waitUs.get(x), 0);
});

test('an async server with long and short requests of one route: the long ones are not said to queue', () => {
  // a long request is overtaken by short ones that arrive after it and are answered first; one
  // slot in answer order would start the long one after the last short answer — but a single
  // worker does not sit idle while a request waits, and here it would have (the short ones
  // started at their arrival while the long one was already there)
  const xs: Exchange[] = [];
  for (let round = 0; round < 10; round++) {
    const t = round * 3000;
    xs.push(ex(t, t + 100), ex(t + 500, t + 600)); // alone: the route's usual time, 100 ms
    xs.push(ex(t + 1000, t + 1900)); // long, overtaken by
    xs.push(ex(t + 1200, t + 1300), ex(t + 1500, t + 1600));
  }
  const q = estimateQueueing(xs)!;
  assert.ok(q.capacity >= 2, `capacity ${q.capacity}`);
  for (const x of xs) assert.equal(q.waitUs.get(x), 0);
});

test('an async server answering out of order: no queueing invented', () => {
  // 4 requests at once, answered in reverse arrival order: one slot cannot explain it
  const xs: Exchange[] = [];
  for (let round = 0; round < 3; round++) {
    const t = round * 1000;
    for (let i = 0; i < 4; i++) xs.push(ex(t + i, t + 400 - i * 50));
  }
  const q = estimateQueueing(xs)!;
  assert.equal(q.capacity, 4);
  for (const x of xs) assert.equal(q.waitUs.get(x), 0);
});

test('an async server answering in arrival order: one slot would leave too little processing', () => {
  // 3 requests at once, each takes its usual 300 ms concurrently, answered in order
  const xs: Exchange[] = [];
  for (let round = 0; round < 6; round++) {
    const t = round * 1000;
    xs.push(ex(t, t + 300), ex(t + 10, t + 310), ex(t + 20, t + 320));
  }
  const q = estimateQueueing(xs)!;
  assert.equal(q.capacity, 3);
  for (const x of xs) assert.equal(q.waitUs.get(x), 0);
});

test('two workers: the third concurrent request waits for the first free worker', () => {
  const xs: Exchange[] = [];
  for (let round = 0; round < 5; round++) {
    const t = round * 1000;
    xs.push(ex(t, t + 200), ex(t + 1, t + 300), ex(t + 2, t + 350));
  }
  const q = estimateQueueing(xs)!;
  assert.equal(q.capacity, 2);
  assert.equal(q.waitUs.get(xs[2]!), 198_000, 'starts when the first answer goes out');
  assert.equal(estimateQueueing(xs.slice(0, 5)), null, 'too few requests to say');
});

function inf(file: string, endMs: number, ms: number): LogRecord {
  return {
    tsUs: endMs * 1000,
    file,
    host: null,
    attributes: { inference_ms: ms },
  } as unknown as LogRecord;
}

test('busy timelines: capacity from overlapping inferences, saturated intervals only', () => {
  const logs = [
    // a serial server: 5 inferences back to back from 0 to 500 ms, then idle
    ...[100, 200, 300, 400, 500].map((e) => inf('a.log', e, 100)),
    // a server running up to 2 at once: saturated 150–200 ms only
    inf('b.log', 200, 100),
    inf('b.log', 250, 100),
    inf('b.log', 400, 100),
    inf('b.log', 600, 100),
    inf('b.log', 800, 100),
  ];
  const tl = busyTimelines(logs, (r) => r.attributes['inference_ms'] as number);
  const a = tl.get(serverKeyOf(logs[0]!))!;
  assert.equal(a.capacity, 1);
  assert.equal(busyWithin(a, 0, 500_000), 500_000, 'back-to-back work is one busy interval');
  assert.equal(busyWithin(a, 450_000, 700_000), 50_000);
  const b = tl.get(serverKeyOf(logs[5]!))!;
  assert.equal(b.capacity, 2);
  assert.equal(busyWithin(b, 0, 1_000_000), 50_000);
  assert.equal(busyWithin(b, 160_000, 170_000), 10_000);
  const few = busyTimelines([inf('c.log', 100, 50)], () => 50);
  assert.equal(few.size, 0, 'too few lines to know a capacity');
});

test('thousands in flight at once (long streams): no slots modelled, no queueing', () => {
  const xs: Exchange[] = [];
  // 5000 requests arriving 1 ms apart, each answered after 60 s: ≈5000 unanswered at a time
  for (let i = 0; i < 5000; i++) xs.push(ex(i, i + 60_000));
  const q = estimateQueueing(xs)!;
  assert.ok(q.capacity > 64, 'answered without simulating thousands of slots');
  assert.ok([...q.waitUs.values()].every((w) => w === 0));
});
