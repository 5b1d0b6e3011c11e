// Flow decoder conformance against recorded reference outputs and public sample payloads.
//   node --import tsx scripts/conformance-flows.ts <DATA_DIR> [--min N]
// Checks:
//   pmacct/<case>/traffic-*.pcap → the flows nfacctd wrote to output-flow-00.json. nfacctd
//     aggregates by its configured keys (several of which we do not decode: MPLS, VRF, fwd_status…),
//     so both sides are summed per (src, dst, ports, proto, tos, in/out interface, tcp flags,
//     start/end when the reference has them) and compared: same groups, same bytes and packets.
//   logstash-codec-netflow-dat/*.dat, fed per exporter family (template files first, fresh state
//     per family): each payload decodes records, defines templates/options, or is skipped with a
//     stated reason; nothing may throw or stop.
//   derived-pcap-from-logstash-dat/*.pcap and akvorado/*.pcap (each alone): our record count
//     against tshark's count recorded in MANIFEST.md (informational where tshark's column counts
//     address fields rather than records).
//   flowlogs/**: every sample parses with no malformed records.
// Prints a table; exits 1 on any mismatch, or, with --min N, when fewer than N checks pass.

import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, basename } from 'node:path';
import { FlowIngest } from '../src/ingest/flows.js';
import type { FlowRecord } from '../src/model/flow.js';
import { protoNumber } from '../src/model/flow.js';
import type { QualityReport } from '../src/model/quality.js';

interface Row {
  suite: string;
  name: string;
  ok: boolean;
  /** Informational rows are shown but do not fail the run. */
  info: boolean;
  detail: string;
}

const rows: Row[] = [];
const args = process.argv.slice(2);
const minIdx = args.indexOf('--min');
const min = minIdx >= 0 ? Number(args[minIdx + 1]) : null;
const dataDir = args.find((a, i) => !a.startsWith('--') && (minIdx < 0 || i !== minIdx + 1));
if (!dataDir || !existsSync(dataDir)) {
  process.stderr.write('usage: conformance-flows.ts <DATA_DIR> [--min N]\n');
  process.exit(2);
}

async function decode(
  files: string[],
): Promise<{ flows: FlowRecord[]; reports: QualityReport[]; ingest: FlowIngest }> {
  const flows: FlowRecord[] = [];
  const ingest = new FlowIngest((f) => flows.push(f));
  for (const f of files) await ingest.ingest({ name: f, path: f });
  const reports = ingest.finish();
  return { flows, reports, ingest };
}

function sumSkips(reports: QualityReport[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of reports)
    for (const [k, v] of Object.entries(r.skippedByReason)) out[k] = (out[k] ?? 0) + v;
  return out;
}

// ---------------------------------------------------------------- pmacct

const TCP_FLAG_BITS: Record<string, number> = {
  FIN: 1,
  SYN: 2,
  RST: 4,
  PSH: 8,
  ACK: 16,
  URG: 32,
  ECE: 64,
  CWR: 128,
};
const PMACCT_PROTO: Record<string, number> = {
  'ipv6-icmp': 58,
  vrrp: 112,
  icmp: 1,
  tcp: 6,
  udp: 17,
  gre: 47,
  esp: 50,
};

function pmacctProto(v: unknown): number {
  if (typeof v === 'number') return v;
  const s = String(v);
  return PMACCT_PROTO[s] ?? protoNumber(s);
}

function tsUs(v: unknown): number {
  const [s, f] = String(v).split('.');
  return Number(s) * 1e6 + Number(((f ?? '') + '000000').slice(0, 6));
}

/**
 * nfacctd (timestamps_secs: true) computes a v9 time as exportSecs − trunc((sysUptime − switched) / 1000),
 * i.e. our ms-precise time rounded up to the second.
 */
function pmacctSecs(us: number | null): number {
  return us === null ? 0 : Math.ceil(us / 1e6) * 1e6;
}

interface Agg {
  bytes: number;
  packets: number;
  n: number;
}

