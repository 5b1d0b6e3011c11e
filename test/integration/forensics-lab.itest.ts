// Integration: `mlscope lab prompt-flood` with real nginx (LB + edge), uvicorn and tcpdump in
// network namespaces, then `forensics` on the bundle: attackers rank above benign sources, the
// emitted nginx rules (replayed over the truth) block ≥95% of attack and ≤1% of benign requests,
// the OOM/5xx correlation is named, and the nginx / nftables artifacts pass `nginx -t` / `nft -c`.
// With softflowd and nfdump installed, the lab also exports its capture as NetFlow v9: mlscope's
// collector totals must equal nfdump's, and `mlscope flows cap.pcap` (flows built from the packets)
// must count the same packets and bytes (its records are bidirectional: about half as many).
// Needs root, iproute2, nginx, tcpdump, nftables, python3-fastapi, python3-uvicorn; skipped otherwise.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPromptFlood } from '../../src/lab/prompt-flood.js';
import { missingNetflowTools, type NetflowExportResult } from '../../src/lab/netflow-export.js';
import { FlowIngest } from '../../src/ingest/flows.js';
import { FlowSummary } from '../../src/analyzers/flows/summary.js';
import { runForensics } from '../../src/cli/commands/forensics.js';
import {
  evaluateRules,
  parseNginxRules,
  union,
} from '../../src/analyzers/forensics/remediation.js';

const canRun =
  process.getuid?.() === 0 &&
  ['/usr/sbin/ip', '/usr/sbin/nginx', '/usr/bin/tcpdump'].every((p) => existsSync(p));

test('prompt-flood lab → forensics acceptance', { skip: !canRun, timeout: 240_000 }, async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'mlscope-pf-'));
  try {
    const t0 = Date.now();
    await runPromptFlood({ outDir: out, seed: 11, durationS: 30, keepWork: false }, (m) => {
      if (/NetFlow/.test(m)) t.diagnostic(m);
    });
    t.diagnostic(`lab ran in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    if (missingNetflowTools().length === 0) {
      const nf = JSON.parse(
        readFileSync(join(out, 'truth', 'netflow.json'), 'utf8'),
      ) as NetflowExportResult;
      const ml = nf.mlscope;
      assert.deepEqual(
        { records: ml.records, bytes: ml.bytes, packets: ml.packets },
        nf.nfdump,
        'mlscope collector totals = nfdump totals',
      );
      assert.ok(nf.nfdump.records >= 10, `nfdump saw ${nf.nfdump.records} records`);
      assert.equal(ml.decoded, ml.datagrams);
      assert.equal(ml.kernelDrops, 0);
      assert.ok(nf.seconds < 20, `NetFlow export took ${nf.seconds} s`);
      const doc = JSON.parse(readFileSync(join(out, 'netflow.json'), 'utf8')) as {
        records: number;
        flows: unknown[];
      };
      assert.equal(doc.flows.length, doc.records);

      // Flows built from the same capture's packets: the same packets and IP bytes.
      const sum = new FlowSummary();
      const ingest = new FlowIngest((f) => sum.add(f));
      await ingest.ingest({ name: 'cap.pcap', path: join(out, 'bundle', 'cap.pcap') });
      const [q] = ingest.finish();
      const rep = sum.report(5);
      t.diagnostic(
        `nfdump ${JSON.stringify(nf.nfdump)}; mlscope flows cap.pcap: records ${rep.records} ` +
          `packets ${rep.packets} bytes ${rep.bytes}`,
      );
      assert.equal(q!.format, 'capture');
      assert.equal(q!.skipped, 0);
      assert.equal(rep.packets, nf.nfdump.packets, 'packets: flows from packets = nfdump');
      assert.equal(rep.bytes, nf.nfdump.bytes, 'bytes: flows from packets = nfdump');
      // softflowd exports one record per direction; ours are bidirectional. Timeouts differ
      // (softflowd: 3600 s TCP, 300 s after FIN; ours 15 s idle, 2 s after FIN/RST), which can
      // split a record on one side only: allow 5 %.
      assert.ok(
        Math.abs(rep.records * 2 - nf.nfdump.records) <= nf.nfdump.records * 0.05,
        `records: 2 × ${rep.records} vs nfdump ${nf.nfdump.records}`,
      );
    }
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
