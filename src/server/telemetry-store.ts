// Where the live service keeps what it receives: logs in the store's `logs` table, spans and
// points in its `spans` and `points` tables, live capture in `connections` and `exchanges`, the flow
// collector in `flows` (store/schema.ts). `IngestQueue` batches appends: a request is acknowledged
// once its records are queued in memory; the queue is written every `flushMs` or when `maxBatch`
// records wait, and `drain()` (graceful shutdown) writes everything acknowledged.
//
// Live sources (file tailing, live capture, the flow collector) implement `TelemetrySource` and
// push into the same queue the OTLP receiver uses; `startServer({ sources })` starts and stops them
// with the server. A capture or collector registers itself as an `inputs` row (kind 'capture' /
// 'flows', path 'live:…') so its rows carry an `input_id`: connection and exchange ids restart at 1
// in every engine, and (input_id, id) keeps them apart across interfaces and restarts. The row is
// marked done at once (a crash must not make `mlscope ingest` remove it as unfinished) and its
// counts are updated at shutdown; `window_bytes` 0 keeps it out of ingest's file fingerprinting.
//
// Tailed files resume across restarts (server/tail.ts): the tail hands over its records together
// with its position after them (`tailed`), and the queue writes a batch that carries positions
// with `commitWithPositions` — rows and positions in one store transaction — so a saved position
// is never ahead of the stored rows, nor behind them.

import type { Connection, Exchange, LogRecord } from '../model/records.js';
import type { MetricPoint, Span } from '../model/span.js';
import type { FlowRecord } from '../model/flow.js';
import { openStore } from '../store/open.js';
import type { InputStats, Store, TailPosition } from '../store/store.js';

export interface TelemetrySink {
  spans(batch: Span[]): void;
  logs(batch: LogRecord[]): void;
  points(batch: MetricPoint[]): void;
  /**
   * Log records of the tailed `path` and the positions reached after them (they replace the
   * path's saved positions), stored in the same transaction as the records. Optional: a sink
   * without it gets `logs(batch)` and no positions.
   */
  tailed?(path: string, batch: LogRecord[], positions: readonly TailPosition[]): void;
}

/** The sink live capture and the flow collector write to: records tied to a live input. */
export interface RecordSink extends TelemetrySink {
  connections(batch: Connection[], inputId: number | null): void;
  exchanges(batch: Exchange[], inputId: number | null): void;
  flows(batch: FlowRecord[], inputId: number | null): void;
  /** Too many records wait for the store: a source that can should stop reading for a while. */
  readonly full: boolean;
  /** Record a live input (see above); its id for the rows. Serialised with the writes. */
  beginInput(path: string, kind: string, format: string): Promise<number>;
  /** Final counts of a live input (after its last records were queued). */
  finishInput(id: number, stats: InputStats): Promise<void>;
}

/** A live producer of records (tailing files, capturing packets…), started with the server. */
export interface TelemetrySource {
  readonly name: string;
  start(sink: RecordSink): Promise<void>;
  stop(): Promise<void>;
}

