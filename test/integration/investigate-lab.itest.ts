// `mlscope investigate` scored against the real lab: slow-endpoint bundles (real nginx — or
// HAProxy, `--proxy haproxy` — uvicorn, gunicorn and tcpdump in network namespaces), each a
// different fault mix and seed, are investigated with the truth's slow threshold. The HAProxy
// bundle is also investigated from its logs alone (HAProxy's HTTP log and the apps' logs), which
// holds the HAProxy log parser to real output. Per bundle: the cause of ≥ 95 % of the slow or
// failed requests (truth `slow` or status ≥ 500, matched by request id) is right, every injected
// fault has a finding with its cause, and the JSON has the DESIGN.md contract fields. The same
// scoring as scripts/conformance-labs.ts. Skips when not root or the Debian packages are missing
// (in CI that is a failure). MLSCOPE_KEEP_TEST_OUTPUT=1 keeps the lab directories; a failing
// bundle's directory is always kept and named in the diagnostics.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labCommand } from '../../src/cli/commands/lab.js';
import { investigateCommand } from '../../src/cli/commands/investigate.js';
import { preflight } from '../../src/lab/env.js';
import { runCommand } from './helpers/run-command.js';
import { assertInvestigationContract } from './helpers/investigation-contract.js';

const MIN_ACCURACY = 0.95;

/** One line of truth/truth.jsonl (the measurements the lab recorded for a client request). */
interface Truth {
  request_id: string;
  route: string;
  status: number;
  slow: boolean;
  cause: string;
  client_ms: number;
  weak_label?: boolean;
  model_ms?: number | null;
  queue_ms?: number | null;
  net_delay_ms?: number | null;
  upstream_retrans?: number | null;
  client_retrans?: number | null;
  nginx_ms?: number | null;
  upstream_connect_ms?: number | null;
  upstream_header_ms?: number | null;
  upstream_addr?: string | null;
  other_ms?: number | null;
  app_fault?: string | null;
  error?: string | null;
}

/** Why this machine cannot run the lab, or false; throws in CI (like lab.itest.ts). */
async function skipReason(proxy: string): Promise<string | false> {
  try {
    await preflight(proxy === 'haproxy' ? 'slow-endpoint:haproxy' : 'slow-endpoint');
    return false;
  } catch (e) {
    const why = e instanceof Error ? e.message.replace(/\n\s*/g, '; ') : String(e);
    if (process.env['CI']) throw new Error(`lab slow-endpoint cannot run in CI: ${why}`);
    return why;
  }
}

const CASES = [
  { faults: 'network', seed: 3, requests: 120, proxy: 'nginx' },
  { faults: 'server', seed: 5, requests: 120, proxy: 'nginx' },
  { faults: 'all', seed: 9, requests: 160, proxy: 'nginx' },
  { faults: 'all', seed: 3, requests: 160, proxy: 'haproxy' },
];

/** The truth's measurements of a request, for a report a human can act on. */
function measured(t: Truth): string {
  const keys: (keyof Truth)[] = [
    'route',
    'status',
    'client_ms',
    'nginx_ms',
    'upstream_connect_ms',
    'upstream_header_ms',
    'upstream_addr',
    'model_ms',
    'queue_ms',
    'net_delay_ms',
    'other_ms',
    'upstream_retrans',
    'client_retrans',
    'app_fault',
    'error',
    'weak_label',
  ];
  return keys
    .filter((k) => t[k] !== undefined && t[k] !== null)
    .map((k) => `${k}=${String(t[k])}`)
    .join(' ');
}