async function pmacct(dir: string): Promise<void> {
  for (const c of readdirSync(dir).sort()) {
    const cdir = join(dir, c);
    if (!statSync(cdir).isDirectory()) continue;
    const ref = join(cdir, 'output-flow-00.json');
    const pcaps = readdirSync(cdir)
      .filter((f) => /^traffic-\d+\.pcap$/.test(f))
      .sort()
      .map((f) => join(cdir, f));
    if (!existsSync(ref) || pcaps.length === 0) continue;
    const refLines = readFileSync(ref, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const keys = new Set<string>();
    for (const r of refLines) for (const k of Object.keys(r)) keys.add(k);
    const keyOfRef = (r: Record<string, unknown>): string =>
      [
        r['ip_src'],
        r['ip_dst'],
        r['port_src'],
        r['port_dst'],
        pmacctProto(r['ip_proto']),
        keys.has('tos') ? r['tos'] : '',
        keys.has('iface_in') ? r['iface_in'] : '',
        keys.has('iface_out') ? r['iface_out'] : '',
        keys.has('tcp_flags')
          ? (r['tcp_flags'] as string[]).reduce((a, n) => a | (TCP_FLAG_BITS[n] ?? 0), 0)
          : '',
        keys.has('timestamp_start') ? tsUs(r['timestamp_start']) : '',
        keys.has('timestamp_end') ? tsUs(r['timestamp_end']) : '',
      ].join('|');
    const keyOfFlow = (f: FlowRecord): string =>
      [
        f.src,
        f.dst,
        f.srcPort,
        f.dstPort,
        f.proto,
        keys.has('tos') ? (f.tos ?? 0) : '',
        keys.has('iface_in') ? (f.inIf ?? 0) : '',
        keys.has('iface_out') ? (f.outIf ?? 0) : '',
        keys.has('tcp_flags') ? (f.tcpFlags ?? 0) : '',
        keys.has('timestamp_start') ? pmacctSecs(f.startUs) : '',
        keys.has('timestamp_end') ? pmacctSecs(f.endUs) : '',
      ].join('|');
    const want = new Map<string, Agg>();
    for (const r of refLines) {
      const k = keyOfRef(r);
      const a = want.get(k) ?? { bytes: 0, packets: 0, n: 0 };
      a.bytes += Number(r['bytes']);
      a.packets += Number(r['packets']);
      a.n++;
      want.set(k, a);
    }
    const { flows, reports } = await decode(pcaps);
    const got = new Map<string, Agg>();
    for (const f of flows) {
      const k = keyOfFlow(f);
      const a = got.get(k) ?? { bytes: 0, packets: 0, n: 0 };
      a.bytes += f.bytes;
      a.packets += f.packets;
      a.n++;
      got.set(k, a);
    }
    const problems: string[] = [];
    for (const [k, w] of want) {
      const g = got.get(k);
      if (!g) problems.push(`missing ${k}`);
      else if (g.bytes !== w.bytes || g.packets !== w.packets)
        problems.push(`${k}: bytes ${g.bytes}/${w.bytes} packets ${g.packets}/${w.packets}`);
    }
    for (const k of got.keys()) if (!want.has(k)) problems.push(`extra ${k}`);
    const tb = (m: Map<string, Agg>): [number, number] =>
      [...m.values()].reduce<[number, number]>(
        (s, a) => [s[0] + a.bytes, s[1] + a.packets],
        [0, 0],
      );
    const [gb, gp] = tb(got);
    const [wb, wp] = tb(want);
    const errs = reports.filter((r) => r.error).map((r) => r.error);
    rows.push({
      suite: 'pmacct',
      name: c,
      ok: problems.length === 0 && errs.length === 0,
      info: false,
      detail:
        `records ${flows.length} → ${got.size} groups / ref ${refLines.length} lines → ${want.size} groups; ` +
        `bytes ${gb}/${wb} packets ${gp}/${wp}` +
        (Object.keys(sumSkips(reports)).length
          ? `; skipped ${JSON.stringify(sumSkips(reports))}`
          : '') +
        (problems.length ? `; ${problems.length} diffs, first: ${problems[0]}` : '') +
        (errs.length ? `; ${errs.join('; ')}` : ''),
    });
  }
}

// ---------------------------------------------------------------- logstash payloads

function family(name: string): string {
  return name.replace(/\.dat$/, '').replace(/_(?:opt)?tpl.*$|_data.*$/, '');
}

async function logstash(dir: string): Promise<void> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.dat'))
    .sort();
  const fams = new Map<string, string[]>();
  for (const f of files) {
    const k = family(f);
    fams.set(k, [...(fams.get(k) ?? []), f]);
  }
  for (const [fam, members] of fams) {
    const isTpl = (f: string): boolean => /_(?:opt)?tpl/.test(f);
    const ordered = [...members.filter(isTpl), ...members.filter((f) => !isTpl(f))];
    const flows: FlowRecord[] = [];
    const ingest = new FlowIngest((fl) => flows.push(fl));
    const perFile: {
      f: string;
      before: number;
      stats: string;
      templatesBefore: number;
      optsBefore: number;
    }[] = [];
    const reportsByFile = new Map<string, QualityReport>();
    for (const f of ordered) {
      const s = ingest.netflow.stats;
      const templatesBefore = s.templates + s.optionsTemplates;
      const optsBefore = s.optionsRecords;
      const before = flows.length;
      const rep = await ingest.ingest({ name: f, path: join(dir, f) });
      reportsByFile.set(f, rep);
      perFile.push({ f, before, stats: '', templatesBefore, optsBefore });
      const t = s.templates + s.optionsTemplates - templatesBefore;
      const o = s.optionsRecords - optsBefore;
      perFile[perFile.length - 1]!.stats = `templates+${t} options+${o}`;
    }
    const finals = ingest.finish();
    for (const r of finals) reportsByFile.set(r.source, r);
    for (const p of perFile) {
      const r = reportsByFile.get(p.f)!;
      const reasons = Object.entries(r.skippedByReason)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      const did = r.decoded > 0 || r.skipped > 0 || !p.stats.startsWith('templates+0 options+0');
      rows.push({
        suite: 'logstash',
        name: p.f,
        ok: r.error === null && did && r.seen === r.decoded + r.skipped,
        info: false,
        detail: `[${fam}] decoded ${r.decoded} skipped ${r.skipped}${reasons ? ` (${reasons})` : ''} ${p.stats}${r.error ? ' ERROR ' + r.error : ''}`,
      });
    }
  }
}

