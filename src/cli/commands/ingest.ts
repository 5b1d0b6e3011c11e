// `mlscope ingest <inputs…> --db FILE [--format F] [--json]`: decode inputs into a DuckDB file for
// `mlscope sql` and the analyzers. Every input is recognised by content (ingest/detect.ts) and goes
// to its tables:
//   capture    connections, exchanges, and flows (export datagrams and packet flows): ingest-capture.ts
//   flows      NetFlow/IPFIX payload files, AWS/GCP/Azure flow logs, CloudWatch envelopes: ingest-flows.ts
//   telemetry  OTLP JSON / JSON lines / protobuf, Jaeger, Zipkin → spans, logs, points: ingest/telemetry.ts
//   logs       text and JSON logs → logs (`--format` names their format; default: detected)
// Re-ingesting is idempotent: each regular file is fingerprinted (size, SHA-256 of its first and
// last MiB) and recorded in the `inputs` table; identical content is skipped, a file that grew
// replaces its earlier rows in every table (policy in store/inputs.ts; every record table carries
// `input_id`). stdin and FIFOs cannot be fingerprinted nor peeked at: they are always ingested, as
// logs.

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { ExitCode, parseCommandArgs, writeJson, type Command, type Io } from '../command.js';
import { ErrorCode, InputError, UsageError, errorMessage } from '../../util/errors.js';
import { expandInputs, type InputRef } from '../../sources/files.js';
import { decideInput, fingerprint, type Fingerprint } from '../../store/inputs.js';
import type { Store } from '../../store/store.js';
import { detectFile, type DetectedInput } from '../../ingest/detect.js';
import { readTelemetryInput } from '../../ingest/telemetry.js';
import { appendLogInput, checkLogFormat, type IngestedLogs } from './log-input.js';
import { ingestCapture } from './ingest-capture.js';
import { FlowStoreIngest } from './ingest-flows.js';
import { openStore } from './sql.js';
import { renderTable, sanitizeCell } from './render.js';
import { keyLogFlag } from '../../ingest/keylog.js';
import type { TlsKeyLog } from '../../decoders/proto/tls-decrypt.js';

const USAGE =
  'mlscope ingest <inputs…> --db FILE [--format auto|json|nginx-combined|…] [--json] [--tls-keylog FILE]\n' +
  '  inputs are recognised by content: pcap/pcapng → connections, exchanges, flows;\n' +
  '  NetFlow/IPFIX payloads, AWS/GCP/Azure flow logs → flows; OTLP/Jaeger/Zipkin → spans, logs,\n' +
  '  points; anything else → logs (--format names the log format; default: detected)';

/** The tables an input can write to. */
export type IngestTable = 'logs' | 'connections' | 'exchanges' | 'flows' | 'spans' | 'points';

export interface IngestedInput {
  path: string;
  action: 'ingested' | 'replaced' | 'skipped' | 'failed';
  /**
   * What the input was read as: 'capture' (pcap/pcapng), 'flows' (flow logs, NetFlow/IPFIX payload),
   * 'telemetry' (OTLP, Jaeger, Zipkin), 'logs'; null when it could not be read at all.
   */
  kind: 'logs' | 'capture' | 'flows' | 'telemetry' | 'tls-keys' | null;
  format: string | null;
  /** Rows written, all tables together (= the sum of `tables`). */
  records: number;
  skipped: number;
  /** Rows written per table (tables with none left out). */
  tables: Partial<Record<IngestTable, number>>;
  /** For 'skipped': the recorded input with the same content; for 'replaced': the one replaced. */
  sameAs: string | null;
  error: string | null;
}

/** An input whose counts can still change after it was read (NetFlow data waiting for a template). */
interface FlowTracked {
  result: IngestedInput;
  inputId: number;
  /** Rows and skips that are not flows' (a capture's connections, exchanges and bad packets). */
  baseTables: Partial<Record<IngestTable, number>>;
  baseSkipped: number;
}

