// Conformance: `mlscope investigate` against the answer keys of incident bundles.
// usage: node --import tsx scripts/conformance-labs.ts <DATA_DIR | LAB_DIR…> [--min-accuracy R]
//          [--min-logs-only R] [--min-capture-only R] [--min-logs-no-app-ids R] [--min-front-hop R]
//          [--min-no-ids R] [--min-backend R] [--min-rewritten-logs R] [--verbose]
// For every <lab>/bundle with <lab>/truth/truth.jsonl (read whole, logs only and capture only): the cause of each slow or failed request
// (truth `slow` or status ≥ 500) must match; every injected fault (truth cause other than none)
// must appear among the findings. Prints per lab accuracy and a confusion table; exits 1 below
// --min-accuracy (the CI ratchet, over all labs together) or when a fault has no finding.

import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { readBundle, type BundleData } from '../src/ingest/bundle.js';
import { investigate, type InvestigateInput } from '../src/analyzers/investigate/investigate.js';
import { isAccessRecord } from '../src/analyzers/investigate/join.js';

const args = process.argv.slice(2);
/** A `--min-…` ratchet given on the command line, or null. */
const minFlag = (name: string): number | null =>
  args.includes(name) ? Number(args[args.indexOf(name) + 1]) : null;
const minAcc = minFlag('--min-accuracy');
const verbose = args.includes('--verbose');
const roots = args.filter(
  (a, i) => !a.startsWith('--') && !(args[i - 1] ?? '').startsWith('--min-'),
);

function labsUnder(dir: string): string[] {
  if (existsSync(join(dir, 'bundle')) && existsSync(join(dir, 'truth/truth.jsonl'))) return [dir];
  const sub = existsSync(join(dir, 'labs')) ? join(dir, 'labs') : dir;
  return readdirSync(sub)
    .map((n) => join(sub, n))
    .filter(
      (p) =>
        statSync(p).isDirectory() &&
        existsSync(join(p, 'bundle')) &&
        existsSync(join(p, 'truth/truth.jsonl')),
    );
}

interface Truth {
  request_id: string;
  route: string;
  status: number;
  slow: boolean;
  cause: string;
  client_ms: number;
}

// Each lab is also read as an on-call engineer often gets it: only the logs (no capture) and only
// the capture (no logs). Each view has its own accuracy and ratchet.
// A fourth view: logs only, with the request ids taken out of every line that is not an access
// line (apps that do not log ids), so app lines can only be joined by time.
// A fifth: the logs and only the client-facing hop of the capture (tcpdump on the proxy's front
// interface, or on a client): the hops behind the proxy are known from its log only.
// A seventh (listed before it): the logs and only the hops behind the front proxy (tcpdump on a
// backend host): the proxy's log gives the request's whole time.
// A sixth: the whole bundle with every request id and trace id taken out — of the capture's
// exchanges (headers included) and of every log line — as when nobody set up request ids: hops
// join by time, bodies and paths, log lines by time. Requests are scored by their start on the
// client-facing hop, mapped back to the ids the answer key uses.
// An eighth: the logs alone, rewritten as other services write them (`rewriteLogs`): JSON app
// lines as Python logging text with key=value messages and other field names, the proxy's
// key=value extras under nginx's own variable names — mlscope must not depend on one spelling.
type View =
  | 'full'
  | 'logs-only'
  | 'capture-only'
  | 'logs-no-app-ids'
  | 'front-hop+logs'
  | 'backend+logs'
  | 'no-ids'
  | 'rewritten-logs';
const VIEWS: View[] = [
  'full',
  'logs-only',
  'capture-only',
  'logs-no-app-ids',
  'front-hop+logs',
  'backend+logs',
  'no-ids',
  'rewritten-logs',
];

/** Other spellings of the lab's field names, as other services and log formats write them. */
const RENAMES: Record<string, string> = {
  request_id: 'correlation_id',
  inference_ms: 'model_latency_ms',
  rt: 'request_time',
  uct: 'upstream_connect_time',
  uht: 'upstream_header_time',
  urt: 'upstream_response_time',
  ua: 'upstream_addr',
  us: 'upstream_status',
  rid: 'request_id',
};

