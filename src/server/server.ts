// The live service behind `mlscope serve`: node:http on two ports — the API port (default 8686) and
// the OTLP/HTTP port (default 4318) — sharing one router:
//   POST /v1/traces | /v1/logs | /v1/metrics   OTLP/HTTP receiver (otlp-receiver.ts)
//   GET  /api/traces/{traceId}                 the trace's stored spans as JSON
//   GET  /metrics                              Prometheus text: ingest counters, queue/store state,
//                                              RED of the received server spans by route/status
//   GET  /healthz
// Bound to a non-loopback host a bearer token is required on every route (Authorization: Bearer).
// `close()` stops accepting, lets in-flight requests finish, stops live sources, then writes
// everything acknowledged and closes the store.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { Span } from '../model/span.js';
import type { LogRecord } from '../model/records.js';
import { Registry, type Counter, type Histogram } from './prometheus.js';
import {
  DEFAULT_MAX_BODY_BYTES,
  SIGNAL_BY_PATH,
  handleOtlp,
  type ReceiverHooks,
} from './otlp-receiver.js';
import { IngestQueue, type TelemetrySource, type TelemetryStore } from './telemetry-store.js';

export interface ServerOptions {
  store: TelemetryStore;
  host?: string;
  /** API port (0 = pick one). */
  port?: number;
  /** OTLP/HTTP port (0 = pick one; null = serve OTLP on the API port only). */
  otlpPort?: number | null;
  /** Required when `host` is not loopback. */
  token?: string | null;
  maxBodyBytes?: number;
  /** Distinct values per label name in /metrics before "other". */
  maxLabelValues?: number;
  flushMs?: number;
  maxPending?: number;
  sources?: TelemetrySource[];
  /** The /metrics registry (live sources register on it first); default: a new one. */
  registry?: Registry;
  /** More exposition text appended to /metrics (families rendered elsewhere). */
  extraMetrics?: () => string;
  /** Called with every batch of OTLP log records after it was queued. */
  onLogs?: (batch: LogRecord[]) => void;
  /** Where the server reports problems (write errors); cli/ passes stderr. */
  log?: (line: string) => void;
}

export interface RunningServer {
  host: string;
  port: number;
  otlpPort: number | null;
  queue: IngestQueue;
  /** Records acknowledged to clients (OTLP 200 responses), by signal. */
  acknowledged: { spans: number; logs: number; points: number };
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '::ffff:127.0.0.1']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\./.test(host);
}

const TRACE_ID_RE = /^[0-9a-f]{32}$/;

/**
 * RED of the observed service: fed by the server spans it exports to us (service = service.name)
 * and by the HTTP exchanges live capture sees (service = the server's address, capture-metrics.ts).
 */
