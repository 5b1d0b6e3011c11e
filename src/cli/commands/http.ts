// `mlscope http <capture…> [--json|--csv] [--limit N]`: one row per HTTP exchange with its timings.

import { endpointText, type Exchange } from '../../model/records.js';
import { expandInputs } from '../../sources/files.js';
import { analyzeCapture } from '../../ingest/capture.js';
import { allRecognisers } from '../../decoders/proto/registry.js';
import { fmtMs, renderTable, safeText, aligns } from '../../outputs/text.js';
import {
  drained,
  ExitCode,
  numberFlag,
  parseCommandArgs,
  writeJson,
  type Command,
  type Io,
} from '../command.js';
import { UsageError, type InputError } from '../../util/errors.js';
import { isoUsMicro } from '../../util/iso.js';
import { DEFAULT_REORDER, ReorderWindow } from '../../outputs/reorder.js';
import { keyLogFlag } from '../../ingest/keylog.js';
import { Heap } from '../../util/heap.js';

const CSV_COLUMNS = [
  'file',
  'id',
  'connId',
  'protocol',
  'streamId',
  'client',
  'server',
  'method',
  'host',
  'path',
  'status',
  'requestId',
  'traceparent',
  'reqBodyBytes',
  'respBodyBytes',
  'reqFirstTime',
  'reqLastTime',
  'respFirstTime',
  'respLastTime',
  'serverTimeMs',
  'totalMs',
  'state',
  'grpcStatus',
  'reqFirstFrame',
  'respFirstFrame',
  'grpcService',
  'grpcMethod',
  'grpcReqMessages',
  'grpcRespMessages',
  'llmModel',
  'ttftMs',
  'gapP50Ms',
  'gapMaxMs',
  'tokens',
  'tokensPerSec',
  'stalls',
] as const;

function csvCell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  // Neutralise spreadsheet formulas and quote when needed.
  const t = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

function round3(x: number | null): number | null {
  return x === null ? null : Math.round(x * 1000) / 1000;
}

/** One exchange as a flat JSON/CSV row. */
export type ExchangeRow = ReturnType<typeof exchangeJson>;

export function exchangeJson(file: string, x: Exchange) {
  return {
    file,
    id: x.id,
    connId: x.connId,
    protocol: x.protocol,
    streamId: x.streamId,
    client: endpointText(x.client),
    server: endpointText(x.server),
    method: x.method,
    host: x.host,
    path: x.path,
    status: x.status,
    requestId: x.requestId,
    traceparent: x.traceparent,
    contentType: x.contentType,
    reqBodyBytes: x.reqBodyBytes,
    respBodyBytes: x.respBodyBytes,
    reqFirstTime: isoMicro(x.reqFirstUs),
    reqLastTime: isoMicro(x.reqLastUs),
    respFirstTime: isoMicro(x.respFirstUs),
    respLastTime: isoMicro(x.respLastUs),
    serverTimeMs: round3(x.serverTimeMs),
    totalMs: round3(x.totalMs),
    state: x.state,
    grpcStatus: x.grpcStatus,
    grpcMessage: x.grpcMessage,
    reqFirstFrame: x.reqFirstFrame,
    respFirstFrame: x.respFirstFrame,
    respLastFrame: x.respLastFrame,
    // gRPC (HTTP/2) and ML API analysis, when the decoder attached them.
    grpcService: x.grpc?.service ?? null,
    grpcMethod: x.grpc?.method ?? null,
    grpcReqMessages: x.grpc?.reqMessages ?? null,
    grpcRespMessages: x.grpc?.respMessages ?? null,
    llmModel: x.llm?.stream?.model ?? x.llm?.request?.model ?? null,
    ttftMs: round3(x.llm?.stream?.ttftMs ?? null),
    gapP50Ms: round3(x.llm?.stream?.gapP50Ms ?? null),
    gapMaxMs: round3(x.llm?.stream?.gapMaxMs ?? null),
    tokens: x.llm?.stream?.tokens ?? null,
    tokensPerSec: round3(x.llm?.stream?.tokensPerSec ?? null),
    stalls: x.llm?.stream?.stalls ?? null,
  };
}

/** ISO 8601 with microseconds. */
export function isoMicro(us: number | null): string | null {
  if (us === null) return null;
  return isoUsMicro(us);
}

/** When an exchange started (ISO text, which sorts as time); exchanges without one sort last. */
function timeKey(r: ExchangeRow): string {
  return r.reqFirstTime ?? r.respFirstTime ?? '\uffff';
}

