import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Span } from '../../model/span.js';
import { buildTrace } from './tree.js';
import { criticalPath } from './critical-path.js';
import { analyzeTraces, selfTimeUs } from './summary.js';

function sp(
  id: string,
  parent: string | null,
  startUs: number,
  endUs: number,
  service = 'api',
): Span {
  return {
    traceId: 't'.padEnd(32, '0'),
    spanId: id.padStart(16, '0'),
    parentSpanId: parent === null ? null : parent.padStart(16, '0'),
    service,
    name: id,
    kind: 'internal',
    startUs,
    endUs,
    status: 'unset',
    statusMessage: null,
    attributes: {},
    events: [],
    links: [],
    resource: {},
    scope: null,
    format: 'test',
  };
}

function path(spans: Span[]): string[] {
  return criticalPath(buildTrace('t', spans)).map(
    (s) => `${s.name.replace(/^0+/, '')}:${s.startUs}-${s.endUs}`,
  );
}

test('critical path: sequential children', () => {
  // root 0..100, a 10..40, b 50..90
  assert.deepEqual(path([sp('r', null, 0, 100), sp('a', 'r', 10, 40), sp('b', 'r', 50, 90)]), [
    'r:0-10',
    'a:10-40',
    'r:40-50',
    'b:50-90',
    'r:90-100',
  ]);
});

test('critical path: overlapping siblings — the one ending last wins its stretch', () => {
  // a 10..60 and b 20..80 overlap; b ends last, then from b's start (20) a ends at 60 > 20: skipped.
  assert.deepEqual(path([sp('r', null, 0, 100), sp('a', 'r', 10, 60), sp('b', 'r', 20, 80)]), [
    'r:0-20',
    'b:20-80',
    'r:80-100',
  ]);
  // a 10..30 ends before b starts (40..80): both on the path.
  assert.deepEqual(path([sp('r', null, 0, 100), sp('a', 'r', 10, 30), sp('b', 'r', 40, 80)]), [
    'r:0-10',
    'a:10-30',
    'r:30-40',
    'b:40-80',
    'r:80-100',
  ]);
});

test('critical path: async child outliving its parent is clamped to the parent end', () => {
  // root 0..100 fires async child 50..300 and returns; the path ends at the root's end.
  assert.deepEqual(path([sp('r', null, 0, 100), sp('a', 'r', 50, 300)]), ['r:0-50', 'a:50-100']);
});

test('critical path: nested descent bounded by where the child ended', () => {
  // r 0..100 → a 10..90 → g 20..95 (outlives a): g clamped to 90
  assert.deepEqual(path([sp('r', null, 0, 100), sp('a', 'r', 10, 90), sp('g', 'a', 20, 95)]), [
    'r:0-10',
    'a:10-20',
    'g:20-90',
    'r:90-100',
  ]);
});

test('critical path: child starting before its parent (skew) is clamped to the parent start', () => {
  assert.deepEqual(path([sp('r', null, 100, 200), sp('a', 'r', 50, 150)]), [
    'a:100-150',
    'r:150-200',
  ]);
});

test('critical path: parent cycles do not hang', () => {
  const spans = [sp('a', 'b', 0, 10), sp('b', 'a', 0, 10)];
  assert.ok(path(spans).length >= 1);
});

test('self time: union of overlapping children', () => {
  const t = buildTrace('t', [
    sp('r', null, 0, 100),
    sp('a', 'r', 10, 60),
    sp('b', 'r', 40, 80),
    sp('c', 'r', 90, 200),
  ]);
  assert.equal(selfTimeUs(t.roots[0]!), 100 - 70 - 10);
});

test('service map: RED per edge between services', () => {
  const spans = [
    sp('r', null, 0, 100, 'gateway'),
    sp('a', 'r', 10, 60, 'model'),
    { ...sp('b', 'r', 60, 90, 'model'), status: 'error' as const },
    sp('c', 'a', 20, 30, 'model'),
  ];
  const rep = analyzeTraces(spans);
  const e = rep.serviceMap.find((x) => x.from === 'gateway' && x.to === 'model')!;
  assert.equal(e.requests, 2);
  assert.equal(e.errors, 1);
  assert.equal(rep.serviceMap.find((x) => x.from === null)!.to, 'gateway');
  assert.equal(rep.traces, 1);
  assert.equal(rep.errorTraces, 1);
});
