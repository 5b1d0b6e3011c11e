// Differential comparison of mlscope with tshark on captures made by scripts/make-diff-corpus.sh
// (or any directory of captures): the `mlscope pcap --json` counts against tshark's display
// filters, and `mlscope http --json` exchanges against tshark's HTTP fields, per connection.
// usage: npm run build && node --import tsx scripts/diff-corpus.ts [DIR=/tmp/pd] [--verbose]
// Needs tshark. Prints one table row per capture and every per-exchange difference.
//
// How exchanges are compared: tshark marks a request in the frame where its reassembly completes
// (the request's last segment, body included) and a response in its last frame; `tcp.segment`
// lists the frames of a reassembled PDU, so its first one is the message's first frame. Requests
// are paired by order within a connection (keyed by its endpoints), responses by `http.request_in`.
// - status, method, path: equal;
// - times within 1 µs (mlscope keeps nanosecond stamps as µs in a double, 0.25 µs steps today);
// - frames: mlscope's reqFirstFrame / respFirstFrame / respLastFrame vs tshark's first segment of
//   the request, first segment and frame of the response;
// - tshark's http.time is response *last* frame − request last frame; compared with mlscope's
//   respLastTime − reqLastTime (not serverTimeMs, which ends at the response's first byte), and
//   mlscope's serverTimeMs with the time of tshark's first response segment − request frame.

import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const dir = args.find((a) => !a.startsWith('--')) ?? '/tmp/pd';
const verbose = args.includes('--verbose');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;

const sh = (cmd: string, a: string[]): string =>
  execFileSync(cmd, a, {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    stdio: ['ignore', 'pipe', 'ignore'],
  });

interface Counts {
  packets: number;
  connections: number;
  retransmissions: number;
  fast: number;
  spurious: number;
  dupAcks: number;
  zeroWindows: number;
  resets: number;
  requests: number;
  responses: number;
}

const FILTERS: [keyof Counts, string][] = [
  ['packets', 'frame'],
  [
    'retransmissions',
    'tcp.analysis.retransmission or tcp.analysis.fast_retransmission or tcp.analysis.spurious_retransmission',
  ],
  ['fast', 'tcp.analysis.fast_retransmission'],
  ['spurious', 'tcp.analysis.spurious_retransmission'],
  ['dupAcks', 'tcp.analysis.duplicate_ack'],
  ['zeroWindows', 'tcp.analysis.zero_window'],
  ['resets', 'tcp.flags.reset==1'],
  ['requests', 'http.request'],
  ['responses', 'http.response'],
];

function tsharkCounts(f: string): Counts {
  const out = sh('tshark', [
    '-r',
    f,
    '-q',
    '-z',
    `io,stat,0,${FILTERS.map(([, flt]) => flt).join(',')}`,
    '-z',
    'conv,tcp',
  ]);
  const c = { connections: 0 } as Counts;
  // io,stat: the totals row "| 0.000 <> end |  frames | bytes | frames | bytes ..."
  const row = out.split('\n').find((l) => /^\|\s*[\d.]+\s*<>\s*(End|[\d.]+)\s*\|/.test(l));
  if (!row) throw new Error(`no io,stat row for ${f}`);
  const cells = row
    .split('|')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  FILTERS.forEach(([k], i) => (c[k] = Number(cells[1 + 2 * i])));
  c.connections = out.split('\n').filter((l) => l.includes('<->')).length;
  return c;
}

interface MlPcap {
  packets: number;
  tcp: {
    connections: number;
    retransmissions: number;
    fastRetransmissions: number;
    spuriousRetransmissions: number;
    duplicateAcks: number;
    zeroWindows: number;
    resets: number;
  };
  http: { requests: number; responses: number };
}

