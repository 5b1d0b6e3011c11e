// Template-miner benchmark: grouping accuracy (GA) per Loghub-2k system against the corrected
// ground truth, their mean, and mining throughput over all systems together (each system its own
// source, as separate input files would be). No per-dataset settings anywhere.
//   node --import tsx bench/templates.ts [DIR]   (default ../shared/data/loghub/loghub-2k-corrected)

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TemplateMiner } from '../src/analyzers/templates/miner.js';
import { groupingAccuracy, truthTemplates } from '../src/analyzers/templates/accuracy.js';

export interface Dataset {
  name: string;
  lines: string[];
  truth: string[];
}

/** Load every `<System>/<System>_2k.log` with its `*_structured*.csv` ground truth under dir. */
export function loadLoghub(dir: string): Dataset[] {
  const out: Dataset[] = [];
  for (const name of readdirSync(dir).sort()) {
    const sub = join(dir, name);
    if (!statSync(sub).isDirectory()) continue;
    const files = readdirSync(sub);
    const log = files.find((f) => f.endsWith('.log'));
    const csv =
      files.find((f) => f.endsWith('_structured_corrected.csv')) ??
      files.find((f) => f.endsWith('_structured.csv'));
    if (!log || !csv) continue;
    const lines = readFileSync(join(sub, log), 'utf8')
      .split('\n')
      .map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l))
      .filter((l) => l.trim() !== '');
    const truth = truthTemplates(readFileSync(join(sub, csv), 'utf8'));
    if (lines.length !== truth.length) {
      process.stderr.write(
        `${name}: ${lines.length} lines but ${truth.length} truth rows, skipped\n`,
      );
      continue;
    }
    out.push({ name, lines, truth });
  }
  return out;
}

export function evaluate(sets: Dataset[]): { name: string; ga: number; templates: number }[] {
  return sets.map((d) => {
    const m = new TemplateMiner();
    for (const l of d.lines) m.add(l, d.name);
    const r = m.result();
    return {
      name: d.name,
      ga: groupingAccuracy(r.assignments, d.truth),
      templates: r.templates.length,
    };
  });
}

function main(): void {
  const dir = process.argv[2] ?? '../shared/data/loghub/loghub-2k-corrected';
  const sets = loadLoghub(dir);
  if (sets.length === 0) {
    process.stderr.write(`no Loghub datasets under ${dir}\n`);
    process.exit(1);
  }
  const res = evaluate(sets);
  for (const r of res) {
    const truthN = new Set(sets.find((s) => s.name === r.name)!.truth).size;
    process.stdout.write(
      `${r.name.padEnd(12)} GA ${r.ga.toFixed(4)}  templates ${String(r.templates).padStart(4)} (truth ${truthN})\n`,
    );
  }
  const mean = res.reduce((a, r) => a + r.ga, 0) / res.length;
  process.stdout.write(`${'mean'.padEnd(12)} GA ${mean.toFixed(4)}  over ${res.length} systems\n`);

  const total = sets.reduce((a, s) => a + s.lines.length, 0);
  const bytes = sets.reduce((a, s) => a + s.lines.reduce((b, l) => b + l.length + 1, 0), 0);
  let reps = 0;
  let sink = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let elapsedNs = 0n;
  while (elapsedNs < 1_000_000_000n || reps < 3) {
    const m = new TemplateMiner();
    for (const s of sets) for (const l of s.lines) m.add(l, s.name);
    sink += m.result().templates.length;
    reps++;
    elapsedNs = process.hrtime.bigint() - t0;
  }
  const sec = Number(elapsedNs) / 1e9;
  // CPU time too: on a shared machine, wall-clock throughput mostly measures the load.
  const cpu = process.cpuUsage(cpu0);
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  process.stdout.write(
    `throughput   ${Math.round((total * reps) / sec)} lines/s wall (${Math.round((total * reps) / cpuSec)} per CPU-s), ${((bytes * reps) / sec / 1e6).toFixed(1)} MB/s ` +
      `(${reps} × ${total} lines in ${sec.toFixed(2)} s; ${sink / reps} templates)\n`,
  );
}

if (
  import.meta.url === `file://${process.argv[1]}` ||
  process.argv[1]?.endsWith('bench/templates.ts')
)
  main();
