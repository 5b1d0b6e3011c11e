// Conformance: `mlscope investigate` against the answer keys of incident bundles.
// usage: node --import tsx scripts/conformance-labs.ts <DATA_DIR | LAB_DIR…> [--min-accuracy R] [--verbose]
// For every <lab>/bundle with <lab>/truth/truth.jsonl: the cause of each slow or failed request
// (truth `slow` or status ≥ 500) must match; every injected fault (truth cause other than none)
// must appear among the findings. Prints per lab accuracy and a confusion table; exits 1 below
// --min-accuracy (the CI ratchet, over all labs together) or when a fault has no finding.

import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readBundle } from '../src/ingest/bundle.js';
import { investigate } from '../src/analyzers/investigate/investigate.js';

const args = process.argv.slice(2);
const minAcc = args.includes('--min-accuracy')
  ? Number(args[args.indexOf('--min-accuracy') + 1])
  : null;
const verbose = args.includes('--verbose');
const roots = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--min-accuracy');

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

let total = 0;
let correct = 0;
let missingFaults = 0;
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
  const inv = investigate(data, summary.slow_ms !== undefined ? { slowMs: summary.slow_ms } : {});
  const ours = new Map(inv.slowRequests.map((r) => [r.requestId, r]));
  let n = 0;
  let ok = 0;
  for (const t of truth) {
    if (!(t.slow || t.status >= 500)) continue;
    n++;
    const got = ours.get(t.request_id)?.cause ?? 'missing';
    const key = `${t.cause} → ${got}`;
    confusion.set(key, (confusion.get(key) ?? 0) + 1);
    if (got === t.cause) ok++;
    else if (verbose)
      console.log(
        `  ${t.request_id} ${t.route} ${t.status} ${t.client_ms} ms: truth ${t.cause}, got ${got}`,
      );
  }
  const faults = new Set(truth.filter((t) => t.cause !== 'none').map((t) => t.cause));
  const found = new Set(inv.findings.map((f) => f.cause));
  const missing = [...faults].filter((f) => !found.has(f as never));
  missingFaults += missing.length;
  total += n;
  correct += ok;
  console.log(
    `${lab}: ${ok}/${n} causes correct (${n ? ((100 * ok) / n).toFixed(1) : '-'}%)${missing.length ? `; NO FINDING for: ${missing.join(', ')}` : '; every fault has a finding'}`,
  );
}
console.log('\nconfusion (truth → mlscope):');
for (const [k, v] of [...confusion].sort((a, b) => b[1] - a[1])) console.log(`  ${k}: ${v}`);
const acc = total ? correct / total : 0;
console.log(`\nRESULT ${JSON.stringify({ accuracy: acc, correct, total, missingFaults })}`);
let fail = false;
if (minAcc !== null && acc + 1e-9 < minAcc) {
  console.log(`FAIL: accuracy ${acc.toFixed(3)} is below the recorded ${minAcc}`);
  fail = true;
}
if (missingFaults > 0) {
  console.log(`FAIL: ${missingFaults} injected fault(s) without a finding`);
  fail = true;
}
process.exit(fail ? 1 : 0);