function mlCounts(f: string): Counts {
  const j = JSON.parse(sh('node', ['bin/mlscope.js', 'pcap', f, '--json'])) as MlPcap;
  return {
    packets: j.packets,
    connections: j.tcp.connections,
    retransmissions: j.tcp.retransmissions,
    fast: j.tcp.fastRetransmissions,
    spurious: j.tcp.spuriousRetransmissions,
    dupAcks: j.tcp.duplicateAcks,
    zeroWindows: j.tcp.zeroWindows,
    resets: j.tcp.resets,
    requests: j.http.requests,
    responses: j.http.responses,
  };
}

interface TsMsg {
  frame: number;
  timeUs: number;
  firstFrame: number;
  isRequest: boolean;
  method: string;
  uri: string;
  code: number | null;
  httpTimeMs: number | null;
  requestIn: number | null;
  bodyBytes: number | null;
}

const HTTP_FIELDS = [
  'frame.number',
  'frame.time_epoch',
  'ip.src',
  'ipv6.src',
  'tcp.srcport',
  'ip.dst',
  'ipv6.dst',
  'tcp.dstport',
  'http.request',
  'http.response',
  'http.request.method',
  'http.request.uri',
  'http.response.code',
  'http.time',
  'http.request_in',
  'http.content_length',
  'http.chunk_size',
  'tcp.segment',
];

/** Epoch seconds as tshark prints them (ns digits) → µs, truncated as mlscope's clock is. */
const epochUs = (t: string): number => {
  const [sec = '0', frac = ''] = t.split('.');
  return Number(sec) * 1e6 + Number(frac.padEnd(6, '0').slice(0, 6));
};

const key = (a: string, b: string): string => (a < b ? `${a}|${b}` : `${b}|${a}`);
// as `mlscope http` writes endpoints (IPv6 without brackets)
const ep = (ip: string, port: string): string => `${ip}:${port}`;

function tsharkHttp(f: string): { byConn: Map<string, TsMsg[]>; frameUs: Map<number, number> } {
  const out = sh('tshark', [
    '-r',
    f,
    '-Y',
    'http.request or http.response',
    '-T',
    'fields',
    '-E',
    'occurrence=a',
    '-E',
    'aggregator=;',
    ...HTTP_FIELDS.flatMap((x) => ['-e', x]),
  ]);
  const byConn = new Map<string, TsMsg[]>();
  const frames = new Set<number>();
  for (const line of out.split('\n')) {
    if (!line) continue;
    const v = line.split('\t');
    const g = (name: string): string => v[HTTP_FIELDS.indexOf(name)] ?? '';
    const src = ep(g('ip.src') || g('ipv6.src'), g('tcp.srcport').split(';')[0]!);
    const dst = ep(g('ip.dst') || g('ipv6.dst'), g('tcp.dstport').split(';')[0]!);
    const frame = Number(g('frame.number'));
    const segs = g('tcp.segment').split(';').filter(Boolean).map(Number);
    // One frame can hold several messages (pipelining): one entry per request/response in it.
    const methods = g('http.request.method').split(';').filter(Boolean);
    const uris = g('http.request.uri').split(';');
    const codes = g('http.response.code').split(';').filter(Boolean);
    const times = g('http.time').split(';').filter(Boolean);
    const reqIn = g('http.request_in').split(';').filter(Boolean);
    const cls = g('http.content_length').split(';').filter(Boolean);
    const chunks = g('http.chunk_size').split(';').filter(Boolean);
    const list = byConn.get(key(src, dst)) ?? [];
    const base = {
      frame,
      timeUs: epochUs(g('frame.time_epoch')),
      firstFrame: segs.length > 0 ? segs[0]! : frame,
    };
    frames.add(base.firstFrame);
    methods.forEach((m, i) =>
      list.push({
        ...base,
        isRequest: true,
        method: m,
        uri: uris[i] ?? '',
        code: null,
        httpTimeMs: null,
        requestIn: null,
        bodyBytes: methods.length === 1 && cls[0] ? Number(cls[0]) : null,
      }),
    );
    codes.forEach((cd, i) =>
      list.push({
        ...base,
        isRequest: false,
        method: '',
        uri: '',
        code: Number(cd),
        httpTimeMs: times[i] !== undefined ? Number(times[i]) * 1000 : null,
        requestIn: reqIn[i] !== undefined ? Number(reqIn[i]) : null,
        bodyBytes:
          codes.length === 1
            ? cls[0]
              ? Number(cls[0])
              : chunks.length
                ? chunks.reduce((s, x) => s + Number(x), 0)
                : null
            : null,
      }),
    );
    byConn.set(key(src, dst), list);
  }
  const frameUs = new Map<number, number>();
  if (frames.size > 0) {
    const t = sh('tshark', [
      '-r',
      f,
      '-T',
      'fields',
      '-e',
      'frame.number',
      '-e',
      'frame.time_epoch',
    ]);
    for (const line of t.split('\n')) {
      const [n, s] = line.split('\t');
      if (n && s && frames.has(Number(n))) frameUs.set(Number(n), epochUs(s));
    }
  }
  return { byConn, frameUs };
}

