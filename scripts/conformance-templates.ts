// CI ratchet for the template miner: mean grouping accuracy over the Loghub-2k systems under DIR
// (each `<System>/<System>_2k.log` with its `*_structured_corrected.csv`) must reach --min-ga.
//   node --import tsx scripts/conformance-templates.ts <DIR> --min-ga 0.95
// Exit 0 when it does, 1 when it does not, 2 on usage errors or when DIR holds no datasets.

import { parseArgs } from 'node:util';
import { evaluate, loadLoghub } from '../bench/templates.js';

function main(): number {
  let dir: string | undefined;
  let minGa: number;
  try {
    const { values, positionals } = parseArgs({
      args: process.argv.slice(2),
      options: { 'min-ga': { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    dir = positionals[0];
    minGa = Number(values['min-ga'] ?? 'NaN');
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    minGa = NaN;
  }
  if (dir === undefined || !Number.isFinite(minGa) || minGa < 0 || minGa > 1) {
    process.stderr.write('usage: conformance-templates.ts <DIR> --min-ga X   (0 ≤ X ≤ 1)\n');
    return 2;
  }
  const sets = loadLoghub(dir);
  if (sets.length === 0) {
    process.stderr.write(`no Loghub datasets under ${dir}\n`);
    return 2;
  }
  const res = evaluate(sets);
  for (const r of res) process.stdout.write(`${r.name.padEnd(12)} GA ${r.ga.toFixed(4)}\n`);
  const mean = res.reduce((a, r) => a + r.ga, 0) / res.length;
  const ok = mean >= minGa;
  process.stdout.write(
    `mean GA ${mean.toFixed(4)} over ${res.length} systems: ${ok ? 'ok' : 'FAIL'} (min ${minGa})\n`,
  );
  return ok ? 0 : 1;
}

process.exitCode = main();
