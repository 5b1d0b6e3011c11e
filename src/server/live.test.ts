import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLogText } from '../decoders/logs/index.js';
import { parseRuleFile } from '../analyzers/alerts/rules.js';
import { AlertEvaluator } from '../analyzers/alerts/engine.js';
import { LiveLogs, selectorLabels } from './live.js';
import { Registry } from './prometheus.js';

const RULES = `groups:
  - name: g
    rules:
      - alert: ModelErrors
        expr: sum by (model) (count_over_time({job="inference", level="error"} [1m])) > 2
        labels: { severity: page }
        annotations: { summary: "{{ $labels.model }}: {{ $value }} errors" }
`;

function setup(maxLabels = 100): {
  live: LiveLogs;
  reg: Registry;
  calls: { url: string; body: unknown }[];
  ev: AlertEvaluator;
} {
  const parsed = parseRuleFile(RULES, 'rules.yaml');
  const ev = new AlertEvaluator(parsed.groups, 15_000, parsed.problems);
  assert.deepEqual(ev.problems, []);
  const reg = new Registry(maxLabels);
  const calls: { url: string; body: unknown }[] = [];
  const fakeFetch = ((url: string, init: { body: string }) => {
    calls.push({ url, body: JSON.parse(init.body) });
    return Promise.resolve(new Response('', { status: 200 }));
  }) as unknown as typeof fetch;
  const live = new LiveLogs({
    registry: reg,
    evaluator: ev,
    alertmanagers: ['http://am.invalid:9093'],
    webhooks: ['http://hook.invalid/x'],
    fetch: fakeFetch,
  });
  return { live, reg, calls, ev };
}

const T0 = Date.UTC(2026, 4, 1, 12, 0, 0);
const logLines = (n: number, level: string, model: string, t: number): string =>
  Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      ts: new Date(t + i * 100).toISOString(),
      service: 'inference',
      level,
      model,
      msg: 'predict',
      duration_ms: 40 + i,
      path: '/v1/predict',
    }),
  ).join('\n');

test('live: rules fire and resolve, Alertmanager gets firing alerts every tick, webhooks transitions', async () => {
  const { live, reg, calls, ev } = setup();
  assert.deepEqual(selectorLabels(ev), ['job', 'level']);
  live.push(parseLogText(logLines(5, 'error', 'llama', T0 + 1000)).records);
  live.push(parseLogText(logLines(1, 'error', 'mistral', T0 + 1000)).records);
  let tr = live.tick(T0 + 15_000);
  assert.deepEqual(
    tr.map((t) => [t.kind, t.alert.labels['model']]),
    [['firing', 'llama']],
  );
  await live.stop();
  const am = calls.filter((c) => c.url.endsWith('/api/v2/alerts'));
  const hook = calls.filter((c) => c.url === 'http://hook.invalid/x');
  assert.equal(am.length, 1);
  assert.equal(hook.length, 1);
  const sent = (
    am[0]!.body as { labels: Record<string, string>; annotations: Record<string, string> }[]
  )[0]!;
  assert.equal(sent.labels['alertname'], 'ModelErrors');
  assert.equal(sent.labels['severity'], 'page');
  assert.equal(sent.annotations['summary'], 'llama: 5 errors');
  // still firing: Alertmanager again, the webhook not
  tr = live.tick(T0 + 30_000);
  assert.equal(tr.length, 0);
  await live.stop();
  assert.equal(calls.filter((c) => c.url.endsWith('/api/v2/alerts')).length, 2);
  assert.equal(calls.filter((c) => c.url === 'http://hook.invalid/x').length, 1);
  const text = reg.render() + live.renderAlerts();
  assert.match(
    text,
    /ALERTS\{alertstate="firing",alertname="ModelErrors",model="llama",severity="page"\} 1/,
  );
  assert.match(text, /mlscope_log_records_total\{service="inference",level="error"\} 6/);
  assert.match(
    text,
    /mlscope_log_duration_ms_bucket\{service="inference",path="\/v1\/predict",le="50"\} 6/,
  );
  assert.match(text, /mlscope_log_rule_records_total\{job="inference",level="error"\} 6/);
  assert.match(text, /mlscope_alert_notifications_total\{receiver="alertmanager",result="ok"\} 2/);
  // the window passes: resolved, sent to both
  tr = live.tick(T0 + 90_000);
  assert.deepEqual(
    tr.map((t) => t.kind),
    ['resolved'],
  );
  await live.stop();
  const last = calls.at(-1)!.body as { status: string };
  assert.equal(last.status, 'resolved');
  assert.equal(live.renderAlerts().includes('ALERTS{'), false);
});

test('live: records without a timestamp count at arrival; label values are bounded', async () => {
  const { live, reg } = setup(3);
  const plain = parseLogText('no time here\nnor here\n').records;
  assert.equal(plain[0]!.tsUs, null);
  live.push(plain);
  for (let i = 0; i < 10; i++)
    live.push(
      parseLogText(
        JSON.stringify({ ts: new Date(T0).toISOString(), level: 'info', service: `svc${i}` }),
      ).records,
    );
  const text = reg.render();
  assert.match(text, /mlscope_alert_records_total 12/);
  const services = new Set(
    [...text.matchAll(/mlscope_log_records_total\{service="([^"]*)"/g)].map((m) => m[1]),
  );
  assert.ok(services.size <= 4, [...services].join(','));
  assert.ok(services.has('other'));
  await live.stop();
});
