// The flow side of `mlscope ingest`: flow inputs (NetFlow/IPFIX payload files, AWS/GCP/Azure flow
// logs, CloudWatch envelopes) and the flows of packet captures (their NetFlow/IPFIX export
// datagrams, and bidirectional flows built from their other packets) go through one FlowIngest, so
// NetFlow templates carry over from one input to the next as in `mlscope flows`. Records are
// appended to the store's `flows` table in batches between input chunks (memory follows the batch,
// not the input), each with the `input_id` of the input that carried it: data that waited for a
// template found in a later input is written when that template arrives, under its own input.

import type { FlowRecord } from '../../model/flow.js';
import type { QualityReport } from '../../model/quality.js';
import type { InputRef } from '../../sources/files.js';
import type { Store } from '../../store/store.js';
import { FlowIngest, type FlowInputTap } from '../../ingest/flows.js';

/** Flow records per append. */
const FLOW_BATCH_RECORDS = 8192;

export class FlowStoreIngest {
  readonly flows: FlowIngest;
  /** The store input id of each FlowIngest input, by FlowIngest's input index. */
  private readonly ids: (number | null)[] = [];
  private batch: FlowRecord[] = [];
  private batchId: number | null = null;
  /** Full batches (or batches cut by a change of input) waiting to be appended. */
  private ready: { id: number | null; rows: FlowRecord[] }[] = [];
  /** Rows handed to the store, by input id. */
  private readonly written = new Map<number | null, number>();

  constructor(private readonly store: Store) {
    this.flows = new FlowIngest((f, i) => this.add(f, this.ids[i] ?? null));
  }

  private add(f: FlowRecord, id: number | null): void {
    if (id !== this.batchId && this.batch.length > 0) this.cut();
    this.batchId = id;
    this.batch.push(f);
    if (this.batch.length >= FLOW_BATCH_RECORDS) this.cut();
  }

  private cut(): void {
    this.ready.push({ id: this.batchId, rows: this.batch });
    this.batch = [];
  }

  /** Append the full batches (all: every record held). */
  async drain(all: boolean): Promise<void> {
    if (all && this.batch.length > 0) this.cut();
    while (this.ready.length > 0) {
      const b = this.ready.shift()!;
      await this.store.appendFlows(b.rows, b.id);
      this.written.set(b.id, (this.written.get(b.id) ?? 0) + b.rows.length);
    }
  }

  /**
   * Read one input into `flows`, rows tagged `inputId`. `tap` sees the same chunks (a capture's
   * engine) and is awaited between them. Errors of the store propagate; input errors are in the
   * report.
   */
  async read(
    ref: InputRef,
    inputId: number | null,
    tap: FlowInputTap = {},
  ): Promise<QualityReport> {
    this.ids.push(inputId);
    const between = async (): Promise<void> => {
      if (tap.between) await tap.between();
      await this.drain(false);
    };
    const t: FlowInputTap = { between };
    if (tap.chunk) t.chunk = tap.chunk.bind(tap);
    const report = await this.flows.ingest(ref, t);
    await this.drain(true);
    return report;
  }

  /** End of all inputs: data still waiting for a template is counted; the reports, by input. */
  async finish(): Promise<{ id: number | null; report: QualityReport }[]> {
    const reports = this.flows.finish();
    await this.drain(true);
    return reports.map((report, i) => ({ id: this.ids[i] ?? null, report }));
  }

  /** Flow records (not frames or lines) skipped so far for an input. */
  recordsSkipped(inputId: number | null): number {
    let n = 0;
    this.ids.forEach((id, i) => {
      if (id === inputId) n += this.flows.recordsSkipped(i);
    });
    return n;
  }

  /** Flow rows written so far for an input. */
  rows(inputId: number | null): number {
    return this.written.get(inputId) ?? 0;
  }
}
