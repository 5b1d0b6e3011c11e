// Conformance: `mlscope investigate` against the answer keys of incident bundles.
// usage: node --import tsx scripts/conformance-labs.ts <DATA_DIR | LAB_DIR…> [--min-accuracy R]
//          [--min-logs-only R] [--min-capture-only R] [--min-logs-no-app-ids R] [--min-front-hop R]
//          [--min-no-ids R] [--min-backend R] [--verbose]
// For every <lab>/bundle with <lab>/truth/truth.jsonl (read whole, logs only and capture only): the cause of each slow or failed request
// (truth `slow` or status ≥ 500) must match; every injected fault (truth cause other than none)
// must appear among the findings. Prints per lab accuracy and a confusion table; exits 1 below
// --min-accuracy (the CI ratchet, over all labs together) or when a fault has no finding.

import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
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
type View =
  | 'full'
  | 'logs-only'
  | 'capture-only'
  | 'logs-no-app-ids'
  | 'front-hop+logs'
  | 'backend+logs'
  | 'no-ids';
const VIEWS: View[] = [
  'full',
  'logs-only',
  'capture-only',
  'logs-no-app-ids',
  'front-hop+logs',
  'backend+logs',
  'no-ids',
];
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
  for (const v of VIEWS) {
    // a view that removes everything the lab has says nothing
    if (v !== 'full' && (!hasCapture || !hasLogs)) continue;
    const inv = investigate(
      viewOf(data, v),
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
