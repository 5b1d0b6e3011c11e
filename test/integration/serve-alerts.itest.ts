// `mlscope serve --rules` live: serve (a child process) tails a log file the test appends faulty
// lines to, evaluates a small rule file every second and sends to a real Alertmanager (Debian
// prometheus-alertmanager, started on loopback with its own config, data dir and port, stopped by
// PID) and to a plain webhook; the alert must show up in Alertmanager's /api/v2/alerts, and the
// webhook must get it firing. A missing binary is installed with apt-get when possible; in CI a
// binary still missing fails the test, elsewhere it skips.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ensureBinary,
  freePort,
  sleep,
  start,
  startServe,
  waitFor,
  type Proc,
} from './helpers/serve-harness.js';

const AM = '/usr/bin/prometheus-alertmanager';

const RULES = `groups:
  - name: inference
    rules:
      - alert: InferenceOutOfMemory
        expr: |
          sum by (model) (
            count_over_time({job="inference", level="error"} |= "out of memory" [30s])
          ) > 2
        for: 2s
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.model }}: {{ $value }} OOM errors in 30s"
      - alert: NeverFires
        expr: count_over_time({job="nothing-logs-this"} [30s]) > 0
`;

interface Listed {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: string };
  startsAt: string;
  generatorURL: string;
}

const skip = ensureBinary(AM, 'prometheus-alertmanager', 'serve-alerts');

test(
  'serve --rules: faulty lines appended to a tailed log raise an alert in a real Alertmanager and a webhook',
  { skip, timeout: 60_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlscope-serve-am-'));
    const log = join(dir, 'inference.log');
    const rules = join(dir, 'rules.yaml');
    writeFileSync(rules, RULES);
    writeFileSync(
      join(dir, 'am.yml'),
      'route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n',
    );
    const line = (level: string, msg: string, model: string): string =>
      JSON.stringify({ ts: new Date().toISOString(), level, service: 'inference', model, msg }) +
      '\n';
    writeFileSync(log, line('info', 'model loaded', 'llama-3-8b'));
    // the webhook receiver
    const hooks: {
      status: string;
      alerts: { status: string; labels: Record<string, string> }[];
    }[] = [];
    const hook = createHttpServer((req, res) => {
      let b = '';
      req.on('data', (c: Buffer) => (b += c.toString()));
      req.on('end', () => {
        hooks.push(JSON.parse(b) as (typeof hooks)[number]);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    const ha = hook.address();
    const hookPort = typeof ha === 'object' && ha ? ha.port : 0;
    const [amPort, apiPort, otlpPort] = [await freePort(), await freePort(), await freePort()];
    const am = start(AM, [
      `--config.file=${join(dir, 'am.yml')}`,
      `--storage.path=${join(dir, 'am-data')}`,
      `--web.listen-address=127.0.0.1:${amPort}`,
      '--cluster.listen-address=',
    ]);
    let serve: Proc | null = null;
    const diag = (): string =>
      `--- serve:\n${serve?.output() ?? ''}\n--- alertmanager:\n${am.output()}`;
    const amBase = `http://127.0.0.1:${amPort}`;
    try {
      await waitFor(
        'alertmanager ready',
        async () => ((await fetch(`${amBase}/-/ready`)).ok ? true : null),
        20_000,
        diag,
      );
      serve = startServe([
        log,
        '--port',
        String(apiPort),
        '--otlp-port',
        String(otlpPort),
        '--rules',
        rules,
        '--eval-interval',
        '1s',
        '--alertmanager',
        amBase,
        '--webhook',
        `http://127.0.0.1:${hookPort}/hook`,
      ]);
      const api = `http://127.0.0.1:${apiPort}`;
      await waitFor(
        'serve ready',
        async () => ((await fetch(`${api}/healthz`)).ok ? true : null),
        20_000,
        diag,
      );
      // healthy traffic, one stray error of another kind, then the OOM burst on one model
      for (let i = 0; i < 5; i++)
        appendFileSync(log, line('info', `predict ok ${i}`, 'llama-3-8b'));
      appendFileSync(log, line('error', 'upstream timeout', 'llama-3-8b'));
      appendFileSync(log, line('error', 'CUDA out of memory', 'mistral-7b'));
      await sleep(1500);
      let listed = (await (await fetch(`${amBase}/api/v2/alerts`)).json()) as Listed[];
      assert.equal(listed.length, 0, 'nothing fires on healthy traffic');
      for (let i = 0; i < 4; i++)
        appendFileSync(
          log,
          line('error', `CUDA out of memory; tried to allocate ${i + 1} GiB`, 'llama-3-8b'),
        );

      const found = await waitFor(
        'the alert in Alertmanager',
        async () => {
          listed = (await (await fetch(`${amBase}/api/v2/alerts`)).json()) as Listed[];
          return listed.find((a) => a.labels['alertname'] === 'InferenceOutOfMemory') ?? null;
        },
        30_000,
        diag,
      );
      assert.deepEqual(found.labels, {
        alertname: 'InferenceOutOfMemory',
        model: 'llama-3-8b',
        severity: 'page',
      });
      assert.equal(found.status.state, 'active');
      assert.equal(found.annotations['summary'], 'llama-3-8b: 4 OOM errors in 30s');
      assert.match(found.generatorURL, new RegExp(`:${apiPort}/metrics$`));
      assert.equal(listed.length, 1, JSON.stringify(listed));
      // the webhook got the transition, once
      await waitFor(
        'the webhook',
        () => Promise.resolve(hooks.length > 0 ? true : null),
        10_000,
        diag,
      );
      assert.equal(hooks[0]!.status, 'firing');
      assert.equal(hooks[0]!.alerts[0]!.labels['model'], 'llama-3-8b');
      // live state on /metrics
      const metrics = await (await fetch(`${api}/metrics`)).text();
      assert.match(
        metrics,
        /ALERTS\{alertstate="firing",alertname="InferenceOutOfMemory",model="llama-3-8b",severity="page"\} 1/,
      );
      assert.match(
        metrics,
        /mlscope_alert_notifications_total\{receiver="alertmanager",result="ok"\} \d+/,
      );
      assert.match(metrics, /mlscope_log_rule_records_total\{job="inference",level="error"\} 6/);
      assert.equal(hooks.filter((h) => h.status === 'firing').length, 1);
    } finally {
      await serve?.stop();
      await am.stop();
      await new Promise<void>((r) => hook.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
