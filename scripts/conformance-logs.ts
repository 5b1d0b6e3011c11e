// Conformance of the log decoders against real logs: `node --import tsx scripts/conformance-logs.ts
// <DATA_DIR>`. Parses every file under DATA_DIR/servicelogs, DATA_DIR/loghub and
// DATA_DIR/labs/*/bundle/logs and prints, per file: detected format, records, skipped by reason,
// share of records with a timestamp / severity. Exits 1 if a file is detected as a format its
// path does not allow (notably the generic 'plain'), skips more than 5% of its lines, or falls
// below the timestamp share its rule asks for. Rules are general, keyed by path pattern.

import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { readLogInputs } from '../src/ingest/logs.js';

interface Rule {
  /** Tested against the path relative to DATA_DIR. First matching rule wins. */
  pattern: RegExp;
  /** null = not a log (documentation, CSV ground truth, API payloads): listed, not checked. */
  allowed: readonly string[] | null;
  /** Minimum share of records with a timestamp. */
  minTs?: number;
  why: string;
}

const NOT_LOGS: Rule = { pattern: /./, allowed: null, why: 'not a log file' };

const RULES: readonly Rule[] = [
  {
    pattern: /\.(csv|md|txt|yaml|yml|sse|json|rst)$|(^|\/)(LICENSE|CITATION)[^/]*$/,
    allowed: null,
    why: 'documents, ground truth, API payloads',
  },
  {
    pattern: /k8s-container-docker-json\//,
    allowed: ['docker-json'],
    minTs: 0,
    why: 'container logs',
  },
  {
    pattern: /(^|\/)nginx[^/]*\/.*access|nginx-access/,
    allowed: ['nginx-combined', 'common'],
    minTs: 1,
    why: 'nginx access',
  },
  { pattern: /nginx-error/, allowed: ['nginx-error'], minTs: 1, why: 'nginx error' },
  {
    pattern: /vllm\//,
    allowed: ['vllm'],
    minTs: 0.3,
    why: 'vLLM server (its uvicorn lines carry no timestamp)',
  },
  { pattern: /triton\//, allowed: ['triton'], minTs: 0.5, why: 'Triton glog' },
  { pattern: /torchserve\//, allowed: ['torchserve'], minTs: 0.95, why: 'TorchServe log4j' },
  { pattern: /rayserve\//, allowed: ['ray-serve'], minTs: 0.6, why: 'Ray Serve' },
  { pattern: /\.jsonl$/, allowed: ['json', 'tgi'], minTs: 1, why: 'JSON lines' },
  {
    pattern: /gunicorn[^/]*access/,
    allowed: ['gunicorn-access', 'uvicorn-access', 'nginx-combined', 'common'],
    minTs: 0,
    why: 'gunicorn access (uvicorn workers write uvicorn lines)',
  },
  {
    pattern: /gunicorn[^/]*\.log$/,
    allowed: ['gunicorn-error'],
    minTs: 0.9,
    why: 'gunicorn error log',
  },
  {
    pattern: /uvicorn[^/]*\.log$/,
    allowed: ['uvicorn', 'uvicorn-access'],
    minTs: 0,
    why: 'uvicorn default logs carry no timestamp',
  },
  { pattern: /loghub.*\/Linux_/, allowed: ['syslog-3164'], minTs: 1, why: 'syslog' },
  { pattern: /loghub.*\/Apache_/, allowed: ['apache-error'], minTs: 1, why: 'apache error log' },
  {
    pattern: /loghub.*\/Zookeeper_/,
    allowed: ['python-logging', 'plain'],
    minTs: 0.99,
    why: 'log4j with asctime',
  },
  {
    pattern: /loghub.*\/(Android|HDFS|Spark|Windows)_/,
    allowed: ['plain', 'python-logging'],
    minTs: 0.99,
    why: 'leading timestamp in a known shape',
  },
  {
    pattern: /loghub.*\/(BGL|HPC|OpenStack)_/,
    allowed: ['plain'],
    minTs: 0,
    why: 'timestamp not at line start: plain is right',
  },
  {
    pattern: /\.log$/,
    allowed: ['plain', 'python-logging', 'syslog-3164', 'json'],
    minTs: 0,
    why: 'other logs',
  },
];

function ruleFor(rel: string): Rule {
  return RULES.find((r) => r.pattern.test(rel)) ?? NOT_LOGS;
}

function walk(dir: string, out: string[]): void {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return;
  }
  for (const n of names) {
    if (n.startsWith('.')) continue;
    const p = join(dir, n);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
}

async function main(): Promise<number> {
  const dataDir = process.argv[2];
  if (!dataDir) {
    console.error('usage: conformance-logs.ts <DATA_DIR>');
    return 2;
  }
  const files: string[] = [];
  walk(join(dataDir, 'servicelogs'), files);
  walk(join(dataDir, 'loghub'), files);
  let labs: string[] = [];
  try {
    labs = readdirSync(join(dataDir, 'labs')).sort();
  } catch {
    /* no labs */
  }
  for (const l of labs) walk(join(dataDir, 'labs', l, 'bundle', 'logs'), files);

  let failures = 0;
  let checked = 0;
  const t0 = performance.now();
  let totalLines = 0;
  for (const f of files) {
    const rel = relative(dataDir, f);
    const rule = ruleFor(rel);
    if (rule.allowed === null) {
      console.log(`-    ${rel}  (skipped: ${rule.why})`);
      continue;
    }
    checked++;
    let records = 0;
    let withTs = 0;
    let withSev = 0;
    let format = '?';
    let lines = 0;
    let skipped = 0;
    let reasons: Record<string, number> = {};
    let error: string | null = null;
    for await (const ev of readLogInputs([f], { referenceYear: 2026 })) {
      if (ev.kind === 'records') {
        for (const r of ev.records) {
          records++;
          if (r.tsUs !== null) withTs++;
          if (r.severity !== null) withSev++;
        }
      } else if (ev.kind === 'file') {
        format = ev.format;
        lines = ev.lines;
        skipped = ev.quality.skipped;
        reasons = ev.quality.skippedByReason;
        if (ev.quality.seen !== ev.quality.decoded + ev.quality.skipped)
          error = 'quality invariant broken';
      } else error = ev.error.message;
    }
    totalLines += lines;
    const tsShare = records ? withTs / records : 0;
    const sevShare = records ? withSev / records : 0;
    const problems: string[] = [];
    if (!rule.allowed.includes(format))
      problems.push(`format ${format} not in [${rule.allowed.join(', ')}]`);
    if (lines > 0 && skipped / lines > 0.05)
      problems.push(`skipped ${((100 * skipped) / lines).toFixed(1)}% > 5%`);
    if (rule.minTs !== undefined && tsShare < rule.minTs)
      problems.push(`timestamps ${(100 * tsShare).toFixed(0)}% < ${100 * rule.minTs}%`);
    if (error) problems.push(error);
    if (problems.length) failures++;
    const skipTxt = Object.entries(reasons)
      .filter(([k]) => k !== '')
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    console.log(
      `${problems.length ? 'FAIL' : 'ok  '} ${rel}  format=${format} lines=${lines} records=${records} skipped=${skipped}${skipTxt ? ` (${skipTxt})` : ''} ts=${(100 * tsShare).toFixed(0)}% sev=${(100 * sevShare).toFixed(0)}%${problems.length ? '  <- ' + problems.join('; ') : ''}`,
    );
  }
  const ms = performance.now() - t0;
  console.log(
    `\n${checked} log files checked, ${failures} failing; ${totalLines} lines in ${ms.toFixed(0)} ms`,
  );
  return failures ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