export interface TelemetryStore {
  appendSpans(batch: readonly Span[]): Promise<void>;
  appendLogs(batch: readonly LogRecord[]): Promise<void>;
  appendPoints(batch: readonly MetricPoint[]): Promise<void>;
  appendConnections(batch: readonly Connection[], inputId: number | null): Promise<void>;
  appendExchanges(batch: readonly Exchange[], inputId: number | null): Promise<void>;
  appendFlows(batch: readonly FlowRecord[], inputId: number | null): Promise<void>;
  beginLiveInput(path: string, kind: string, format: string): Promise<number>;
  finishInput(id: number, stats: InputStats): Promise<void>;
  flush(): Promise<void>;
  /** See Store.commitWithPositions. */
  commitWithPositions(
    appends: () => Promise<void>,
    positions: ReadonlyMap<string, readonly TailPosition[]>,
  ): Promise<void>;
  tailPositions(): Promise<TailPosition[]>;
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
  appendConnections(batch: readonly Connection[], inputId: number | null): Promise<void> {
    return this.store.appendConnections(batch, inputId);
  }
  appendExchanges(batch: readonly Exchange[], inputId: number | null): Promise<void> {
    return this.store.appendExchanges(batch, inputId);
  }
  appendFlows(batch: readonly FlowRecord[], inputId: number | null): Promise<void> {
    return this.store.appendFlows(batch, inputId);
  }
  async beginLiveInput(path: string, kind: string, format: string): Promise<number> {
    const id = await this.store.beginInput({
      path,
      sizeBytes: 0,
      mtimeMs: Date.now(),
      headHash: '',
      tailHash: '',
      windowBytes: 0,
      kind,
      format,
    });
    await this.store.finishInput(id, { records: 0, skipped: 0, error: null });
    return id;
  }
  finishInput(id: number, stats: InputStats): Promise<void> {
    return this.store.finishInput(id, stats);
  }
  flush(): Promise<void> {
    return this.store.flush();
  }
  commitWithPositions(
    appends: () => Promise<void>,
    positions: ReadonlyMap<string, readonly TailPosition[]>,
  ): Promise<void> {
    return this.store.commitWithPositions(appends, positions);
  }
  tailPositions(): Promise<TailPosition[]> {
    return this.store.tailPositions();
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

type RecordKind = 'connections' | 'exchanges' | 'flows';

/** Queued capture/flow records of one kind and input, in arrival order. */
interface Segment {
  kind: RecordKind;
  inputId: number | null;
  rows: (Connection | Exchange | FlowRecord)[];
}

export interface QueueStats {
  pending: number;
  stored: {
    spans: number;
    logs: number;
    points: number;
    connections: number;
    exchanges: number;
    flows: number;
  };
  flushes: number;
  lastFlushMs: number;
  errors: number;
}

export class IngestQueue implements RecordSink {
  private s: Span[] = [];
  private l: LogRecord[] = [];
  private p: MetricPoint[] = [];
  private segs: Segment[] = [];
  private segRows = 0;
  /** Tail positions to save with the next write, by path. */
  private pos = new Map<string, readonly TailPosition[]>();
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  readonly stats: QueueStats = {
    pending: 0,
    stored: { spans: 0, logs: 0, points: 0, connections: 0, exchanges: 0, flows: 0 },
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
  tailed(path: string, batch: LogRecord[], positions: readonly TailPosition[]): void {
    for (const x of batch) this.l.push(x);
    this.pos.set(path, positions);
    this.added(batch.length);
  }

  connections(batch: Connection[], inputId: number | null): void {
    this.segment('connections', inputId, batch);
  }
  exchanges(batch: Exchange[], inputId: number | null): void {
    this.segment('exchanges', inputId, batch);
  }
  flows(batch: FlowRecord[], inputId: number | null): void {
    this.segment('flows', inputId, batch);
  }

  private segment(
    kind: RecordKind,
    inputId: number | null,
    batch: readonly (Connection | Exchange | FlowRecord)[],
  ): void {
    if (batch.length === 0) return;
    let last = this.segs[this.segs.length - 1];
    if (!last || last.kind !== kind || last.inputId !== inputId)
      this.segs.push((last = { kind, inputId, rows: [] }));
    for (const x of batch) last.rows.push(x);
    this.segRows += batch.length;
    this.added(batch.length);
  }

  beginInput(path: string, kind: string, format: string): Promise<number> {
    const p = this.writing.then(() => this.store.beginLiveInput(path, kind, format));
    this.writing = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  finishInput(id: number, stats: InputStats): Promise<void> {
    void this.write();
    const p = this.writing.then(() => this.store.finishInput(id, stats));
    this.writing = p.catch(() => undefined);
    return p;
  }

  private added(n: number): void {
    this.stats.pending += n;
    if (this.s.length + this.l.length + this.p.length + this.segRows >= this.maxBatch)
      void this.write();
    else if (!this.timer && (n > 0 || this.pos.size > 0)) {
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
    const segs = this.segs;
    const segRows = this.segRows;
    const pos = this.pos;
    this.pos = new Map();
    this.s = [];
    this.l = [];
    this.p = [];
    this.segs = [];
    this.segRows = 0;
    this.writing = this.writing.then(async () => {
      if (s.length + l.length + p.length + segRows === 0 && pos.size === 0) return;
      const t0 = performance.now();
      const appendAll = async (): Promise<void> => {
        await this.store.appendSpans(s);
        await this.store.appendLogs(l);
        await this.store.appendPoints(p);
        for (const g of segs) {
          if (g.kind === 'connections')
            await this.store.appendConnections(g.rows as Connection[], g.inputId);
          else if (g.kind === 'exchanges')
            await this.store.appendExchanges(g.rows as Exchange[], g.inputId);
          else await this.store.appendFlows(g.rows as FlowRecord[], g.inputId);
        }
      };
      try {
        if (pos.size > 0) await this.store.commitWithPositions(appendAll, pos);
        else await appendAll();
        this.stats.stored.spans += s.length;
        this.stats.stored.logs += l.length;
        this.stats.stored.points += p.length;
        for (const g of segs) this.stats.stored[g.kind] += g.rows.length;
      } catch (err) {
        this.stats.errors++;
        this.onError(err);
      } finally {
        this.stats.pending -= s.length + l.length + p.length + segRows;
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
