// Backtest: one streaming pass over history. Each input yields record batches in time order; the
// inputs are merged by time (a k-way merge holding one batch per input), every record is pushed
// into the evaluator and step ticks are evaluated as time passes, so memory is bounded by the
// rules' windows and one batch per input — never by the length of the history.

import type { LogRecord } from '../../model/records.js';
import type { AlertEvaluator, AlertInstance } from './engine.js';

export interface FiringInterval {
  alert: string;
  group: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** When the condition first held (ms), when it started firing, when it resolved (null: still firing at the end). */
  activeAtMs: number;
  startsAtMs: number;
  endsAtMs: number | null;
  maxValue: number;
}

export interface BacktestResult {
  intervals: FiringInterval[];
  firstTsMs: number | null;
  lastTsMs: number | null;
  records: number;
  /** Records without a timestamp (not evaluated). */
  noTimestamp: number;
  /** Records older than the previous record of the same input (still evaluated if inside the windows). */
  outOfOrder: number;
  ticks: number;
}

interface Cursor {
  it: AsyncIterator<LogRecord[]>;
  batch: LogRecord[];
  i: number;
  lastTs: number;
  ts: number;
}

/** Records merged by time, also readable a batch at a time (what `backtest` does: one await per
 * batch instead of one per record). */
export interface MergedRecords extends AsyncIterable<LogRecord> {
  batches(): AsyncIterable<LogRecord[]>;
}

/** Largest batch `mergeByTime` hands out (records; the inputs' batches are held as well). */
const MERGED_BATCH = 4096;

/** Merge per-input time-ordered batch streams into one time-ordered record stream. */
export function mergeByTime(
  inputs: AsyncIterable<LogRecord[]>[],
  onUntimed: (r: LogRecord) => void = () => {},
  onOutOfOrder: () => void = () => {},
): MergedRecords {
  const batches = (): AsyncIterable<LogRecord[]> =>
    inputs.length === 1
      ? passThrough(inputs[0]!, onUntimed, onOutOfOrder)
      : mergeBatches(inputs, onUntimed, onOutOfOrder);
  return {
    batches,
    async *[Symbol.asyncIterator](): AsyncGenerator<LogRecord> {
      for await (const b of batches()) yield* b;
    },
  };
}

/** One input: its batches as they are, minus untimed records (no merge needed). */
async function* passThrough(
  input: AsyncIterable<LogRecord[]>,
  onUntimed: (r: LogRecord) => void,
  onOutOfOrder: () => void,
): AsyncGenerator<LogRecord[]> {
  let lastTs = -Infinity;
  for await (const batch of input) {
    let out: LogRecord[] | null = null;
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      if (r.tsUs === null) {
        onUntimed(r);
        // Copy the timed records seen so far, then keep copying.
        out ??= batch.slice(0, i);
        continue;
      }
      const ts = r.tsUs / 1000;
      if (ts < lastTs) onOutOfOrder();
      else lastTs = ts;
      if (out !== null) out.push(r);
    }
    const b = out ?? batch;
    if (b.length > 0) yield b;
  }
}