export function observedFamilies(reg: Registry): { requests: Counter; duration: Histogram } {
  return {
    requests: reg.counter(
      'mlscope_observed_requests_total',
      'Requests seen as server spans or captured HTTP exchanges, by service, route and status.',
      ['service', 'route', 'status'],
    ),
    duration: reg.histogram(
      'mlscope_observed_request_duration_seconds',
      'Duration of server spans or captured exchanges (request first byte to response last byte), by service, route and status.',
      ['service', 'route', 'status'],
    ),
  };
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token ?? null;
  if (!isLoopback(host) && !token)
    throw new Error(`binding to ${host} needs a token (--token or MLSCOPE_TOKEN)`);
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const log = opts.log ?? (() => {});
  const queue = new IngestQueue(
    opts.store,
    opts.flushMs ?? 200,
    20_000,
    opts.maxPending ?? 500_000,
  );
  let writeErrorLogged = false;
  queue.onError = (err) => {
    if (!writeErrorLogged) log(`store write failed: ${(err as Error).message}`);
    writeErrorLogged = true;
  };
  const acknowledged = { spans: 0, logs: 0, points: 0 };

  const reg = opts.registry ?? new Registry(opts.maxLabelValues ?? 100);
  const received = reg.counter(
    'mlscope_otlp_received_total',
    'Records accepted by the OTLP receiver.',
    ['signal'],
  );
  const rejected = reg.counter(
    'mlscope_otlp_rejected_total',
    'Records rejected (partial success) or in malformed requests.',
    ['signal'],
  );
  const requests = reg.counter(
    'mlscope_otlp_requests_total',
    'OTLP export requests by signal, encoding and HTTP status.',
    ['signal', 'encoding', 'code'],
  );
  const httpDur = reg.histogram(
    'mlscope_http_request_duration_seconds',
    'Time to answer requests to this server.',
    ['route', 'code'],
  );
  const pending = reg.gauge(
    'mlscope_ingest_queue_records',
    'Records acknowledged and not yet written to the store.',
  );
  pending.set({}, () => queue.stats.pending);
  const stored = reg.gauge(
    'mlscope_store_records_written',
    'Records written to the store since start.',
    ['signal'],
  );
  stored.set({ signal: 'spans' }, () => queue.stats.stored.spans);
  stored.set({ signal: 'logs' }, () => queue.stats.stored.logs);
  stored.set({ signal: 'points' }, () => queue.stats.stored.points);
  stored.set({ signal: 'connections' }, () => queue.stats.stored.connections);
  stored.set({ signal: 'exchanges' }, () => queue.stats.stored.exchanges);
  stored.set({ signal: 'flows' }, () => queue.stats.stored.flows);
  const flushMs = reg.gauge(
    'mlscope_store_last_flush_seconds',
    'Duration of the last store write.',
  );
  flushMs.set({}, () => queue.stats.lastFlushMs / 1000);
  const writeErrors = reg.gauge('mlscope_store_write_errors', 'Store writes that failed.');
  writeErrors.set({}, () => queue.stats.errors);
  const rss = reg.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.');
  rss.set({}, () => process.memoryUsage.rss());
  // RED of the service being observed, from the server spans it exported to us.
  const { requests: obsReq, duration: obsDur } = observedFamilies(reg);

  const observeSpans = (batch: Span[]): void => {
    for (const s of batch) {
      if (s.kind !== 'server') continue;
      const a = s.attributes;
      const route = String(
        a['http.route'] ?? a['url.path'] ?? a['http.target'] ?? a['rpc.method'] ?? s.name,
      );
      const code =
        a['http.response.status_code'] ?? a['http.status_code'] ?? a['rpc.grpc.status_code'];
      const status =
        code !== undefined && code !== null
          ? String(code)
          : s.status === 'error'
            ? 'error'
            : 'unset';
      const service = s.service ?? '';
      obsReq.inc({ service, route, status });
      obsDur.observe({ service, route, status }, Math.max(0, s.endUs - s.startUs) / 1e6);
    }
  };

  const hooks: ReceiverHooks = {
    spans: (b) => {
      acknowledged.spans += b.length;
      observeSpans(b);
      queue.spans(b);
    },
    logs: (b) => {
      acknowledged.logs += b.length;
      queue.logs(b);
      opts.onLogs?.(b);
    },
    points: (b) => {
      acknowledged.points += b.length;
      // A data point without a time (allowed by OTLP) gets the time it was received.
      const nowUs = Date.now() * 1000;
      for (const p of b) if (p.tsUs === 0) p.tsUs = nowUs;
      queue.points(b);
    },
    full: () => queue.full,
    observe: (signal, encoding, status, o) => {
      requests.inc({ signal, encoding: encoding ?? 'unknown', code: String(status) });
      if (o) {
        if (status === 200) received.inc({ signal }, o.accepted);
        rejected.inc({ signal }, o.rejected + (status === 200 ? 0 : o.accepted));
      }
    },
  };

  const expected = token ? Buffer.from(`Bearer ${token}`) : null;
  const authorized = (req: IncomingMessage): boolean => {
    if (!expected) return true;
    const got = Buffer.from(String(req.headers['authorization'] ?? ''));
    return got.length === expected.length && timingSafeEqual(got, expected);
  };

  const inflight = new Set<Promise<void>>();
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const t0 = performance.now();
    const url = req.url ?? '/';
    const path = url.split('?')[0]!;
    let route = 'other';
    const p = (async () => {
      if (!authorized(req)) {
        route = 'unauthorized';
        req.resume();
        json(
          res,
          401,
          { error: 'missing or wrong bearer token' },
          { 'www-authenticate': 'Bearer' },
        );
        return;
      }
      const signal = SIGNAL_BY_PATH[path];
      if (signal) {
        route = path;
        await handleOtlp(req, res, signal, hooks, { maxBodyBytes: maxBody });
        return;
      }
      req.resume();
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        json(res, 405, { error: 'method not allowed' }, { allow: 'GET' });
        return;
      }
      if (path === '/metrics') {
        route = path;
        const body = reg.render() + (opts.extraMetrics?.() ?? '');
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(body);
        return;
      }
      if (path === '/healthz') {
        route = path;
        json(res, 200, { ok: true, pending: queue.stats.pending });
        return;
      }
      if (path.startsWith('/api/traces/')) {
        route = '/api/traces/{traceId}';
        const id = decodeURIComponent(path.slice('/api/traces/'.length)).toLowerCase();
        if (!TRACE_ID_RE.test(id)) {
          json(res, 400, { error: 'trace id must be 32 hex digits' });
          return;
        }
        await queue.write(); // what was acknowledged is visible
        const spans = await opts.store.traceSpans(id);
        if (spans.length === 0) json(res, 404, { traceId: id, spans: [] });
        else json(res, 200, { traceId: id, spans });
        return;
      }
      json(res, 404, { error: 'not found' });
    })()
      .catch((err: unknown) => {
        log(`request ${req.method ?? ''} ${path} failed: ${(err as Error).message}`);
        if (!res.headersSent) json(res, 500, { error: 'internal error' });
        else res.destroy();
      })
      .finally(() => {
        httpDur.observe({ route, code: String(res.statusCode) }, (performance.now() - t0) / 1000);
        inflight.delete(p);
      });
    inflight.add(p);
  };

  const servers: Server[] = [];
  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const s = createServer({ keepAliveTimeout: 5000 }, handler);
      s.once('error', reject);
      s.listen(port, host, () => {
        s.off('error', reject);
        servers.push(s);
        resolve((s.address() as AddressInfo).port);
      });
    });

  const closeAll = async (): Promise<void> => {
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((r) => {
            s.close(() => r());
            s.closeIdleConnections();
          }),
      ),
    );
  };

  let port: number;
  let otlpPort: number | null = null;
  try {
    port = await listen(opts.port ?? 8686);
    if (opts.otlpPort !== null) otlpPort = await listen(opts.otlpPort ?? 4318);
  } catch (err) {
    await closeAll();
    throw err;
  }
  const started: TelemetrySource[] = [];
  try {
    for (const src of opts.sources ?? []) {
      await src.start(queue);
      started.push(src);
    }
  } catch (err) {
    // a source that cannot start (a UDP port taken…) fails the server: undo what was started
    for (const src of started.reverse()) await src.stop().catch(() => undefined);
    await closeAll();
    await queue.drain().catch(() => undefined);
    throw err;
  }

  let closing: Promise<void> | null = null;
  return {
    host,
    port,
    otlpPort,
    queue,
    acknowledged,
    close(): Promise<void> {
      closing ??= (async () => {
        const stopped = closeAll();
        await Promise.all([...inflight]);
        await stopped;
        for (const src of opts.sources ?? []) await src.stop();
        await queue.drain();
        await opts.store.close();
      })();
      return closing;
    },
  };
}

function json(
  res: ServerResponse,
  status: number,
  doc: unknown,
  extra: Record<string, string> = {},
): void {
  const body = JSON.stringify(doc);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    ...extra,
  });
  res.end(body);
}
