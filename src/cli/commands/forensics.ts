// `mlscope forensics <inputs…> [--json]`: prompt flood / injection forensics over captures, access
// logs and application logs — ranked suspect sources with reasons, campaigns, impact, the OOM/5xx
// correlation, and backtested remediation rules (nginx, AWS WAF, nftables, input policy).

import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readBundle } from '../../ingest/bundle.js';
import {
  analyzeForensics,
  DEFAULT_THRESHOLD,
  type ForensicsResult,
} from '../../analyzers/forensics/forensics.js';
import { DEFAULT_TRUSTED } from '../../analyzers/forensics/requests.js';
import {
  parseSignatureFile,
  type SignatureProblem,
  type SignatureSet,
} from '../../analyzers/forensics/signatures.js';
import { renderTable, safeText } from '../../outputs/text.js';
import {
  ExitCode,
  numberFlag,
  parseCommandArgs,
  writeJson,
  type Command,
  type Io,
} from '../command.js';
import { UsageError } from '../../util/errors.js';
import { keyLogFlag } from '../../ingest/keylog.js';
import type { TlsKeyLog } from '../../decoders/proto/tls-decrypt.js';

/** rules/ at the package root: three levels above src/cli/commands (tsx) or dist/cli/commands. */
export const SHIPPED_SIGNATURES = fileURLToPath(
  new URL('../../../rules/forensics.yaml', import.meta.url),
);