export const ingestCommand: Command = {
  name: 'ingest',
  summary:
    'store captures, flow logs/NetFlow/IPFIX, OTLP/Jaeger/Zipkin traces and logs in a DuckDB file for `mlscope sql`',
  usage: USAGE,
  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs('ingest', argv, {
      db: { type: 'string' },
      format: { type: 'string' },
      json: { type: 'boolean' },
      'tls-keylog': { type: 'string' },
    });
    if (!values.db) throw new UsageError('ingest: --db FILE is required');
    if (positionals.length === 0) throw new UsageError('ingest: no inputs given');
    const format = checkLogFormat('ingest', values.format);
    const tlsKeys = await keyLogFlag(values['tls-keylog']);

    let exit: number = ExitCode.OK;
    const results: IngestedInput[] = [];
    const fail = (path: string, err: InputError): void => {
      exit = ExitCode.INPUT_ERROR;
      io.stderr.write(`mlscope: ${sanitizeCell(err.message)}\n`);
      results.push({
        path,
        action: 'failed',
        kind: null,
        format: null,
        records: 0,
        skipped: 0,
        tables: {},
        sameAs: null,
        error: err.message,
      });
    };
    const refs = await expandInputs(positionals, (e) => fail(e.file, e));

    const store = await openStore(values.db);
    const flows = new FlowStoreIngest(store);
    const tracked: FlowTracked[] = [];
    try {
      // Inputs a crashed run left half-written are removed first; their files are read again below.
      for (const k of await store.inputs()) {
        if (k.status !== 'ingesting') continue;
        const n = await store.removeInput(k.id);
        io.stderr.write(
          `mlscope: removed ${n} rows of an unfinished ingest of ${sanitizeCell(k.path)}\n`,
        );
      }
      for (const ref of refs) {
        const r = await ingestOne(store, ref, { format, flows, tracked, tlsKeys }, io);
        results.push(r);
        if (r.action === 'failed') exit = ExitCode.INPUT_ERROR;
      }
      await settleFlowInputs(store, flows, tracked);
    } finally {
      await store.close();
    }

    if (values.json) {
      writeJson(io, {
        db: values.db,
        inputs: results,
        records: results.reduce((a, r) => a + r.records, 0),
        skipped: results.reduce((a, r) => a + r.skipped, 0),
      });
    } else {
      io.stdout.write(
        renderTable(
          ['input', 'action', 'kind', 'format', 'records', 'skipped', 'tables', 'note'],
          results.map((r) => [
            r.path,
            r.action,
            r.kind,
            r.format,
            r.records,
            r.skipped,
            Object.entries(r.tables)
              .map(([t, n]) => `${t} ${n}`)
              .join(', '),
            r.action === 'skipped' && r.kind === 'tls-keys'
              ? (r.error ?? '')
              : r.action === 'skipped'
                ? `already ingested${r.sameAs !== r.path ? ` as ${r.sameAs ?? '?'}` : ''}`
                : r.action === 'replaced'
                  ? `grew since last ingest; earlier rows replaced`
                  : (r.error ?? ''),
          ]),
          { maxWidthByColumn: { input: 60, note: 80 } },
        ),
      );
    }
    return exit;
  },
};

interface IngestContext {
  format: string;
  flows: FlowStoreIngest;
  tracked: FlowTracked[];
  tlsKeys: TlsKeyLog | null;
}

