// Integration: `mlscope lab prompt-flood` with real nginx (LB + edge), uvicorn and tcpdump in
// network namespaces, then `forensics` on the bundle: attackers rank above benign sources, the
// emitted nginx rules (replayed over the truth) block ≥95% of attack and ≤1% of benign requests,
// the OOM/5xx correlation is named, and the nginx / nftables artifacts pass `nginx -t` / `nft -c`.
// Needs root, iproute2, nginx, tcpdump, nftables, python3-fastapi, python3-uvicorn; skipped otherwise.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPromptFlood } from '../../src/lab/prompt-flood.js';
import { runForensics } from '../../src/cli/commands/forensics.js';
import {
  evaluateRules,
  parseNginxRules,
  union,
} from '../../src/analyzers/forensics/remediation.js';

const canRun =
  process.getuid?.() === 0 &&
  ['/usr/sbin/ip', '/usr/sbin/nginx', '/usr/bin/tcpdump'].every((p) => existsSync(p));

test('prompt-flood lab → forensics acceptance', { skip: !canRun, timeout: 240_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'mlscope-pf-'));
  try {
    await runPromptFlood({ outDir: out, seed: 11, durationS: 30, keepWork: false }, () => {});
    const truth = readFileSync(join(out, 'truth', 'truth.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(
        (l) =>
          JSON.parse(l) as {
            source: string;
            label: string;
            t_start: number;
            body_bytes: number;
            prompt_chars: number;
          },
      );
    const { result } = await runForensics([join(out, 'bundle')]);
    const score = new Map(result.suspects.map((s) => [s.source, s.score]));
    const atk = [...new Set(truth.filter((t) => t.label === 'attack').map((t) => t.source))];
    const ben = [...new Set(truth.filter((t) => t.label === 'benign').map((t) => t.source))];
    const minA = Math.min(...atk.map((a) => score.get(a) ?? -1));
    const maxB = Math.max(...ben.map((b) => score.get(b) ?? -1));
    assert.ok(minA > maxB, `attackers ${minA} > benign ${maxB}`);

    const spec = parseNginxRules(result.rules.nginx);
    const reqs = truth.map((t) => ({
      tsUs: t.t_start * 1e6,
      source: t.source,
      reqBytes: t.body_bytes,
      promptChars: t.prompt_chars,
    }));
    const blocked = union(evaluateRules(spec, reqs), ['deny', 'limitReq', 'bodySize'], reqs.length);
    const a = truth.filter((t) => t.label === 'attack').length;
    const b = truth.length - a;
    const ab = truth.filter((t, i) => t.label === 'attack' && blocked[i]).length;
    const bb = truth.filter((t, i) => t.label !== 'attack' && blocked[i]).length;
    assert.ok(ab / a >= 0.95, `attack blocked ${ab}/${a}`);
    assert.ok(bb / b <= 0.01, `benign blocked ${bb}/${b}`);
    assert.ok(result.correlation.oomLines > 0, 'OOM lines found');
    assert.match(result.correlation.summary, /OOM/);
    assert.ok(result.impact.errorRateDuring! > result.impact.errorRateBefore!);

    // the artifacts are valid configuration for the real tools
    const conf = join(out, 'nginx-test');
    mkdirSync(conf, { recursive: true });
    const http = result.rules.nginx.split('# --- server {}')[0]!;
    const server = '# --- server {}' + (result.rules.nginx.split('# --- server {}')[1] ?? '');
    writeFileSync(
      join(conf, 'nginx.conf'),
      `pid ${conf}/nginx.pid; error_log ${conf}/error.log; events {}\nhttp {\n${http}\nserver { listen 127.0.0.1:18999;\n${server}\n location / { return 200; } }\n}\n`,
    );
    execFileSync('/usr/sbin/nginx', ['-t', '-p', conf, '-c', join(conf, 'nginx.conf')], {
      stdio: 'pipe',
    });
    if (existsSync('/usr/sbin/nft')) {
      writeFileSync(join(conf, 'rules.nft'), result.rules.nftables);
      execFileSync('/usr/sbin/nft', ['-c', '-f', join(conf, 'rules.nft')], { stdio: 'pipe' });
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