interface MlX {
  client: string;
  server: string;
  method: string | null;
  path: string | null;
  status: number | null;
  reqBodyBytes: number;
  respBodyBytes: number;
  reqFirstTime: string;
  reqLastTime: string;
  respFirstTime: string | null;
  respLastTime: string | null;
  serverTimeMs: number | null;
  reqFirstFrame: number;
  respFirstFrame: number | null;
  respLastFrame: number | null;
  state: string;
  protocol: string;
}

const isoUs = (s: string): number => {
  const m = /\.(\d+)Z$/.exec(s);
  return (
    Date.parse(s.replace(/\.\d+Z$/, 'Z')) * 1000 +
    (m ? Number(m[1]!.padEnd(6, '0').slice(0, 6)) : 0)
  );
};

function compareExchanges(f: string): string[] {
  const { exchanges } = JSON.parse(sh('node', ['bin/mlscope.js', 'http', f, '--json'])) as {
    exchanges: MlX[];
  };
  const { byConn, frameUs } = tsharkHttp(f);
  const mlByConn = new Map<string, MlX[]>();
  for (const x of exchanges) {
    if (!x.protocol.startsWith('HTTP/')) continue;
    const k = key(x.client, x.server);
    mlByConn.set(k, [...(mlByConn.get(k) ?? []), x]);
  }
  const diffs: string[] = [];
  const conns = new Set([...byConn.keys(), ...mlByConn.keys()]);
  for (const k of conns) {
    const ml = (mlByConn.get(k) ?? []).sort((a, b) => a.reqFirstFrame - b.reqFirstFrame);
    const ts = byConn.get(k) ?? [];
    const reqs = ts.filter((m) => m.isRequest);
    const resps = ts.filter((m) => !m.isRequest);
    const mlReqs = ml.filter((x) => x.method !== null);
    if (mlReqs.length !== reqs.length)
      diffs.push(`${k}: requests mlscope ${mlReqs.length} tshark ${reqs.length}`);
    const mlResps = ml.filter((x) => x.status !== null);
    const tsFinal = resps.filter((x) => x.code !== null && x.code >= 200);
    if (mlResps.length !== tsFinal.length)
      diffs.push(`${k}: final responses mlscope ${mlResps.length} tshark ${tsFinal.length}`);
    for (let i = 0; i < Math.min(mlReqs.length, reqs.length); i++) {
      const a = mlReqs[i]!;
      const b = reqs[i]!;
      const where = `${k} req#${i + 1} (tshark frame ${b.frame})`;
      if (a.method !== b.method || a.path !== b.uri)
        diffs.push(`${where}: ${a.method} ${a.path} vs ${b.method} ${b.uri}`);
      if (a.reqFirstFrame !== b.firstFrame)
        diffs.push(`${where}: request first frame ${a.reqFirstFrame} vs ${b.firstFrame}`);
      if (b.bodyBytes !== null && a.reqBodyBytes !== b.bodyBytes)
        diffs.push(`${where}: request body ${a.reqBodyBytes} vs Content-Length ${b.bodyBytes}`);
      if (Math.abs(isoUs(a.reqLastTime) - b.timeUs) > 1)
        diffs.push(
          `${where}: request last byte ${a.reqLastTime} vs tshark request frame at +${((isoUs(a.reqLastTime) - b.timeUs) / 1000).toFixed(3)} ms`,
        );
      // tshark sets http.request_in on the first response to a frame of requests only (not on
      // later pipelined answers, nor on the final answer after a 1xx): the j-th request of a
      // frame pairs with the j-th final response from that one on.
      const j = reqs.filter((x, n) => x.frame === b.frame && n < i).length;
      const r0 = resps.findIndex((x) => x.requestIn === b.frame);
      const r =
        r0 >= 0 ? resps.slice(r0).filter((x) => x.code !== null && x.code >= 200)[j] : undefined;
      if (!r) {
        if (a.status !== null)
          diffs.push(`${where}: mlscope status ${a.status}, tshark no response`);
        continue;
      }
      if (a.status !== r.code) diffs.push(`${where}: status ${a.status} vs ${r.code}`);
      if (a.respLastFrame !== r.frame)
        diffs.push(`${where}: response last frame ${a.respLastFrame} vs ${r.frame}`);
      if (a.respFirstFrame !== r.firstFrame)
        diffs.push(`${where}: response first frame ${a.respFirstFrame} vs ${r.firstFrame}`);
      const bodiless = a.method === 'HEAD' || r.code === 204 || r.code === 304;
      if (r.bodyBytes !== null && !bodiless && a.respBodyBytes !== r.bodyBytes)
        diffs.push(`${where}: response body ${a.respBodyBytes} vs ${r.bodyBytes}`);
      if (a.respLastTime && r.httpTimeMs !== null) {
        const mlMs = (isoUs(a.respLastTime) - isoUs(a.reqLastTime)) / 1000;
        if (Math.abs(mlMs - r.httpTimeMs) > 0.0015)
          diffs.push(
            `${where}: respLast−reqLast ${mlMs.toFixed(3)} ms vs http.time ${r.httpTimeMs.toFixed(3)} ms`,
          );
      }
      const firstUs = frameUs.get(r.firstFrame);
      if (a.serverTimeMs !== null && firstUs !== undefined) {
        const tsServer = (firstUs - b.timeUs) / 1000;
        if (Math.abs(a.serverTimeMs - tsServer) > 0.0015)
          diffs.push(
            `${where}: serverTimeMs ${a.serverTimeMs} vs tshark first response segment − request ${tsServer.toFixed(3)}`,
          );
      }
    }
  }
  return diffs;
}

const files = readdirSync(dir)
  .filter((f) => /\.pcap(ng)?$/.test(f))
  .filter((f) => !only || f.includes(only))
  .sort();
const cols: (keyof Counts)[] = [
  'packets',
  'connections',
  'retransmissions',
  'fast',
  'spurious',
  'dupAcks',
  'zeroWindows',
  'resets',
  'requests',
  'responses',
];
console.log(`| capture | ${cols.join(' | ')} |`);
console.log(`|---|${cols.map(() => '---').join('|')}|`);
const details: string[] = [];
for (const f of files) {
  const p = join(dir, f);
  const t = tsharkCounts(p);
  const m = mlCounts(p);
  const cells = cols.map((c) => (t[c] === m[c] ? `${m[c]}` : `**${m[c]}≠${t[c]}**`));
  console.log(`| ${f} | ${cells.join(' | ')} |`);
  const d = compareExchanges(p);
  if (d.length)
    details.push(`## ${f}: ${d.length} exchange differences`, ...(verbose ? d : d.slice(0, 12)));
}
console.log('\n(cells: mlscope, or **mlscope≠tshark**)\n');
console.log(details.join('\n'));
