// A real Prometheus (Debian package `prometheus`) scrapes `mlscope serve`'s /metrics on loopback:
// serve runs as a child process tailing a log file; the test sends OTLP server spans with
// http.route attributes and appends log lines; Prometheus' query API must return mlscope's
// request-latency histogram and the log-derived counters. Prometheus runs with its own config,
// data dir and port, and is stopped by PID. A missing binary is installed with apt-get when
// possible; in CI a binary still missing fails the test, elsewhere it skips.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  ensureBinary,
  freePort,
  start,
  startServe,
  waitFor,
  type Proc,
} from './helpers/serve-harness.js';

const PROMETHEUS = '/usr/bin/prometheus';

const hex = (n: number): string => randomBytes(n).toString('hex');

function otlpSpans(n: number, route: string, status: number): unknown {
  const now = BigInt(Date.now()) * 1_000_000n;
  return {
    resourceSpans: [
      {
        resource: {
          attributes: [{ key: 'service.name', value: { stringValue: 'itest-model-api' } }],
        },
        scopeSpans: [
          {
            scope: { name: 'itest' },
            spans: Array.from({ length: n }, (_, i) => {
              const durNs = BigInt(20 + i * 37) * 1_000_000n; // 20 ms … spread over buckets
              return {
                traceId: hex(16),
                spanId: hex(8),
                name: `POST ${route}`,
                kind: 2, // SERVER
                startTimeUnixNano: String(now - durNs),
                endTimeUnixNano: String(now),
                attributes: [
                  { key: 'http.route', value: { stringValue: route } },
                  { key: 'http.request.method', value: { stringValue: 'POST' } },
                  { key: 'http.response.status_code', value: { intValue: String(status) } },
                ],
                status: {},
              };
            }),
          },
        ],
      },
    ],
  };
}

interface PromResult {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(base: string, q: string): Promise<PromResult[]> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}`);
  const doc = (await res.json()) as { status: string; data: { result: PromResult[] } };
  assert.equal(doc.status, 'success');
  return doc.data.result;
}

const skip = ensureBinary(PROMETHEUS, 'prometheus', 'prometheus');

test(
  'a real Prometheus scrapes serve: latency histogram from OTLP spans, counters from tailed logs',
  { skip, timeout: 60_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlscope-prom-'));
    const log = join(dir, 'inference.log');
    const line = (level: string, msg: string, ms: number): string =>
      JSON.stringify({
        ts: new Date().toISOString(),
        level,
        service: 'inference',
        msg,
        path: '/v1/predict',
        duration_ms: ms,
      }) + '\n';
    writeFileSync(log, line('info', 'warmup done', 5));
    const [apiPort, otlpPort, promPort] = [await freePort(), await freePort(), await freePort()];
    const serve = startServe([log, '--port', String(apiPort), '--otlp-port', String(otlpPort)]);
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: mlscope',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${apiPort}']`,
        '',
      ].join('\n'),
    );
    let prom: Proc | null = null;
    const diag = (): string =>
      `--- serve:\n${serve.output()}\n--- prometheus:\n${prom?.output() ?? ''}`;
    try {
      const api = `http://127.0.0.1:${apiPort}`;
      await waitFor(
        'serve ready',
        async () => ((await fetch(`${api}/healthz`)).ok ? true : null),
        20_000,
        diag,
      );
      prom = start(PROMETHEUS, [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--storage.tsdb.retention.time=1h',
      ]);
      const pbase = `http://127.0.0.1:${promPort}`;
      await waitFor(
        'prometheus ready',
        async () => ((await fetch(`${pbase}/-/ready`)).ok ? true : null),
        20_000,
        diag,
      );

      // traffic: 12 server spans on one route, 3 on another; log lines appended while tailing
      const post = async (body: unknown): Promise<void> => {
        const r = await fetch(`http://127.0.0.1:${otlpPort}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        assert.equal(r.status, 200, await r.text());
      };
      await post(otlpSpans(12, '/v1/predict', 200));
      await post(otlpSpans(3, '/v1/chat/completions', 500));
      for (let i = 0; i < 7; i++)
        appendFileSync(log, line('error', `CUDA out of memory ${i}`, 900 + i));
      for (let i = 0; i < 4; i++) appendFileSync(log, line('info', `predicted ${i}`, 40 + i));

      // the histogram, as Prometheus stored it
      const buckets = await waitFor(
        'latency histogram in Prometheus',
        async () => {
          const r = await query(
            pbase,
            'mlscope_observed_request_duration_seconds_bucket{job="mlscope",route="/v1/predict"}',
          );
          return r.length > 0 && r.some((s) => s.metric['le'] === '+Inf' && s.value[1] === '12')
            ? r
            : null;
        },
        30_000,
        diag,
      );
      assert.equal(buckets[0]!.metric['service'], 'itest-model-api');
      const les = new Set(buckets.map((b) => b.metric['le']));
      for (const le of ['0.005', '0.1', '0.5', '+Inf']) assert.ok(les.has(le), `bucket le=${le}`);
      const le01 = buckets.find((b) => b.metric['le'] === '0.1')!;
      assert.equal(le01.value[1], '3'); // 20, 57, 94 ms
      const q95 = await query(
        pbase,
        'histogram_quantile(0.95, sum by (le) (mlscope_observed_request_duration_seconds_bucket{route="/v1/predict"}))',
      );
      const p95 = Number(q95[0]!.value[1]);
      assert.ok(p95 > 0.25 && p95 <= 0.5, `p95 ${p95}`);
      const errs = await query(
        pbase,
        'mlscope_observed_requests_total{route="/v1/chat/completions",status="500"}',
      );
      assert.equal(errs[0]?.value[1], '3');

      // the log-derived counters (all 12 lines arrive, the last one after the idle flush)
      const logErrors = await waitFor(
        'log-derived counter in Prometheus',
        async () => {
          const r = await query(
            pbase,
            'mlscope_log_records_total{service="inference",level="error"}',
          );
          const info = await query(
            pbase,
            'mlscope_log_records_total{service="inference",level="info"}',
          );
          return r[0]?.value[1] === '7' && info[0]?.value[1] === '5' ? r : null;
        },
        30_000,
        diag,
      );
      assert.equal(logErrors[0]!.metric['job'], 'mlscope');
      const slow = await query(
        pbase,
        'sum(mlscope_log_duration_ms_bucket{service="inference",le="500"})',
      );
      assert.equal(slow[0]?.value[1], '5'); // the warm-up and 4 fast predictions
      const tailed = await query(pbase, 'mlscope_tail_lines_total');
      assert.equal(tailed[0]?.value[1], '12');
    } finally {
      await prom?.stop();
      await serve.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
