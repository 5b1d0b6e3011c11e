// Expression parser and rule files: valid LogQL-style expressions parse; bad ones report the
// right offset; rule-file problems carry the YAML line and column (through block scalars too).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseExpr } from './parser.js';
import { parseRuleFile } from './rules.js';
import { parseDurationMs } from './duration.js';

test('valid expressions parse', () => {
  const ok = [
    'count_over_time({job="trainer"}[5m])',
    'sum by (run_id) (count_over_time({job="trainer"} |= "error" != "debug" |~ `(?i)oom` !~ "x+" [10m])) > 0',
    'rate({job="api", level=~"error|fatal"} | json | status >= 500 [1m]) * 60',
    'quantile_over_time(0.99, {job="api"} | logfmt | unwrap duration_ms | __error__="" [5m]) by (path) > 500',
    'avg_over_time({job="x"} | unwrap duration(latency) [5m]) without (host)',
    'max by (stage) (max_over_time({job="t"} | event="stage_completed" | unwrap duration_ms [10m]))',
    'zscore_robust(sum(rate({job="x"}[5m])), 1h) > 3',
    'zscore_robust(sum(rate({job="x"}[5m])), 1h, 0.1) > 3',
    'abs(zscore_ewma(count_over_time({job="x"}[1m]), 0.2)) > 4',
    'count_over_time({job="x"}[1m]) > ewma_upper(count_over_time({job="x"}[1m]), 0.1, 3)',
    'sum(count_over_time({a="b"}[1m])) / sum(count_over_time({a="c"}[1m])) > 0.5 or vector(0) > bool 1',
    'count_over_time({a="b"}[1m]) unless on (run_id) count_over_time({a="c"}[1m])',
    'count_over_time({a="b"} | x > 1 and y="z" or w!="q" [1m])',
    'count_over_time(({a="b"} |= "x")[1m] offset 5m)',
    '-count_over_time({a="b"}[1m]) ^ 2 ^ 0.5 % 3',
    'absent_over_time({job="trainer"}[2h])',
    'topk(3, sum by (path) (rate({job="api"}[5m])))',
  ];
  for (const e of ok) {
    const r = parseExpr(e);
    assert.ok(r.ok, `${e}: ${r.ok ? '' : JSON.stringify(r.problem)}`);
  }
});

test('errors point at the offending character', () => {
  const cases: [string, number, RegExp][] = [
    ['count_over_time({job="x"} [5m]) >', 33, /expected an expression/],
    ['count_over_time({job="x" [5m])', 25, /expected ',' or '}'/],
    ['foo({job="x"}[5m])', 0, /unknown function/],
    ['count_over_time({job="x"}[5q])', 26, /bad number or duration/],
    ['count_over_time({job="x}[5m])', 21, /unterminated string/],
    ['sum_over_time({job="x"}[5m])', 0, /needs '\| unwrap/],
    ['count_over_time({job=~"("}[5m])', 22, /invalid regular expression/],
    ['count_over_time({job="x"} | line_format "{{.a}}" [5m])', 28, /not supported/],
    ['{job="x"}', 0, /inside a range aggregation/],
    ['rate({a="b"}[1m]) > 1 )', 22, /an operator or end/],
    ['zscore_ewma(rate({a="b"}[1m]), 2)', 31, /alpha must be in/],
  ];
  for (const [src, off, re] of cases) {
    const r = parseExpr(src);
    assert.equal(r.ok, false, src);
    if (!r.ok) {
      assert.match(r.problem.message, re, src);
      assert.equal(r.problem.offset, off, `${src}: ${r.problem.message}`);
    }
  }
});

test('random input never throws (time-boxed)', () => {
  const alphabet = fc.constantFrom(
    ...'{}[]()|=~!<>"`,.0123456789 abcmsuny_+-*/^%#\n'.split(''),
    'count_over_time',
    'sum',
    'by',
    'unwrap',
    '[5m]',
    '{a="b"}',
  );
  fc.assert(
    fc.property(fc.array(alphabet, { maxLength: 40 }), (parts) => {
      const r = parseExpr(parts.join(''));
      if (!r.ok) assert.ok(r.problem.offset >= 0 && r.problem.offset <= parts.join('').length);
    }),
    { numRuns: 3000, interruptAfterTimeLimit: 3000 },
  );
});

test('durations', () => {
  assert.equal(parseDurationMs('1h30m'), 5_400_000);
  assert.equal(parseDurationMs('250ms'), 250);
  assert.equal(parseDurationMs('5'), null);
});

test('rule file problems carry YAML line and column', () => {
  const y = [
    'groups:', //                                                      1
    '  - name: g', //                                                  2
    '    rules:', //                                                   3
    '      - alert: A', //                                             4
    '        expr: count_over_time({job="x"}[5m]) >', //               5
    '      - alert: B', //                                             6
    '        expr: |', //                                              7
    '          sum by (run_id) (', //                                  8
    '            count_over_time({job="x"} | foo ~ 3 [5m])', //        9
    '          )', //                                                 10
    '      - alert: C', //                                            11
    '        for: 5x', //                                             12
    '        expr: "vector(1) > 0"', //                               13
    '      - alert: D', //                                            14
    '        expr: rate({job="x"}[1m]) > 1', //                      15
    '        labels: { severity: page }', //                          16
    '        annotations:', //                                        17
    '          summary: "{{ $labels.job }} is {{ $value }}"', //     18
  ].join('\n');
  const r = parseRuleFile(y, 'r.yaml');
  assert.deepEqual(
    r.problems.map((p) => [p.line, p.col]),
    [
      [5, 47],
      [9, 45],
      [12, 14],
    ],
  );
  assert.match(r.problems[0]!.message, /alert 'A'/);
  assert.equal(r.groups[0]!.rules.length, 1);
  assert.equal(r.groups[0]!.rules[0]!.name, 'D');
  assert.deepEqual(r.groups[0]!.rules[0]!.labels, { severity: 'page' });
});

test('YAML syntax errors and shape errors have positions', () => {
  const bad = parseRuleFile('groups:\n  - name: g\n    rules: [\n', 'x.yaml');
  assert.ok(bad.problems.length > 0 && bad.problems[0]!.line >= 3);
  const shape = parseRuleFile(
    'groups:\n  - name: g\n    rules:\n      - record: x\n        expr: vector(1)\n',
    'x.yaml',
  );
  assert.equal(shape.problems[0]!.line, 4);
  assert.match(shape.problems[0]!.message, /recording rules/);
  const quoted = parseRuleFile(
    'groups:\n- name: g\n  rules:\n  - alert: Q\n    expr: \'rate({a="b"}[1m]) >> 1\'\n',
    'q.yaml',
  );
  assert.deepEqual([quoted.problems[0]!.line, quoted.problems[0]!.col], [5, 31]);
});
