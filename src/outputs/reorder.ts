// Streams records in the order of a time key when they arrive in another order, in bounded memory.
// Exchanges come out of the capture engine as they complete; a slow request completes after
// faster ones that started later. Users read `mlscope http --csv` by start time, so rows wait in a
// min-heap on their start until the capture has moved `windowUs` past it (nothing that starts
// earlier can still complete, unless it runs longer than the window) or the heap is full.
// A record that arrives after a later one was written is written at once and counted as late.

import { Heap } from '../util/heap.js';

export interface ReorderOptions {
  /** How far (µs of capture time) behind the newest completion a start must be to be written. */
  windowUs: number;
  /** Records held at most (memory bound); past it the earliest is written early. */
  maxHeld: number;
}

export const DEFAULT_REORDER: ReorderOptions = { windowUs: 10 * 60e6, maxHeld: 50_000 };

interface Held {
  key: number;
  seq: number;
  text: string;
}

export class ReorderWindow {
  private readonly heap = new Heap<Held>(
    (a, b) => a.key < b.key || (a.key === b.key && a.seq < b.seq),
  );
  private seq = 0;
  private nowUs = -Infinity;
  private lastKey = -Infinity;
  /** Records written after a record with a later key (longer than the window, or heap full). */
  late = 0;

  constructor(
    private readonly write: (text: string) => void,
    private readonly opts: ReorderOptions = DEFAULT_REORDER,
  ) {}

  /**
   * A record with time `key` (NaN or ±Infinity: sorts last), already rendered as `text`, that
   * completed at capture time `doneUs`.
   */
  offer(key: number, doneUs: number, text: string): void {
    const k = Number.isFinite(key) ? key : Infinity;
    if (k < this.lastKey) {
      // its turn has passed: write it now rather than hold it forever
      this.late++;
      this.write(text);
      return;
    }
    this.heap.push({ key: k, seq: this.seq++, text });
    if (Number.isFinite(doneUs) && doneUs > this.nowUs) this.nowUs = doneUs;
    const before = this.nowUs - this.opts.windowUs;
    while (this.heap.size > 0 && this.heap.peek()!.key < before) this.pop();
    while (this.heap.size > this.opts.maxHeld) this.pop();
  }

  /** Write everything held, in order (the end of an input). */
  flush(): void {
    while (this.heap.size > 0) this.pop();
    this.lastKey = -Infinity;
    this.nowUs = -Infinity;
  }

  private pop(): void {
    const top = this.heap.pop()!;
    if (top.key > this.lastKey) this.lastKey = top.key;
    this.write(top.text);
  }
}
