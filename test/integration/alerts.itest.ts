// Starts a real Alertmanager (Debian prometheus-alertmanager) on 127.0.0.1 with its own port,
// config and data dir, posts an alert with our v2 client and reads it back from /api/v2/alerts.
// Also backtests the example rule file over the example bundle: it must fire on exactly the
// faulty runs of examples/pipeline/truth/truth.json. Skips when the binary is missing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import {
  sendToAlertmanager,
  sendWebhook,
  toPostableAlert,
} from '../../src/analyzers/alerts/notify.js';
import { alertsCommand } from '../../src/cli/commands/alerts.js';
import { freePort, sleep } from './helpers/serve-harness.js';

const AM = '/usr/bin/prometheus-alertmanager';

test(
  'an alert posted by our client shows up in a real Alertmanager',
  {
    skip: existsSync(AM) ? false : `${AM} missing (apt-get install -y prometheus-alertmanager)`,
    timeout: 60_000,
  },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlscope-am-'));
    const port = await freePort();
    writeFileSync(
      join(dir, 'am.yml'),
      'route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n',
    );
    const child = spawn(
      AM,
      [
        `--config.file=${join(dir, 'am.yml')}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const base = `http://127.0.0.1:${port}`;
    try {
      let up = false;
      for (let i = 0; i < 100 && !up; i++) {
        try {
          up = (await fetch(`${base}/-/ready`)).ok;
        } catch {
          await sleep(100);
        }
      }
      assert.ok(up, `alertmanager did not start: ${stderr.slice(-500)}`);
      const now = Date.now();
      const alert = toPostableAlert(
        {
          alert: 'PipelineStageHung',
          group: 'g',
          labels: {
            alertname: 'PipelineStageHung',
            run_id: 'nightly-011',
            stage: 'evaluate',
            severity: 'page',
          },
          annotations: { summary: 'stage evaluate of run nightly-011 started but never finished' },
          state: 'firing',
          activeAtMs: now - 60_000,
          firingAtMs: now - 30_000,
          value: 1,
          maxValue: 1,
        },
        { nowMs: now, stepMs: 60_000, generatorURL: 'http://mlscope.local/alerts' },
      );
      const res = await sendToAlertmanager(base, [alert]);
      assert.deepEqual(res, { ok: true, status: 200, error: null });
      type Listed = {
        labels: Record<string, string>;
        annotations: Record<string, string>;
        status: { state: string };
      };
      let found: Listed | undefined;
      for (let i = 0; i < 50 && !found; i++) {
        const list = (await (await fetch(`${base}/api/v2/alerts`)).json()) as Listed[];
        found = list.find((a) => a.labels['run_id'] === 'nightly-011');
        if (!found) await sleep(100);
      }
      assert.ok(found, 'alert not listed by /api/v2/alerts');
      assert.equal(found.labels['alertname'], 'PipelineStageHung');
      assert.equal(found.annotations['summary'], alert.annotations['summary']);
      assert.equal(found.status.state, 'active');
      // A malformed alert is refused with a reason, not thrown.
      const bad = await sendToAlertmanager(base, [
        { labels: {}, annotations: {}, startsAt: 'not a time' },
      ]);
      assert.equal(bad.ok, false);
      assert.ok(bad.status >= 400);
      // The webhook sender reaches a plain HTTP endpoint (Alertmanager's webhook payload).
      const got: unknown[] = [];
      const { createServer: createHttp } = await import('node:http');
      const srv = createHttp((req, resp) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          got.push(JSON.parse(body));
          resp.end('ok');
        });
      });
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
      const addr = srv.address();
      const wport = typeof addr === 'object' && addr ? addr.port : 0;
      const w = await sendWebhook(`http://127.0.0.1:${wport}/hook`, [alert]);
      await new Promise<void>((r) => srv.close(() => r()));
      assert.equal(w.ok, true);
      assert.equal((got[0] as { status: string; alerts: unknown[] }).status, 'firing');
    } finally {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null)
        process.kill(child.pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('example rules fire on exactly the faulty runs of the example bundle', async () => {
  const root = join(import.meta.dirname, '../../examples/pipeline');
  const truth = JSON.parse(readFileSync(join(root, 'truth/truth.json'), 'utf8')) as {
    runs: { runId: string; startMs: number; fault: string }[];
  };
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await alertsCommand.run(
    ['--rules', join(root, 'rules.yaml'), join(root, 'bundle/logs'), '--json'],
    {
      stdout,
      stderr: new PassThrough(),
      isTty: false,
    },
  );
  assert.equal(code, 0);
  const doc = JSON.parse(out) as {
    alerts: { alert: string; labels: Record<string, string>; activeAt: string; startsAt: string }[];
  };
  // Map each firing interval to the run whose hour it fell in (runs are one hour apart).
  const runOf = (iso: string): string => {
    const t = Date.parse(iso);
    const r = truth.runs.filter((x) => x.startMs <= t).pop();
    return r ? r.runId : '?';
  };
  const fired = new Set(doc.alerts.map((a) => a.labels['run_id'] ?? runOf(a.activeAt)));
  const faulty = new Set(truth.runs.filter((r) => r.fault !== 'none').map((r) => r.runId));
  assert.deepEqual([...fired].sort(), [...faulty].sort(), JSON.stringify(doc.alerts, null, 1));
});