/** A JSON app line as Python's logging writes it: `date time,ms LEVEL logger: event k=v …`. */
function asPythonLogging(o: Record<string, unknown>): string | null {
  const ts = typeof o['ts'] === 'string' ? new Date(o['ts']) : null;
  if (!ts || Number.isNaN(ts.getTime())) return null;
  const iso = ts.toISOString();
  const str = (v: unknown, d: string): string => (typeof v === 'string' ? v : d);
  const head = `${iso.slice(0, 10)} ${iso.slice(11, 19)},${iso.slice(20, 23)} ${str(o['level'], 'INFO')} ${str(o['logger'], 'app')}: ${str(o['event'] ?? o['msg'], '')}`;
  const kv = Object.entries(o)
    .filter(([k]) => !['ts', 'level', 'logger', 'event', 'msg'].includes(k))
    .map(([k, v]) => {
      const t = typeof v === 'string' ? v : JSON.stringify(v);
      return `${RENAMES[k] ?? k}=${/[\s"=]/.test(t) ? JSON.stringify(t) : t}`;
    });
  return [head, ...kv].join(' ');
}

/** A copy of a bundle's logs rewritten (see the eighth view); returns its directory. */
function rewriteLogs(bundle: string): string {
  const out = mkdtempSync(join(tmpdir(), 'mlscope-rewritten-'));
  const walk = (dir: string): void => {
    for (const n of readdirSync(dir)) {
      const p = join(dir, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(log|jsonl|json|txt)$/.test(n)) {
        const lines = readFileSync(p, 'utf8').split('\n');
        const rewritten = lines.map((l) => {
          if (l.startsWith('{')) {
            try {
              return asPythonLogging(JSON.parse(l) as Record<string, unknown>) ?? l;
            } catch {
              return l;
            }
          }
          // key=value extras after an access line: renamed
          return l.replace(/ ([a-z]{1,4})=/g, (m, k: string) =>
            RENAMES[k] ? ` ${RENAMES[k]}=` : m,
          );
        });
        writeFileSync(join(out, relative(bundle, p).replace(/[/\\]/g, '_')), rewritten.join('\n'));
      }
    }
  };
  walk(bundle);
  return out;
}
/** The logs with only the client-facing hop of the capture, or only the hops behind it. */
function hopsView(data: BundleData, behind: boolean): InvestigateInput {
  const servers = new Set(data.exchanges.map((x) => x.server.ip));
  const exchanges = data.exchanges.filter((x) => servers.has(x.client.ip) === behind);
  const conns = new Set(exchanges.map((x) => x.connId));
  return {
    exchanges,
    connections: new Map([...data.connections].filter(([id]) => conns.has(id))),
    retransmissions: data.retransmissions.filter((e) => conns.has(e.connId)),
    logs: data.logs,
    spans: data.spans,
  };
}