export async function loadSignatures(
  extra: readonly string[],
  useDefault: boolean,
): Promise<{ set: SignatureSet; problems: SignatureProblem[] }> {
  const problems: SignatureProblem[] = [];
  let set: SignatureSet | null = null;
  const files = [...(useDefault ? [SHIPPED_SIGNATURES] : []), ...extra];
  for (const f of files) {
    let text: string;
    try {
      text = await readFile(f, 'utf8');
    } catch (err) {
      throw new UsageError(
        `forensics: cannot read signature file ${f}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    set = parseSignatureFile(text, f, set, problems);
  }
  return { set: set ?? { contextTokens: 8192, charsPerToken: 4, rules: [] }, problems };
}

export interface ForensicsOptionsCli {
  signatures?: string[];
  noDefaultSignatures?: boolean;
  trustedProxies?: string[];
  threshold?: number;
  contextTokens?: number;
  bodyBytes?: number;
  /** --tls-keylog: decrypt HTTPS in the captures (key logs among the inputs are used too). */
  tlsKeys?: TlsKeyLog | null;
}

/** Read inputs and run the analysis (the conformance script and tests use this too). */
export async function runForensics(
  inputs: readonly string[],
  o: ForensicsOptionsCli = {},
): Promise<{
  result: ForensicsResult;
  data: Awaited<ReturnType<typeof readBundle>>;
  problems: SignatureProblem[];
}> {
  const { set, problems } = await loadSignatures(o.signatures ?? [], !o.noDefaultSignatures);
  const data = await readBundle(inputs, {
    bodyCaptureBytes: o.bodyBytes ?? 65536,
    tlsKeys: o.tlsKeys ?? null,
  });
  const result = analyzeForensics(data, {
    signatures: set,
    trustedCidrs: o.trustedProxies ?? DEFAULT_TRUSTED,
    threshold: o.threshold ?? DEFAULT_THRESHOLD,
    ...(o.contextTokens !== undefined ? { contextTokens: o.contextTokens } : {}),
  });
  return { result, data, problems };
}

export function toDoc(
  r: ForensicsResult,
  data: Awaited<ReturnType<typeof readBundle>>,
): Record<string, unknown> {
  const { spec, ...rules } = r.rules;
  return {
    suspects: r.suspects.map((s) => ({
      source: s.source,
      score: s.score,
      requests: s.requests,
      apiKeys: s.apiKeys,
      reasons: s.reasons,
      flagged: s.flagged,
      campaign: s.campaign,
      components: s.components,
      stats: s.stats,
    })),
    campaigns: r.campaigns,
    impact: r.impact,
    correlation: r.correlation,
    rules: { ...rules, spec },
    backtest: r.backtest,
    threshold: r.threshold,
    trustedProxies: r.trustedProxies,
    requests: r.requests,
    signatures: r.signatures,
    dataQuality: data.quality.map((q) => ({
      source: q.source,
      format: q.format,
      records: q.records,
      skipped: q.skipped,
    })),
  };
}

const list = (v: string | string[] | undefined): string[] =>
  (Array.isArray(v) ? v : v === undefined ? [] : [v])
    .flatMap((x) => x.split(','))
    .map((x) => x.trim())
    .filter(Boolean);

export const forensicsCommand: Command = {
  name: 'forensics',
  summary: 'prompt flood / injection: who, what, how bad, and backtested rules to block it',
  usage: [
    'mlscope forensics <inputs…> [--json] [--out DIR]',
    '    [--signatures FILE]… [--no-default-signatures]   extra rule files (rules/forensics.yaml format)',
    '    [--trusted-proxy CIDR[,CIDR]]…   hops whose X-Forwarded-For is believed (default private/loopback;',
    '                                     "none" trusts nobody); proxies seen in captures are added',
    `    [--threshold N]   suspect score from which a source is treated as an attacker (default ${DEFAULT_THRESHOLD})`,
    '    [--context-tokens N]   model context window for the near-limit signature',
    '    [--body-bytes N]   request body prefix kept from captures (default 65536)',
    '    [--tls-keylog FILE]   decrypt HTTPS in captures (SSLKEYLOGFILE; key logs among the inputs are used too)',
  ].join('\n'),
  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs('forensics', argv, {
      json: { type: 'boolean' },
      out: { type: 'string' },
      signatures: { type: 'string', multiple: true },
      'no-default-signatures': { type: 'boolean' },
      'trusted-proxy': { type: 'string', multiple: true },
      threshold: { type: 'string' },
      'context-tokens': { type: 'string' },
      'body-bytes': { type: 'string' },
      limit: { type: 'string' },
      'tls-keylog': { type: 'string' },
    });
    if (positionals.length === 0)
      throw new UsageError('forensics: give captures, access logs or app logs (files or dirs)');
    const trustedArg = list(values['trusted-proxy']);
    const trusted =
      trustedArg.length === 0 ? DEFAULT_TRUSTED : trustedArg.includes('none') ? [] : trustedArg;
    const contextTokens = numberFlag('forensics', 'context-tokens', values['context-tokens']);
    if (io.isTty && !values.json) io.stderr.write('reading inputs…\r');
    const { result, data, problems } = await runForensics(positionals, {
      signatures: values.signatures ?? [],
      noDefaultSignatures: values['no-default-signatures'] ?? false,
      trustedProxies: trusted,
      threshold: numberFlag('forensics', 'threshold', values.threshold) ?? DEFAULT_THRESHOLD,
      ...(contextTokens !== undefined ? { contextTokens } : {}),
      bodyBytes: numberFlag('forensics', 'body-bytes', values['body-bytes']) ?? 65536,
      tlsKeys: await keyLogFlag(values['tls-keylog']),
    });
    for (const p of problems) io.stderr.write(`mlscope: ${p.file}: ${p.message}\n`);
    for (const e of data.errors) io.stderr.write(`mlscope: ${e.message}\n`);
    const doc = toDoc(result, data);
    if (values.out) {
      await mkdir(values.out, { recursive: true });
      await writeFile(join(values.out, 'forensics.json'), JSON.stringify(doc, null, 2) + '\n');
      await writeFile(join(values.out, 'nginx-forensics.conf'), result.rules.nginx);
      await writeFile(join(values.out, 'nftables-forensics.nft'), result.rules.nftables);
      await writeFile(
        join(values.out, 'aws-waf-forensics.json'),
        JSON.stringify(result.rules.awsWaf, null, 2) + '\n',
      );
      await writeFile(
        join(values.out, 'input-policy.json'),
        JSON.stringify(result.rules.inputPolicy, null, 2) + '\n',
      );
    }
    if (values.json) writeJson(io, doc);
    else
      io.stdout.write(renderSummary(result, numberFlag('forensics', 'limit', values.limit) ?? 10));
    return data.errors.length > 0 ? ExitCode.INPUT_ERROR : ExitCode.OK;
  },
};

const pct = (x: number | null) => (x === null ? '-' : `${Math.round(x * 1000) / 10}%`);
const ms = (x: number | null) => (x === null ? '-' : `${Math.round(x)} ms`);

export function renderSummary(r: ForensicsResult, limit: number): string {
  const out: string[] = [];
  const q = r.requests;
  out.push(
    `${q.total} requests from ${q.sources} sources (${q.failed} failed; prompt size known for ${q.withPrompt}, text for ${q.withPromptText})`,
  );
  if (q.total === 0) {
    out.push('No requests found: give a capture with HTTP bodies, an access log or an app log.');
    return out.join('\n') + '\n';
  }
  const flagged = r.suspects.filter((s) => s.flagged);
  out.push('');
  out.push(`Suspects (score ≥ ${r.threshold} flagged: ${flagged.length})`);
  out.push(
    renderTable(
      ['source', 'score', 'requests', 'peak r/s', 'prompt p95', 'campaign', 'top reason'],
      r.suspects
        .slice(0, limit)
        .map((s) => [
          (s.flagged ? '! ' : '  ') + safeText(s.source, 40),
          s.score,
          s.requests,
          s.stats.peakRps10s,
          s.stats.promptChars.p95,
          s.campaign ?? '-',
          safeText(s.reasons[0] ?? '', 90),
        ]),
      ['left', 'right', 'right', 'right', 'right', 'left', 'left'],
    ),
  );
  for (const s of flagged.slice(0, 5)) {
    out.push(`  ${safeText(s.source, 40)}:`);
    for (const why of s.reasons.slice(0, 5)) out.push(`     · ${safeText(why, 200)}`);
  }
  if (r.campaigns.length) {
    out.push('');
    out.push('Campaigns');
    for (const c of r.campaigns)
      out.push(
        `  ${c.id}: ${c.sources.map((s) => safeText(s, 40)).join(', ')} — ${c.requests} requests, ${c.window.start} → ${c.window.end}; ${c.shared.map((x) => safeText(x, 80)).join('; ')}`,
      );
  }
  const i = r.impact;
  out.push('');
  if (i.window) {
    out.push(`Impact (attack window ${i.window.start} → ${i.window.end})`);
    out.push(
      `  error rate ${pct(i.errorRateBefore)} before → ${pct(i.errorRateDuring)} during (benign ${pct(i.benignErrorRateDuring)}); ` +
        `p95 ${ms(i.p95MsBefore)} → ${ms(i.p95MsDuring)} (benign ${ms(i.benignP95MsDuring)}); ` +
        `ok throughput ${i.okRpsBefore ?? '-'} → ${i.okRpsDuring ?? '-'} req/s; ${i.benignRequestsAffected} benign requests failed or slower than the p95 before`,
    );
  } else out.push('Impact: no source above the threshold, no attack window');
  out.push('  ' + safeText(r.correlation.summary, 600));
  const b = r.backtest;
  out.push('');
  out.push(
    `Rules (backtest of the nginx rules over this history: blocks ${b.attackBlocked}/${b.attackTotal} attack requests, ${b.benignBlocked}/${b.benignTotal} benign)`,
  );
  for (const [k, c] of Object.entries(b.perArtifact))
    out.push(
      `  ${k.padEnd(12)} attack ${c.attackBlocked}/${c.attackTotal}  benign ${c.benignBlocked}/${c.benignTotal}`,
    );
  out.push('');
  out.push(r.rules.nginx.trimEnd());
  out.push('');
  out.push('(--json for AWS WAF and nftables rules; --out DIR writes every artifact)');
  return out.join('\n') + '\n';
}
