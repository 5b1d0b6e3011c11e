// `mlscope ingest <inputs…> --db FILE [--format F] [--json]`: decode inputs into a DuckDB file for
// `mlscope sql` and the analyzers. Logs now; packet captures go through `ingestCapture`
// (ingest-capture.ts). Re-ingesting is idempotent: each regular file is fingerprinted (size,
// SHA-256 of its first and last MiB) and recorded in the `inputs` table; identical content is
// skipped, a file that grew replaces its earlier rows (policy in store/inputs.ts). stdin and FIFOs
// cannot be fingerprinted and are always ingested.

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { ExitCode, parseCommandArgs, writeJson, type Command, type Io } from '../command.js';
import { ErrorCode, InputError, UsageError, errorMessage } from '../../util/errors.js';
import { expandInputs, readHead, type InputRef } from '../../sources/files.js';
import { decideInput, fingerprint, type Fingerprint } from '../../store/inputs.js';
import type { Store } from '../../store/store.js';
import { appendLogInput, checkLogFormat } from './log-input.js';
import { ingestCapture, sniffCapture } from './ingest-capture.js';
import { openStore } from './sql.js';
import { renderTable, sanitizeCell } from './render.js';

const USAGE = 'mlscope ingest <inputs…> --db FILE [--format auto|json|nginx-combined|…] [--json]';

export interface IngestedInput {
  path: string;
  action: 'ingested' | 'replaced' | 'skipped' | 'failed';
  kind: 'logs' | 'capture' | null;
  format: string | null;
  records: number;
  skipped: number;
  /** For 'skipped': the recorded input with the same content; for 'replaced': the one replaced. */
  sameAs: string | null;
  error: string | null;
}

export const ingestCommand: Command = {
  name: 'ingest',
  summary: 'decode logs (captures soon) into a DuckDB file for `mlscope sql`',
  usage: USAGE,
  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs('ingest', argv, {
      db: { type: 'string' },
      format: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (!values.db) throw new UsageError('ingest: --db FILE is required');
    if (positionals.length === 0) throw new UsageError('ingest: no inputs given');
    const format = checkLogFormat('ingest', values.format);

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
        sameAs: null,
        error: err.message,
      });
    };
    const refs = await expandInputs(positionals, (e) => fail(e.file, e));

    const store = await openStore(values.db);
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
        const r = await ingestOne(store, ref, { format }, io);
        results.push(r);
        if (r.action === 'failed') exit = ExitCode.INPUT_ERROR;
      }
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
          ['input', 'action', 'format', 'records', 'skipped', 'note'],
          results.map((r) => [
            r.path,
            r.action,
            r.format,
            r.records,
            r.skipped,
            r.action === 'skipped'
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

async function ingestOne(
  store: Store,
  ref: InputRef,
  opts: { format: string },
  io: Io,
): Promise<IngestedInput> {
  const result: IngestedInput = {
    path: ref.name,
    action: 'ingested',
    kind: null,
    format: null,
    records: 0,
    skipped: 0,
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

  // Fingerprint regular files; decide skip / replace / new.
  let fp: Fingerprint | null = null;
  let capture: 'pcap' | 'pcapng' | null = null;
  try {
    if (ref.path !== null) {
      const st = await fsp.stat(ref.path);
      if (st.isFile()) {
        fp = await fingerprint(ref.name, st.size, st.mtimeMs, rangeHasher(ref.path));
        capture = sniffCapture(await readHead(ref, 8));
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

  const kind = capture ? 'capture' : 'logs';
  result.kind = kind;
  const inputId = await store.beginInput({
    path: ref.name,
    sizeBytes: fp?.sizeBytes ?? 0,
    mtimeMs: fp?.mtimeMs ?? Date.now(),
    headHash: fp?.headHash ?? '',
    tailHash: fp?.tailHash ?? '',
    windowBytes: fp?.windowBytes ?? 0,
    kind,
    format: capture,
  });

  if (capture) {
    try {
      const c = await ingestCapture(ref, store, inputId, capture);
      await store.finishInput(inputId, { ...c.stats, format: c.format });
      const out: IngestedInput = {
        ...result,
        format: c.format,
        records: c.stats.records,
        skipped: c.stats.skipped,
      };
      if (c.stats.error) {
        io.stderr.write(
          `mlscope: ${sanitizeCell(c.stats.error)} (${c.stats.records} records before it were kept)\n`,
        );
        return { ...out, action: 'failed', error: c.stats.error };
      }
      return out;
    } catch (err) {
      // Nothing usable was recorded: forget the input so a later run retries it.
      await store.removeInput(inputId);
      return failed(err);
    }
  }

  const r = await appendLogInput(store, ref, inputId, { format: opts.format });
  await store.finishInput(inputId, {
    records: r.records,
    skipped: r.report.skipped,
    error: r.error ? r.error.message : null,
    format: r.report.format,
  });
  const out: IngestedInput = {
    ...result,
    format: r.report.format,
    records: r.records,
    skipped: r.report.skipped,
  };
  if (r.error) {
    io.stderr.write(
      `mlscope: ${sanitizeCell(r.error.message)} (${r.records} records before it were kept)\n`,
    );
    return { ...out, action: 'failed', error: r.error.message };
  }
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
