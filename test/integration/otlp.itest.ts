// The real OpenTelemetry JS SDK (@opentelemetry/sdk-node with the OTLP/HTTP JSON and protobuf
// trace exporters) sends a small service's spans to `serve` on loopback; the spans come back from
// GET /api/traces/{traceId}. Skips (outside CI) when the OTel packages are not installed; set
// MLSCOPE_OTEL_NODE_MODULES to a directory holding them to run without installing.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { openTelemetryStore } from '../../src/server/telemetry-store.js';
import { main } from '../../src/cli/main.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

const SERVICE = fileURLToPath(
  new URL('../fixtures/otlp/instrumented-service.mjs', import.meta.url),
);

function missingPackages(): string | false {
  const base = process.env['MLSCOPE_OTEL_NODE_MODULES']
    ? pathToFileURL(process.env['MLSCOPE_OTEL_NODE_MODULES'] + '/').href
    : import.meta.url;
  const req = createRequire(base);
  const missing = [
    '@opentelemetry/sdk-node',
    '@opentelemetry/api',
    '@opentelemetry/resources',
    '@opentelemetry/sdk-trace-base',
    '@opentelemetry/exporter-trace-otlp-http',
    '@opentelemetry/exporter-trace-otlp-proto',
  ].filter((p) => {
    try {
      req.resolve(p);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return false;
  const why = `missing ${missing.join(', ')}`;
  if (process.env['CI']) throw new Error(`otlp integration test cannot run in CI: ${why}`);
  return why;
}

const skip = missingPackages();
let srv: RunningServer;
const dir = mkdtempSync(join(tmpdir(), 'mlscope-otlp-itest-'));
const db = join(dir, 'live.duckdb');
/** Traces the tests saw (trace id → span count), checked in the store after shutdown. */
const seen = new Map<string, number>();

before(async () => {
  if (skip) return;
  srv = await startServer({
    store: await openTelemetryStore(db),
    port: 0,
    otlpPort: 0,
    flushMs: 20,
  });
});
after(async () => {
  if (skip) return rmSync(dir, { recursive: true, force: true });
  // Shutdown flushes everything acknowledged; `mlscope sql` on the file must return every span.
  await srv.close();
  try {
    for (const [traceId, n] of seen) {
      let out = '';
      const stdout = new Writable({ write: (c: Buffer, _e, cb) => ((out += c.toString()), cb()) });
      const stderr = new Writable({ write: (_c: Buffer, _e, cb) => cb() });
      const code = await main(
        [
          'sql',
          `SELECT count(*) AS n FROM spans WHERE trace_id = '${traceId}'`,
          '--db',
          db,
          '--json',
        ],
        { stdout, stderr, isTty: false },
      );
      assert.equal(code, 0);
      assert.deepEqual(
        (JSON.parse(out) as { rows: unknown[] }).rows,
        [{ n }],
        `spans of ${traceId} in the store after shutdown`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function runService(kind: 'http' | 'proto'): Promise<{ traceId: string; spans: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [SERVICE, kind, `http://127.0.0.1:${srv.otlpPort}/v1/traces`],
      { timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stderr}`));
        else
          resolve(
            JSON.parse(stdout.trim().split('\n').pop()!) as { traceId: string; spans: number },
          );
      },
    );
  });
}

interface ApiSpan {
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: string;
  status: string;
  service: string;
  attributes: Record<string, unknown>;
}

for (const kind of ['http', 'proto'] as const) {
  test(
    `otlp: real @opentelemetry/sdk-node + exporter-trace-otlp-${kind} → serve → /api/traces`,
    { skip },
    async () => {
      const { traceId, spans } = await runService(kind);
      assert.match(traceId, /^[0-9a-f]{32}$/);
      seen.set(traceId, spans);
      const res = await fetch(`http://127.0.0.1:${srv.port}/api/traces/${traceId}`);
      assert.equal(res.status, 200);
      const doc = (await res.json()) as { spans: ApiSpan[] };
      assert.equal(doc.spans.length, spans);
      const root = doc.spans.find((s) => s.parentSpanId === null)!;
      assert.equal(root.kind, 'server');
      assert.equal(root.service, `itest-${kind}`);
      assert.equal(root.attributes['http.route'], '/v1/chat/completions');
      assert.equal(root.attributes['http.response.status_code'], 500);
      const inf = doc.spans.find((s) => s.name === 'inference')!;
      assert.equal(inf.status, 'error');
      assert.equal(inf.parentSpanId, root.spanId);
      assert.equal(inf.attributes['gen_ai.usage.output_tokens'], 42);
      const metrics = await (await fetch(`http://127.0.0.1:${srv.port}/metrics`)).text();
      assert.match(
        metrics,
        new RegExp(
          `mlscope_observed_requests_total\\{service="itest-${kind}",route="/v1/chat/completions",status="500"\\} 1`,
        ),
      );
    },
  );
}