async function ingestOne(
  store: Store,
  ref: InputRef,
  ctx: IngestContext,
  io: Io,
): Promise<IngestedInput> {
  const result: IngestedInput = {
    path: ref.name,
    action: 'ingested',
    kind: null,
    format: null,
    records: 0,
    skipped: 0,
    tables: {},
    sameAs: null,
    error: null,
  };
  const failed = (err: unknown): IngestedInput => {
    const e =
      err instanceof InputError
        ? err
        : new InputError(ErrorCode.INPUT_UNREADABLE, ref.name, errorMessage(err));
    io.stderr.write(`mlscope: ${sanitizeCell(e.message)}\n`);
    return { ...result, action: 'failed', error: e.message };
  };
  /** The input stopped early: one line on stderr; its rows so far are kept. */
  const cutShort = (out: IngestedInput, error: string): IngestedInput => {
    io.stderr.write(
      `mlscope: ${sanitizeCell(error)} (${out.records} records before it were kept)\n`,
    );
    return { ...out, action: 'failed', error };
  };

  // Fingerprint regular files and look at their content; decide skip / replace / new.
  let fp: Fingerprint | null = null;
  let detected: DetectedInput = { kind: 'logs', format: 'auto' };
  try {
    if (ref.path !== null) {
      const st = await fsp.stat(ref.path);
      if (st.isFile()) {
        fp = await fingerprint(ref.name, st.size, st.mtimeMs, rangeHasher(ref.path));
        detected = await detectFile(ref);
      }
    }
  } catch (err) {
    return failed(err);
  }
  if (fp) {
    const d = await decideInput(await store.inputs(), fp, rangeHasher(ref.path!));
    if (d.action === 'skip') return { ...result, action: 'skipped', sameAs: d.existing.path };
    if (d.action === 'replace') {
      await store.removeInput(d.existing.id);
      result.action = 'replaced';
      result.sameAs = d.existing.path;
    }
  }

  const kind = detected.kind;
  result.kind = kind;
  if (kind === 'tls-keys') {
    // Secrets, not records: nothing is stored. Captures are decrypted with --tls-keylog FILE.
    return {
      ...result,
      action: 'skipped',
      format: detected.format,
      error: 'a TLS key log: not stored; give it with --tls-keylog to decrypt captures',
    };
  }
  const inputId = await store.beginInput({
    path: ref.name,
    sizeBytes: fp?.sizeBytes ?? 0,
    mtimeMs: fp?.mtimeMs ?? Date.now(),
    headHash: fp?.headHash ?? '',
    tailHash: fp?.tailHash ?? '',
    windowBytes: fp?.windowBytes ?? 0,
    kind,
    format: kind === 'logs' ? null : detected.format,
  });

  switch (kind) {
    case 'capture': {
      const format = detected.format === 'pcapng' ? 'pcapng' : 'pcap';
      try {
        const c = await ingestCapture(ref, store, inputId, format, ctx.flows, ctx.tlsKeys);
        await store.finishInput(inputId, c.stats);
        const out: IngestedInput = {
          ...result,
          format: c.format,
          records: c.stats.records,
          skipped: c.stats.skipped,
          tables: nonZero(c.rows),
        };
        const final = c.stats.error ? cutShort(out, c.stats.error) : out;
        ctx.tracked.push({
          result: final,
          inputId,
          baseTables: nonZero({ connections: c.rows.connections, exchanges: c.rows.exchanges }),
          baseSkipped: c.engineSkipped,
        });
        return final;
      } catch (err) {
        // Nothing usable was recorded: forget the input so a later run retries it.
        await store.removeInput(inputId);
        return failed(err);
      }
    }
    case 'flows': {
      const report = await ctx.flows.read(ref, inputId);
      const rows = ctx.flows.rows(inputId);
      await store.finishInput(inputId, {
        records: rows,
        skipped: report.skipped,
        error: report.error,
        format: report.format,
      });
      const out: IngestedInput = {
        ...result,
        format: report.format,
        records: rows,
        skipped: report.skipped,
        tables: nonZero({ flows: rows }),
      };
      const final = report.error ? cutShort(out, report.error) : out;
      ctx.tracked.push({ result: final, inputId, baseTables: {}, baseSkipped: 0 });
      return final;
    }
    case 'telemetry': {
      const t = await readTelemetryInput(ref, {
        spans: (b) => store.appendSpans(b, inputId),
        logs: (b) => store.appendLogs(b, inputId),
        points: (b) => store.appendPoints(b, inputId),
      });
      const records = t.rows.spans + t.rows.logs + t.rows.points;
      await store.finishInput(inputId, {
        records,
        skipped: t.quality.skipped,
        error: t.error ? t.error.message : null,
        format: t.format,
      });
      const out: IngestedInput = {
        ...result,
        format: t.format,
        records,
        skipped: t.quality.skipped,
        tables: nonZero(t.rows),
      };
      return t.error ? cutShort(out, t.error.message) : out;
    }
    case 'logs':
      break;
  }

  // Rows carry provisional template keys until finishInput sets the final ids, in the transaction
  // that marks the input done.
  let r: IngestedLogs;
  try {
    r = await appendLogInput(store, ref, inputId, { format: ctx.format, templates: true });
    await store.finishInput(
      inputId,
      {
        records: r.records,
        skipped: r.report.skipped,
        error: r.error ? r.error.message : null,
        format: r.report.format,
      },
      r.templates,
    );
  } catch (err) {
    // A store error: leave no half-written input behind if the store still lets us (else the next
    // ingest removes it, as after a crash), then stop.
    await store.removeInput(inputId).catch(() => undefined);
    throw err;
  }
  const out: IngestedInput = {
    ...result,
    format: r.report.format,
    records: r.records,
    skipped: r.report.skipped,
    tables: nonZero({ logs: r.records }),
  };
  return r.error ? cutShort(out, r.error.message) : out;
}

/**
 * After the last input: NetFlow data that waited for a template in a later input was written under
 * the input that carried it, and data whose template never came is counted as skipped. Inputs
 * whose counts changed are recorded again (the `inputs` row and the result).
 */
async function settleFlowInputs(
  store: Store,
  flows: FlowStoreIngest,
  tracked: FlowTracked[],
): Promise<void> {
  const reports = new Map((await flows.finish()).map((r) => [r.id, r.report]));
  for (const t of tracked) {
    const report = reports.get(t.inputId);
    if (!report) continue;
    const flowRows = flows.rows(t.inputId);
    const isCapture = t.result.kind === 'capture';
    const skipped = isCapture ? t.baseSkipped + flows.recordsSkipped(t.inputId) : report.skipped;
    const tables = nonZero({ ...t.baseTables, flows: flowRows });
    const records = Object.values(tables).reduce((a, n) => a + n, 0);
    if (records === t.result.records && skipped === t.result.skipped) continue;
    t.result.records = records;
    t.result.skipped = skipped;
    t.result.tables = tables;
    await store.finishInput(t.inputId, {
      records,
      skipped,
      error: t.result.error,
      ...(t.result.format !== null ? { format: t.result.format } : {}),
    });
  }
}

function nonZero<K extends string>(rows: Partial<Record<K, number>>): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  for (const [k, n] of Object.entries(rows) as [K, number][]) if (n > 0) out[k] = n;
  return out;
}

/** SHA-256 of a byte range of a file on disk. */
function rangeHasher(path: string) {
  return async (offset: number, length: number): Promise<string> => {
    const h = createHash('sha256');
    const fh = await fsp.open(path, 'r');
    try {
      const buf = Buffer.allocUnsafe(Math.min(length, 1 << 20));
      let pos = offset;
      let left = length;
      while (left > 0) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(left, buf.length), pos);
        if (bytesRead === 0) break;
        h.update(buf.subarray(0, bytesRead));
        pos += bytesRead;
        left -= bytesRead;
      }
    } finally {
      await fh.close();
    }
    return h.digest('hex');
  };
}