async function* mergeBatches(
  inputs: AsyncIterable<LogRecord[]>[],
  onUntimed: (r: LogRecord) => void,
  onOutOfOrder: () => void,
): AsyncGenerator<LogRecord[]> {
  const heap: Cursor[] = [];
  const less = (a: Cursor, b: Cursor): boolean => a.ts < b.ts;
  const up = (i: number): void => {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(heap[i]!, heap[p]!)) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  };
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  /** Move the cursor to its next timed record in its current batch; false when it needs the next batch. */
  const seek = (c: Cursor): boolean => {
    while (c.i < c.batch.length) {
      const r = c.batch[c.i]!;
      if (r.tsUs === null) {
        onUntimed(r);
        c.i++;
        continue;
      }
      const ts = r.tsUs / 1000;
      if (ts < c.lastTs) onOutOfOrder();
      c.ts = ts;
      return true;
    }
    return false;
  };
  /** Move the cursor to its next timed record; false when the input is exhausted. */
  const advance = async (c: Cursor): Promise<boolean> => {
    for (;;) {
      if (seek(c)) return true;
      const n = await c.it.next();
      if (n.done) return false;
      c.batch = n.value;
      c.i = 0;
    }
  };
  for (const src of inputs) {
    const c: Cursor = {
      it: src[Symbol.asyncIterator](),
      batch: [],
      i: 0,
      lastTs: -Infinity,
      ts: 0,
    };
    if (await advance(c)) {
      heap.push(c);
      up(heap.length - 1);
    }
  }
  let out: LogRecord[] = [];
  while (heap.length > 0) {
    const c = heap[0]!;
    out.push(c.batch[c.i]!);
    c.i++;
    if (c.ts > c.lastTs) c.lastTs = c.ts;
    // Stay synchronous while the cursor's batch lasts; await only for a new batch.
    if (seek(c) || (await advance(c))) down(0);
    else {
      const last = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = last;
        down(0);
      }
    }
    if (out.length >= MERGED_BATCH) {
      yield out;
      out = [];
    }
  }
  if (out.length > 0) yield out;
}

function isMerged(x: AsyncIterable<LogRecord>): x is MergedRecords {
  return typeof (x as Partial<MergedRecords>).batches === 'function';
}

async function* oneByOne(records: AsyncIterable<LogRecord>): AsyncGenerator<LogRecord[]> {
  for await (const r of records) yield [r];
}

/** Drive `ev` over a time-ordered record stream; ticks at multiples of `ev.stepMs`. */
export async function backtest(
  ev: AlertEvaluator,
  records: AsyncIterable<LogRecord>,
): Promise<BacktestResult> {
  const step = ev.stepMs;
  const open = new Map<string, FiringInterval>();
  const intervals: FiringInterval[] = [];
  let firstTs: number | null = null;
  let lastTs: number | null = null;
  let nextTick = NaN;
  let n = 0;
  let ticks = 0;
  const keyOf = (a: AlertInstance): string => a.alert + '\u0000' + JSON.stringify(a.labels);
  const doTick = (t: number): void => {
    ticks++;
    for (const tr of ev.tick(t)) {
      const k = keyOf(tr.alert);
      if (tr.kind === 'firing') {
        const iv: FiringInterval = {
          alert: tr.alert.alert,
          group: tr.alert.group,
          labels: tr.alert.labels,
          annotations: tr.alert.annotations,
          activeAtMs: tr.alert.activeAtMs,
          startsAtMs: t,
          endsAtMs: null,
          maxValue: tr.alert.maxValue,
        };
        open.set(k, iv);
        intervals.push(iv);
      } else {
        const iv = open.get(k);
        if (iv) {
          iv.endsAtMs = t;
          iv.maxValue = tr.alert.maxValue;
          open.delete(k);
        }
      }
    }
  };
  const src = isMerged(records) ? records.batches() : oneByOne(records);
  for await (const batch of src) {
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      if (r.tsUs === null) continue;
      const ts = r.tsUs / 1000;
      if (firstTs === null) {
        firstTs = ts;
        nextTick = Math.ceil(ts / step) * step;
      }
      while (nextTick < ts) {
        doTick(nextTick);
        nextTick += step;
      }
      if (lastTs === null || ts > lastTs) lastTs = ts;
      ev.push(r);
      n++;
    }
  }
  if (lastTs !== null) {
    // Close the window the last record fell in.
    while (nextTick <= Math.ceil(lastTs / step) * step) {
      doTick(nextTick);
      nextTick += step;
    }
  }
  for (const iv of open.values()) {
    const a = ev
      .active()
      .find((x) => x.alert === iv.alert && JSON.stringify(x.labels) === JSON.stringify(iv.labels));
    if (a) iv.maxValue = a.maxValue;
  }
  intervals.sort(
    (a, b) => a.startsAtMs - b.startsAtMs || (a.alert < b.alert ? -1 : a.alert > b.alert ? 1 : 0),
  );
  return {
    intervals,
    firstTsMs: firstTs,
    lastTsMs: lastTs,
    records: n,
    noTimestamp: 0,
    outOfOrder: 0,
    ticks,
  };
}
