// Where the live service keeps what it receives: logs in the store's `logs` table, spans and
// points in its `spans` and `points` tables (store/schema.ts). `IngestQueue` batches appends: a request is
// acknowledged once its records are queued in memory; the queue is written every `flushMs` or when
// `maxBatch` records wait, and `drain()` (graceful shutdown) writes everything acknowledged.
//
// Extension point for later live sources (file tailing, live capture): anything that produces
// records implements `TelemetrySource` and pushes into the same `TelemetrySink` the OTLP receiver
// uses; `startServer({ sources })` starts and stops them with the server.

import type { LogRecord } from '../model/records.js';
import type { MetricPoint, Span } from '../model/span.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';

export interface TelemetrySink {
  spans(batch: Span[]): void;
  logs(batch: LogRecord[]): void;
  points(batch: MetricPoint[]): void;
}

/** A live producer of records (tailing files, capturing packets…), started with the server. */
export interface TelemetrySource {
  readonly name: string;
  start(sink: TelemetrySink): Promise<void>;
  stop(): Promise<void>;
}

export interface TelemetryStore {
  appendSpans(batch: readonly Span[]): Promise<void>;
  appendLogs(batch: readonly LogRecord[]): Promise<void>;
  appendPoints(batch: readonly MetricPoint[]): Promise<void>;
  flush(): Promise<void>;
  traceSpans(traceId: string): Promise<Span[]>;
  counts(): Promise<{ spans: number; logs: number; points: number }>;
  close(): Promise<void>;
}

export async function openTelemetryStore(path: string): Promise<TelemetryStore> {
  return new StoreTelemetry(await openStore(path));
}

/** The TelemetryStore over a Store: appends go straight to its tables. */
class StoreTelemetry implements TelemetryStore {
  constructor(private readonly store: Store) {}
  appendSpans(batch: readonly Span[]): Promise<void> {
    return this.store.appendSpans(batch);
  }
  appendLogs(batch: readonly LogRecord[]): Promise<void> {
    return this.store.appendLogs(batch);
  }
  appendPoints(batch: readonly MetricPoint[]): Promise<void> {
    return this.store.appendPoints(batch);
  }
  flush(): Promise<void> {
    return this.store.flush();
  }
  traceSpans(traceId: string): Promise<Span[]> {
    return this.store.traceSpans(traceId);
  }
  async counts(): Promise<{ spans: number; logs: number; points: number }> {
    const r = await this.store.query(
      'SELECT (SELECT count(*) FROM spans), (SELECT count(*) FROM logs), (SELECT count(*) FROM points)',
    );
    const row = r.rows[0] ?? [];
    return { spans: Number(row[0] ?? 0), logs: Number(row[1] ?? 0), points: Number(row[2] ?? 0) };
  }
  close(): Promise<void> {
    return this.store.close();
  }
}

export interface QueueStats {
  pending: number;
  stored: { spans: number; logs: number; points: number };
  flushes: number;
  lastFlushMs: number;
  errors: number;
}

export class IngestQueue implements TelemetrySink {
  private s: Span[] = [];
  private l: LogRecord[] = [];
  private p: MetricPoint[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  readonly stats: QueueStats = {
    pending: 0,
    stored: { spans: 0, logs: 0, points: 0 },
    flushes: 0,
    lastFlushMs: 0,
    errors: 0,
  };
  /** Called with the first error of a failed write (the records of that batch are lost). */
  onError: (err: unknown) => void = () => {};

  constructor(
    private readonly store: TelemetryStore,
    private readonly flushMs = 200,
    private readonly maxBatch = 20_000,
    /** Above this many queued records `full` is true and the receiver answers 503. */
    readonly maxPending = 500_000,
  ) {}

  get full(): boolean {
    return this.stats.pending >= this.maxPending;
  }

  spans(batch: Span[]): void {
    for (const x of batch) this.s.push(x);
    this.added(batch.length);
  }
  logs(batch: LogRecord[]): void {
    for (const x of batch) this.l.push(x);
    this.added(batch.length);
  }
  points(batch: MetricPoint[]): void {
    for (const x of batch) this.p.push(x);
    this.added(batch.length);
  }

  private added(n: number): void {
    this.stats.pending += n;
    if (this.s.length + this.l.length + this.p.length >= this.maxBatch) void this.write();
    else if (!this.timer && n > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.write();
      }, this.flushMs);
      this.timer.unref();
    }
  }

  /** Write what is queued now (serialised after any write in progress). */
  write(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const s = this.s;
    const l = this.l;
    const p = this.p;
    this.s = [];
    this.l = [];
    this.p = [];
    this.writing = this.writing.then(async () => {
      if (s.length + l.length + p.length === 0) return;
      const t0 = performance.now();
      try {
        await this.store.appendSpans(s);
        await this.store.appendLogs(l);
        await this.store.appendPoints(p);
        this.stats.stored.spans += s.length;
        this.stats.stored.logs += l.length;
        this.stats.stored.points += p.length;
      } catch (err) {
        this.stats.errors++;
        this.onError(err);
      } finally {
        this.stats.pending -= s.length + l.length + p.length;
        this.stats.flushes++;
        this.stats.lastFlushMs = performance.now() - t0;
      }
    });
    return this.writing;
  }

  /** Write everything acknowledged so far and flush the store. */
  async drain(): Promise<void> {
    await this.write();
    await this.store.flush();
  }
}