function cmpTime(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The `n` earliest rows seen (a max-heap on time: memory bounded by n, not by the capture). */
class Earliest {
  /** The latest of the rows kept on top, to be replaced by an earlier one. */
  private readonly heap = new Heap<ExchangeRow>((a, b) => cmpTime(timeKey(a), timeKey(b)) > 0);
  constructor(private readonly n: number) {}

  offer(r: ExchangeRow): void {
    if (this.n <= 0) return;
    if (this.heap.size < this.n) this.heap.push(r);
    else if (cmpTime(timeKey(r), timeKey(this.heap.peek()!)) < 0) this.heap.replaceTop(r);
  }

  /** The rows kept, earliest first. */
  sorted(): ExchangeRow[] {
    return this.heap
      .items()
      .slice()
      .sort((a, b) => cmpTime(timeKey(a), timeKey(b)));
  }
}

export const httpCommand: Command = {
  name: 'http',
  summary: 'HTTP request/response exchanges in captures, with timings',
  usage: 'mlscope http <capture…> [--json | --csv] [--limit N] [--tls-keylog FILE]',
  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs('http', argv, {
      json: { type: 'boolean' },
      csv: { type: 'boolean' },
      limit: { type: 'string' },
      'tls-keylog': { type: 'string' },
    });
    if (positionals.length === 0)
      throw new UsageError('http: give a capture file (or - for stdin)');
    if (values.json && values.csv) throw new UsageError('http: choose one of --json and --csv');
    const tlsKeys = await keyLogFlag(values['tls-keylog']);
    const limit =
      numberFlag('http', 'limit', values.limit) ?? (values.json || values.csv ? Infinity : 50);
    const errors: InputError[] = [];
    const refs = await expandInputs(positionals, (e) => errors.push(e));
    let rows: ExchangeRow[] = [];
    // With a limit, the `limit` earliest requests (by time), not the first to complete: a slow
    // request completes after faster ones that started later.
    const earliest = new Earliest(limit);
    let total = 0;
    // --csv / --json without a limit stream every exchange in start order, in bounded memory
    // (outputs/reorder.ts); JSON keeps its document shape, one exchange per line.
    const streaming = limit === Infinity && (values.csv === true || values.json === true);
    let firstRow = true;
    const reorder = new ReorderWindow((text) => {
      if (values.csv) io.stdout.write(text + '\n');
      else {
        io.stdout.write((firstRow ? '\n    ' : ',\n    ') + text);
        firstRow = false;
      }
    });
    if (values.csv) io.stdout.write(CSV_COLUMNS.join(',') + '\n');
    else if (streaming) io.stdout.write('{\n  "exchanges": [');
    for (const ref of refs) {
      const run = await analyzeCapture(ref, {
        recognisers: allRecognisers(),
        protoLimits: { tlsKeys },
        between: () => drained(io.stdout),
        sink: {
          exchange(x) {
            total++;
            const j = exchangeJson(ref.name, x);
            if (streaming) {
              const start = x.reqFirstUs ?? x.respFirstUs ?? NaN;
              const done = x.respLastUs || (x.reqLastUs ?? start);
              const text = values.csv
                ? CSV_COLUMNS.map((c) => csvCell(j[c])).join(',')
                : JSON.stringify(j);
              reorder.offer(start, done, text);
            } else earliest.offer(j);
          },
        },
      });
      reorder.flush();
      if (run.error) errors.push(run.error);
    }
    for (const e of errors) io.stderr.write(`mlscope: ${e.message}\n`);
    if (reorder.late > 0)
      io.stderr.write(
        `mlscope: ${reorder.late} exchanges ran longer than the reorder window (${DEFAULT_REORDER.windowUs / 60e6} min of capture time, or ${DEFAULT_REORDER.maxHeld} held rows) and are out of start order\n`,
      );
    if (streaming) {
      if (values.json) io.stdout.write(`${firstRow ? '' : '\n  '}],\n  "total": ${total}\n}\n`);
      return errors.length > 0 ? ExitCode.INPUT_ERROR : ExitCode.OK;
    }
    rows = earliest.sorted();
    if (values.json) {
      writeJson(io, { exchanges: rows, total });
    } else {
      const sorted = rows.slice().sort((a, b) => cmpTime(timeKey(a), timeKey(b)));
      io.stdout.write(
        renderTable(
          [
            'time',
            'client',
            'server',
            'method',
            'path',
            'status',
            'server time',
            'total',
            'req B',
            'resp B',
            'request id',
            'state',
          ],
          sorted.map((r) => [
            (r.reqFirstTime ?? r.respFirstTime ?? '-').slice(11, 26),
            r.client,
            r.server,
            safeText(r.method ?? '-', 10),
            // inside TLS without keys: the request is unknown, its timing is from record times
            r.path === null && r.protocol.startsWith('TLS')
              ? `(${r.protocol === 'TLS' ? 'TLS' : 'TLS, h2?'}: encrypted)`
              : safeText(r.path ?? '-', 48),
            r.status,
            fmtMs(r.serverTimeMs),
            fmtMs(r.totalMs),
            r.reqBodyBytes,
            r.respBodyBytes,
            safeText(r.requestId ?? '-', 36),
            r.state,
          ]),
          aligns('lllllrrrrrll'),
        ) + '\n',
      );
      if (total > rows.length)
        io.stdout.write(`… ${total - rows.length} more (use --limit, --json or --csv)\n`);
      else io.stdout.write(`${total} exchanges\n`);
      const opaque = rows.filter((r) => r.path === null && r.protocol.startsWith('TLS')).length;
      if (opaque > 0)
        io.stdout.write(
          `${opaque} inside TLS without keys: timed from TLS record times and sizes (request and ` +
            'response bursts); give --tls-keylog FILE to see them\n',
        );
    }
    return errors.length > 0 ? ExitCode.INPUT_ERROR : ExitCode.OK;
  },
};