for (const c of CASES) {
  const name = `lab --proxy ${c.proxy} --faults ${c.faults} --seed ${c.seed} --requests ${c.requests}`;
  test(
    `investigate on ${name}: causes, findings, JSON contract`,
    { timeout: 150_000 },
    async (t) => {
      const skip = await skipReason(c.proxy);
      if (skip) return t.skip(skip);
      const dir = mkdtempSync(join(tmpdir(), `mlscope-investigate-lab-${c.faults}-`));
      let keep = Boolean(process.env['MLSCOPE_KEEP_TEST_OUTPUT']);
      try {
        const started = Date.now();
        const lab = await runCommand(labCommand, [
          'slow-endpoint',
          '--proxy',
          c.proxy,
          '--out',
          dir,
          '--faults',
          c.faults,
          '--seed',
          String(c.seed),
          '--requests',
          String(c.requests),
          '--json',
        ]);
        assert.equal(lab.code, 0, `lab failed: ${lab.err}`);
        const labMs = Date.now() - started;

        const truth = readFileSync(join(dir, 'truth', 'truth.jsonl'), 'utf8')
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as Truth);
        const summary = JSON.parse(readFileSync(join(dir, 'truth', 'summary.json'), 'utf8')) as {
          slow_ms: number;
          n_requests: number;
          capture?: { tcpdump?: string[] };
        };
        // tcpdump's own count: packets it received but never wrote are the capture's lost tail.
        const tdStats = (summary.capture?.tcpdump ?? []).join(' ');
        const captured = Number(/(\d+) packets captured/.exec(tdStats)?.[1] ?? NaN);
        const received = Number(/(\d+) packets received by filter/.exec(tdStats)?.[1] ?? NaN);
        const lostTail = received - captured > 0 ? received - captured : 0;
        if (lostTail)
          t.diagnostic(
            `note: the capture lacks its last ${lostTail} packets (tcpdump: ${tdStats}); requests in flight at its end look unanswered in it`,
          );
        assert.equal(truth.length, c.requests);
        assert.equal(typeof summary.slow_ms, 'number');

        const inv = await runCommand(investigateCommand, [
          join(dir, 'bundle'),
          '--json',
          '--slow-ms',
          String(summary.slow_ms),
        ]);
        assert.equal(inv.code, 0, `investigate failed: ${inv.err}`);
        const doc: unknown = JSON.parse(inv.out);
        assertInvestigationContract(doc);
        t.diagnostic(
          `lab ${(labMs / 1000).toFixed(1)} s, investigate ${((Date.now() - started - labMs) / 1000).toFixed(1)} s`,
        );
        assert.equal(doc.requests.slowMs, summary.slow_ms, 'the given threshold is used');
        assert.ok(doc.dataQuality.length > 0, 'data quality lists the inputs');
        assert.ok(
          doc.dataQuality.some((q) => /pcap|capture/i.test(q.format) || q.source.endsWith('.pcap')),
          `the capture is among the inputs (have ${doc.dataQuality.map((q) => `${q.source}:${q.format}`).join(', ')})`,
        );
        const ids = doc.slowRequests.map((s) => s.requestId);
        assert.equal(new Set(ids).size, ids.length, 'request ids in slowRequests are unique');

        // Cause accuracy over the slow or failed requests, matched by request id.
        const ours = new Map(doc.slowRequests.map((s) => [s.requestId, s]));
        const scored = truth.filter((x) => x.slow || x.status >= 500);
        const confusion = new Map<string, number>();
        const wrong: string[] = [];
        let ok = 0;
        for (const x of scored) {
          const got = ours.get(x.request_id);
          const cause = got?.cause ?? 'missing';
          const key = `${x.cause} → ${cause}`;
          confusion.set(key, (confusion.get(key) ?? 0) + 1);
          if (cause === x.cause) ok++;
          else
            wrong.push(
              `${x.request_id}: truth ${x.cause}, ours ${cause}` +
                (got
                  ? ` (total ${got.totalMs} ms; ours net ${got.breakdownMs.network} / queue ${got.breakdownMs.queueing} / inf ${got.breakdownMs.inference} / other ${got.breakdownMs.other})`
                  : '') +
                `; truth ${measured(x)}`,
            );
        }
        const accuracy = scored.length ? ok / scored.length : 1;
        t.diagnostic(
          `${name}: ${ok}/${scored.length} causes correct (${(100 * accuracy).toFixed(1)} %)`,
        );
        t.diagnostic(
          'confusion (truth → mlscope): ' +
            [...confusion]
              .sort((a, b) => b[1] - a[1])
              .map(([k, v]) => `${k}: ${v}`)
              .join(', '),
        );
        for (const w of wrong) t.diagnostic(`  wrong: ${w}`);

        const faults = [...new Set(truth.filter((x) => x.cause !== 'none').map((x) => x.cause))];
        const found = new Set(doc.findings.map((f) => f.cause));
        const missing = faults.filter((f) => !found.has(f));
        t.diagnostic(
          `faults injected: ${faults.join(', ') || 'none'}; finding causes: ${[...found].join(', ')}`,
        );

        keep ||= accuracy + 1e-9 < MIN_ACCURACY || missing.length > 0;
        if (keep) t.diagnostic(`lab directory kept: ${dir}`);
        const truthIds = new Set(truth.map((x) => x.request_id));
        const extra = doc.slowRequests.filter((s) => !truthIds.has(s.requestId));
        for (const s of extra)
          t.diagnostic(
            `  not a client request: ${s.requestId} ${s.path} ${s.status} ${s.totalMs} ms ${s.cause}: ${s.evidence.join(' | ')}`,
          );
        assert.equal(
          doc.requests.total,
          summary.n_requests,
          `one request per client request${lostTail ? ` (capture lost its last ${lostTail} packets)` : ''}` +
            extra
              .map((s) => `\n  extra: ${s.requestId} ${s.path} status ${s.status} ${s.cause}`)
              .join(''),
        );
        assert.ok(scored.length > 0, 'the lab produced slow or failed requests');
        assert.ok(
          accuracy + 1e-9 >= MIN_ACCURACY,
          `cause accuracy ${accuracy.toFixed(3)} < ${MIN_ACCURACY} on ${name} (lab kept at ${dir}):\n  ${wrong.join('\n  ')}`,
        );
        assert.deepEqual(missing, [], `injected faults without a finding on ${name}`);

        if (c.proxy === 'haproxy') {
          // the logs alone: every request from HAProxy's log, its id from the captured header
          const logs = await runCommand(investigateCommand, [
            join(dir, 'bundle', 'logs'),
            '--json',
            '--slow-ms',
            String(summary.slow_ms),
          ]);
          assert.equal(logs.code, 0, `investigate (logs) failed: ${logs.err}`);
          const ld = JSON.parse(logs.out) as typeof doc;
          const byId = new Map(ld.slowRequests.map((s) => [s.requestId, s.cause]));
          // (a request HAProxy closed without an answer is in no log line)
          const logged = scored.filter((x) => x.status !== 0);
          const wrongLogs = logged.filter((x) => byId.get(x.request_id) !== x.cause);
          const acc = logged.length ? 1 - wrongLogs.length / logged.length : 1;
          t.diagnostic(`${name}, logs only: ${(100 * acc).toFixed(1)} % causes correct`);
          assert.ok(
            acc + 1e-9 >= MIN_ACCURACY,
            `logs-only cause accuracy ${acc.toFixed(3)} on ${name} (lab kept at ${dir}):\n  ` +
              wrongLogs
                .map(
                  (x) =>
                    `${x.request_id}: truth ${x.cause}, ours ${byId.get(x.request_id) ?? 'missing'}`,
                )
                .join('\n  '),
          );
        }
      } catch (e) {
        if (!keep) t.diagnostic(`lab directory kept: ${dir}`);
        keep = true;
        throw e;
      } finally {
        if (!keep) rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}