// ---------------------------------------------------------------- pcaps vs tshark counts

function manifestCounts(dataDir: string): Map<string, number> {
  const out = new Map<string, number>();
  const p = join(dataDir, 'MANIFEST.md');
  if (!existsSync(p)) return out;
  for (const line of readFileSync(p, 'utf8').split('\n')) {
    const m =
      /^\| `((?:akvorado|derived-pcap-from-logstash-dat)\/[^`]+\.pcap)` \|.*\| (\d+) \|\s*$/.exec(
        line,
      );
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

async function pcapCounts(dataDir: string): Promise<void> {
  const counts = manifestCounts(dataDir);
  for (const [rel, want] of counts) {
    if (want === 0) continue;
    const path = join(dataDir, 'netflow', rel);
    if (!existsSync(path)) continue;
    const { flows, reports } = await decode([path]);
    const derived = rel.startsWith('derived');
    const reasons = JSON.stringify(sumSkips(reports));
    const ok = flows.length === want && reports.every((r) => r.error === null);
    rows.push({
      suite: derived ? 'tshark-derived' : 'tshark-akvorado',
      name: basename(rel),
      ok,
      info: !derived,
      detail: `records ${flows.length} / tshark ${want}${reasons !== '{}' ? ` skipped ${reasons}` : ''}`,
    });
  }
}

// ---------------------------------------------------------------- flow logs

function walk(d: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(d).sort()) {
    const p = join(d, n);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

async function flowlogs(dir: string): Promise<void> {
  const benign = new Set(['aws-nodata', 'aws-skipdata']);
  for (const f of walk(dir)) {
    const { flows, reports } = await decode([f]);
    const r = reports[0]!;
    const bad = Object.keys(r.skippedByReason).filter((k) => !benign.has(k));
    const ok =
      r.error === null && bad.length === 0 && r.seen > 0 && r.seen === r.decoded + r.skipped;
    rows.push({
      suite: 'flowlogs',
      name: f.slice(dir.length + 1),
      ok,
      info: false,
      detail: `${r.format}: records ${flows.length}, skipped ${JSON.stringify(r.skippedByReason)}${r.error ? ' ERROR ' + r.error : ''}`,
    });
  }
}

// ---------------------------------------------------------------- main

const nf = join(dataDir, 'netflow');
if (existsSync(join(nf, 'pmacct'))) await pmacct(join(nf, 'pmacct'));
if (existsSync(join(nf, 'logstash-codec-netflow-dat')))
  await logstash(join(nf, 'logstash-codec-netflow-dat'));
await pcapCounts(dataDir);
if (existsSync(join(dataDir, 'flowlogs'))) await flowlogs(join(dataDir, 'flowlogs'));

const w1 = Math.max(...rows.map((r) => r.suite.length));
const w2 = Math.max(...rows.map((r) => r.name.length));
for (const r of rows) {
  const mark = r.ok ? 'ok  ' : r.info ? 'info' : 'FAIL';
  process.stdout.write(`${mark}  ${r.suite.padEnd(w1)}  ${r.name.padEnd(w2)}  ${r.detail}\n`);
}
const checks = rows.filter((r) => !r.info);
const passed = checks.filter((r) => r.ok).length;
const infoOk = rows.filter((r) => r.info && r.ok).length;
const infoAll = rows.filter((r) => r.info).length;
process.stdout.write(
  `\nconformance: ${passed}/${checks.length} checks pass` +
    (infoAll ? ` (informational: ${infoOk}/${infoAll} agree)` : '') +
    `; ratchet figure: --min ${passed}\n`,
);
const fail = min !== null && Number.isFinite(min) ? passed < min : passed < checks.length;
process.exit(fail ? 1 : 0);