function viewOf(data: BundleData, v: View): InvestigateInput {
  if (v === 'logs-only')
    return {
      exchanges: [],
      connections: new Map(),
      retransmissions: [],
      logs: data.logs,
      spans: data.spans,
    };
  if (v === 'capture-only') return { ...data, logs: [] };
  // exchanges a proxy sent (their client is some exchange's server) are behind the front hop
  if (v === 'front-hop+logs') return hopsView(data, false);
  if (v === 'backend+logs') return hopsView(data, true);
  if (v === 'no-ids')
    return {
      ...data,
      exchanges: data.exchanges.map((x) => ({
        ...x,
        requestId: null,
        traceparent: null,
        requestHeaders: {},
        responseHeaders: {},
      })),
      logs: data.logs.map((r) => ({ ...r, requestId: null, traceId: null, spanId: null })),
    };
  if (v === 'logs-no-app-ids')
    return {
      exchanges: [],
      connections: new Map(),
      retransmissions: [],
      logs: data.logs.map((r) => (isAccessRecord(r) ? r : { ...r, requestId: null })),
      spans: data.spans,
    };
  return data;
}
const minFor: Record<View, number | null> = {
  full: minAcc,
  'logs-only': minFlag('--min-logs-only'),
  'capture-only': minFlag('--min-capture-only'),
  'logs-no-app-ids': minFlag('--min-logs-no-app-ids'),
  'front-hop+logs': minFlag('--min-front-hop'),
  'backend+logs': minFlag('--min-backend'),
  'no-ids': minFlag('--min-no-ids'),
  'rewritten-logs': minFlag('--min-rewritten-logs'),
};
const score = new Map<View, { total: number; correct: number; missingFaults: number }>();
for (const v of VIEWS) score.set(v, { total: 0, correct: 0, missingFaults: 0 });
const confusion = new Map<string, number>();
for (const lab of roots.flatMap(labsUnder)) {
  const truth = readFileSync(join(lab, 'truth/truth.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Truth);
  if (!truth.some((t) => typeof t.cause === 'string' && typeof t.request_id === 'string')) {
    console.log(`${lab}: not a latency lab (its truth has no per-request causes); skipped`);
    continue;
  }
  const summary = JSON.parse(readFileSync(join(lab, 'truth/summary.json'), 'utf8')) as {
    slow_ms?: number;
  };
  const data = await readBundle([join(lab, 'bundle')]);
  const hasCapture = data.exchanges.length > 0;
  // the id of each client-facing exchange by its start (its client is no exchange's server)
  const servers = new Set(data.exchanges.map((x) => x.server.ip));
  const idAtStart = new Map<number, string>();
  for (const x of data.exchanges)
    if (!servers.has(x.client.ip) && x.requestId !== null && x.reqFirstUs !== null)
      idAtStart.set(x.reqFirstUs, x.requestId);
  const hasLogs = data.logs.length > 0;
  let rewritten: BundleData | null = null;
  if (hasLogs && hasCapture) {
    const dir = rewriteLogs(join(lab, 'bundle'));
    rewritten = await readBundle([dir]);
    rmSync(dir, { recursive: true, force: true });
  }
  for (const v of VIEWS) {
    // a view that removes everything the lab has says nothing
    if (v !== 'full' && (!hasCapture || !hasLogs)) continue;
    const inv = investigate(
      v === 'rewritten-logs' ? viewOf(rewritten!, 'logs-only') : viewOf(data, v),
      summary.slow_ms !== undefined ? { slowMs: summary.slow_ms } : {},
    );
    const ours = new Map(
      inv.slowRequests.map((r) => [
        v === 'no-ids' ? (idAtStart.get(r.facts.startUs) ?? r.requestId) : r.requestId,
        r,
      ]),
    );
    let n = 0;
    let ok = 0;
    for (const t of truth) {
      if (!(t.slow || t.status >= 500)) continue;
      n++;
      const got = ours.get(t.request_id)?.cause ?? 'missing';
      if (v === 'full') {
        const key = `${t.cause} → ${got}`;
        confusion.set(key, (confusion.get(key) ?? 0) + 1);
      }
      if (got === t.cause) ok++;
      else if (verbose)
        console.log(
          `  [${v}] ${t.request_id} ${t.route} ${t.status} ${t.client_ms} ms: truth ${t.cause}, got ${got}`,
        );
    }
    const faults = new Set(truth.filter((t) => t.cause !== 'none').map((t) => t.cause));
    const found = new Set(inv.findings.map((f) => f.cause));
    const missing = [...faults].filter((f) => !found.has(f as never));
    const sc = score.get(v)!;
    sc.missingFaults += missing.length;
    sc.total += n;
    sc.correct += ok;
    console.log(
      `${lab} [${v}]: ${ok}/${n} causes correct (${n ? ((100 * ok) / n).toFixed(1) : '-'}%)${missing.length ? `; NO FINDING for: ${missing.join(', ')}` : '; every fault has a finding'}`,
    );
  }
}
console.log('\nconfusion, full bundles (truth → mlscope):');
for (const [k, v] of [...confusion].sort((a, b) => b[1] - a[1])) console.log(`  ${k}: ${v}`);
let fail = false;
const result: Record<string, unknown> = {};
for (const v of VIEWS) {
  const sc = score.get(v)!;
  const acc = sc.total ? sc.correct / sc.total : 0;
  result[v] = {
    accuracy: acc,
    correct: sc.correct,
    total: sc.total,
    missingFaults: sc.missingFaults,
  };
  const min = minFor[v];
  if (min !== null && acc + 1e-9 < min) {
    console.log(`FAIL: ${v} accuracy ${acc.toFixed(3)} is below the recorded ${min}`);
    fail = true;
  }
  // a fault with no finding fails the full view; in the partial views it is reported only
  if (v === 'full' && sc.missingFaults > 0) {
    console.log(`FAIL: ${sc.missingFaults} injected fault(s) without a finding`);
    fail = true;
  }
}
const full = result['full'] as {
  accuracy: number;
  correct: number;
  total: number;
  missingFaults: number;
};
console.log(`\nRESULT ${JSON.stringify({ ...full, views: result })}`);
process.exit(fail ? 1 : 0);
