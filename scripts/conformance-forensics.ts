// Acceptance figures for `mlscope forensics` on prompt-flood lab outputs.
//
//   node --import tsx scripts/conformance-forensics.ts DIR…            (DIR = lab --out, with bundle/ and truth/)
//   node --import tsx scripts/conformance-forensics.ts --run-lab --seeds 1,2,3 [--work DIR] [--duration 40]
//
// Per lab run: (1) ranking — every truth attacker source scores above every benign source;
// (2) the emitted nginx rules, read back from their text and replayed over the truth's requests
// (client send times, sources, body sizes, labels — independent of the analyzer's own join),
// block ≥ 95% of attack requests and ≤ 1% of benign ones; (3) the report names the OOM/5xx
// correlation (OOM lines and 5xx inside the attack window, summary mentions OOM).
// Exit 0 when every run passes, 1 otherwise. Prints one JSON document on stdout.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runForensics } from '../src/cli/commands/forensics.js';
import { evaluateRules, parseNginxRules, union } from '../src/analyzers/forensics/remediation.js';
import { runPromptFlood } from '../src/lab/prompt-flood.js';

interface TruthLine {
  id: string;
  source: string;
  label: 'attack' | 'benign';
  t_start: number;
  body_bytes: number;
  prompt_chars: number;
}

async function check(dir: string) {
  const truth = readFileSync(join(dir, 'truth', 'truth.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as TruthLine);
  const attackers = [...new Set(truth.filter((t) => t.label === 'attack').map((t) => t.source))];
  const benign = [...new Set(truth.filter((t) => t.label === 'benign').map((t) => t.source))];
  const { result } = await runForensics([join(dir, 'bundle')]);
  const score = new Map(result.suspects.map((s) => [s.source, s.score]));
  const rank = new Map(result.suspects.map((s, i) => [s.source, i + 1]));
  const minAttack = Math.min(...attackers.map((a) => score.get(a) ?? -1));
  const maxBenign = Math.max(...benign.map((b) => score.get(b) ?? -1));
  const worstAttackRank = Math.max(...attackers.map((a) => rank.get(a) ?? Infinity));
  const rankingOk = minAttack > maxBenign && worstAttackRank === attackers.length;

  const spec = parseNginxRules(result.rules.nginx);
  const reqs = truth.map((t) => ({
    tsUs: t.t_start * 1e6,
    source: t.source,
    reqBytes: t.body_bytes,
    promptChars: t.prompt_chars,
  }));
  const per = evaluateRules(spec, reqs);
  const blocked = union(per, ['deny', 'limitReq', 'bodySize'], reqs.length);
  let ab = 0;
  let at = 0;
  let bb = 0;
  let bt = 0;
  truth.forEach((t, i) => {
    if (t.label === 'attack') {
      at++;
      if (blocked[i]) ab++;
    } else {
      bt++;
      if (blocked[i]) bb++;
    }
  });
  const attackBlockedPct = at ? (100 * ab) / at : 0;
  const benignBlockedPct = bt ? (100 * bb) / bt : 0;
  const rulesOk = attackBlockedPct >= 95 && benignBlockedPct <= 1;
  const c = result.correlation;
  const correlationOk =
    c.oomLines > 0 &&
    c.oomInAttackWindow >= 0.9 * c.oomLines &&
    c.failedInAttackWindow > 0 &&
    /OOM/.test(c.summary) &&
    /5xx/.test(c.summary);
  return {
    dir,
    pass: rankingOk && rulesOk && correlationOk,
    ranking: {
      pass: rankingOk,
      attackers: attackers.map((a) => ({
        source: a,
        score: score.get(a) ?? null,
        rank: rank.get(a) ?? null,
      })),
      minAttackScore: minAttack,
      maxBenignScore: maxBenign,
      topBenign: benign.sort((x, y) => (score.get(y) ?? 0) - (score.get(x) ?? 0))[0],
    },
    rules: {
      pass: rulesOk,
      attackBlocked: ab,
      attackTotal: at,
      attackBlockedPct: Math.round(attackBlockedPct * 10) / 10,
      benignBlocked: bb,
      benignTotal: bt,
      benignBlockedPct: Math.round(benignBlockedPct * 100) / 100,
      spec,
      analyzerBacktest: result.backtest,
    },
    correlation: { pass: correlationOk, summary: c.summary },
    impact: result.impact.window
      ? {
          window: result.impact.window,
          errorRateBefore: result.impact.errorRateBefore,
          errorRateDuring: result.impact.errorRateDuring,
          p95MsBefore: result.impact.p95MsBefore,
          p95MsDuring: result.impact.p95MsDuring,
        }
      : null,
  };
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'run-lab': { type: 'boolean' },
      seeds: { type: 'string' },
      work: { type: 'string' },
      duration: { type: 'string' },
    },
  });
  const dirs = [...positionals];
  if (values['run-lab']) {
    const work = values.work ?? '/tmp/mlscope-forensics-conformance';
    for (const seed of (values.seeds ?? '1,2,3').split(',').map(Number)) {
      const out = join(work, `seed-${seed}`);
      await runPromptFlood(
        { outDir: out, seed, durationS: Number(values.duration ?? 40), keepWork: false },
        (m) => process.stderr.write(m + '\n'),
      );
      dirs.push(out);
    }
  }
  if (dirs.length === 0) {
    process.stderr.write('usage: conformance-forensics.ts DIR… | --run-lab [--seeds 1,2,3]\n');
    return 2;
  }
  const runs = [];
  for (const d of dirs) runs.push(await check(d));
  const pass = runs.every((r) => r.pass);
  console.log(JSON.stringify({ pass, runs }, null, 2));
  for (const r of runs)
    process.stderr.write(
      `${r.pass ? 'PASS' : 'FAIL'} ${r.dir}: ranking ${r.ranking.pass ? 'ok' : 'FAIL'} (min attacker ${r.ranking.minAttackScore} > max benign ${r.ranking.maxBenignScore}); ` +
        `rules block ${r.rules.attackBlocked}/${r.rules.attackTotal} attack (${r.rules.attackBlockedPct}%), ${r.rules.benignBlocked}/${r.rules.benignTotal} benign (${r.rules.benignBlockedPct}%); ` +
        `correlation ${r.correlation.pass ? 'ok' : 'FAIL'}\n`,
    );
  return pass ? 0 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (err) => {
    console.error(err);
    process.exitCode = 70;
  },
);
