// `mlscope forensics`: who attacked an ML service, with what, how bad, how to block it.
// Per source (the client through trusted X-Forwarded-For hops): request rate, bytes, prompt-length
// distribution, prompt signatures (rules/forensics.yaml), error/timeout/OOM lines in the windows of
// its requests. Sources are scored and ranked with reasons; flagged sources are grouped into
// campaigns by shared patterns; the attack window's impact is measured against the time before;
// remediation artifacts are emitted and backtested over the same history.

import type { Exchange, LogRecord } from '../../model/records.js';
import {
  buildRequests,
  DEFAULT_TRUSTED,
  type ErrorEvent,
  type ErrorKind,
  type ForensicRequest,
} from './requests.js';
import { matchSignatures, type SignatureRule, type SignatureSet } from './signatures.js';
import {
  ARTIFACT_RULES,
  chooseSpec,
  count,
  evaluateRules,
  renderAwsWaf,
  renderNftables,
  renderNginx,
  union,
  type BacktestRequest,
  type Counts,
  type RuleName,
  type RuleSpec,
} from './remediation.js';
import { isoMsClamped } from '../../util/iso.js';
import { lowerBound } from '../../util/search.js';

export const DEFAULT_THRESHOLD = 35;

export interface ForensicsOptions {
  signatures: SignatureSet;
  /** Proxies whose X-Forwarded-For entries are believed; default private and loopback ranges. */
  trustedCidrs?: string[];
  /** Score from which a source counts as an attacker (rules, backtest, impact window). */
  threshold?: number;
  /** Override the signature file's context window (tokens). */
  contextTokens?: number;
}

export interface Suspect {
  source: string;
  score: number;
  flagged: boolean;
  requests: number;
  apiKeys: string[];
  reasons: string[];
  components: Record<string, number>;
  stats: {
    peakRps10s: number;
    meanRps: number;
    bytes: number;
    promptChars: { p50: number | null; p95: number | null; max: number | null; known: number };
    signatureHits: Record<string, number>;
    requestsWithSignature: number;
    failed: number;
    errorLines: Record<ErrorKind, number>;
    spoofedXff: number;
    userAgents: string[];
    first: string;
    last: string;
  };
  campaign: string | null;
}

export interface Campaign {
  id: string;
  sources: string[];
  requests: number;
  shared: string[];
  window: { start: string; end: string };
}

export interface ImpactDoc {
  window: { start: string; end: string } | null;
  errorRateBefore: number | null;
  errorRateDuring: number | null;
  p95MsBefore: number | null;
  p95MsDuring: number | null;
  throughputRpsBefore: number | null;
  throughputRpsDuring: number | null;
  okRpsBefore: number | null;
  okRpsDuring: number | null;
  benignErrorRateDuring: number | null;
  benignP95MsDuring: number | null;
  requestsDuring: number;
  attackRequests: number;
  benignRequestsAffected: number;
  timeline: {
    start: string;
    requests: number;
    attack: number;
    failed: number;
    oom: number;
    p95Ms: number | null;
  }[];
}

export interface CorrelationDoc {
  oomLines: number;
  timeoutLines: number;
  errorLines: number;
  failedRequests: number;
  oomInAttackWindow: number;
  failedInAttackWindow: number;
  oomCreditedToFlagged: number;
  failedFromFlagged: number;
  byPromptTokens: { bucket: string; requests: number; failed: number; failRate: number }[];
  summary: string;
}

export interface BacktestDoc extends Counts {
  artifact: 'nginx';
  attackDefinition: string;
  perArtifact: Record<string, Counts>;
  perRule: Record<RuleName, Counts>;
}

export interface ForensicsResult {
  suspects: Suspect[];
  campaigns: Campaign[];
  impact: ImpactDoc;
  correlation: CorrelationDoc;
  rules: {
    nginx: string;
    awsWaf: Record<string, unknown>;
    nftables: string;
    inputPolicy: {
      maxPromptChars: number | null;
      maxPromptTokens: number | null;
      maxBodyBytes: number | null;
    };
    spec: RuleSpec;
  };
  backtest: BacktestDoc;
  threshold: number;
  trustedProxies: { configured: string[]; discovered: string[] };
  requests: {
    total: number;
    sources: number;
    failed: number;
    withPrompt: number;
    withPromptText: number;
    unjoinedLogRequests: number;
  };
  signatures: { rules: number; contextTokens: number };
}

const iso = (us: number): string => isoMsClamped(Math.floor(us / 1000));

function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return 0;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const r1 = (x: number) => Math.round(x * 10) / 10;
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const log2 = (x: number) => Math.log(x) / Math.LN2;
const fmtN = (n: number) => Math.round(n).toLocaleString('en-US');

function peakInWindow(ts: readonly number[], windowUs: number): number {
  let lo = 0;
  let max = 0;
  for (let hi = 0; hi < ts.length; hi++) {
    while (ts[hi]! - ts[lo]! >= windowUs) lo++;
    max = Math.max(max, hi - lo + 1);
  }
  return max;
}

/** Normalised first words of a prompt: shared openings tie a campaign's sources together. */
function fingerprint(text: string | null): string | null {
  if (text === null) return null;
  const t = text.toLowerCase().replace(/\d+/g, '0').replace(/\s+/g, ' ').trim().slice(0, 48);
  return t.length >= 24 ? t : null;
}

interface SourceAcc {
  source: string;
  reqs: ForensicRequest[];
  hits: Map<string, number>;
  withSig: number;
  /** Requests hit by a content (non-length) signature. */
  withSigText: number;
  sigWeight: number;
  nearLimit: number;
  errorCredit: Record<ErrorKind, number>;
  keys: Set<string>;
  uas: Set<string>;
  fps: Map<string, number>;
}

export function analyzeForensics(
  data: { exchanges: readonly Exchange[]; logs: readonly LogRecord[] },
  opts: ForensicsOptions,
): ForensicsResult {
  const sigs: SignatureSet = {
    ...opts.signatures,
    contextTokens: opts.contextTokens ?? opts.signatures.contextTokens,
  };
  const threshold = opts.threshold ?? DEFAULT_THRESHOLD;
  const trustedCidrs = opts.trustedCidrs ?? DEFAULT_TRUSTED;
  const set = buildRequests(data.exchanges, data.logs, {
    trustedCidrs,
    charsPerToken: sigs.charsPerToken,
  });
  const reqs = set.requests;
  const nearRule = sigs.rules.find((r) => r.match === 'length');
  const nearTokens = nearRule ? nearRule.fractionOfContext * sigs.contextTokens : Infinity;

  // --- per-request signatures
  const reqHits = new Map<ForensicRequest, SignatureRule[]>();
  for (const r of reqs)
    reqHits.set(r, matchSignatures(sigs, { text: r.promptText, chars: r.promptChars }));

  // --- per source
  const acc = new Map<string, SourceAcc>();
  for (const r of reqs) {
    let a = acc.get(r.source);
    if (!a)
      acc.set(
        r.source,
        (a = {
          source: r.source,
          reqs: [],
          hits: new Map(),
          withSig: 0,
          withSigText: 0,
          sigWeight: 0,
          nearLimit: 0,
          errorCredit: { oom: 0, timeout: 0, error: 0 },
          keys: new Set(),
          uas: new Set(),
          fps: new Map(),
        }),
      );
    a.reqs.push(r);
    const hits = reqHits.get(r)!;
    if (hits.length) {
      a.withSig++;
      let w = 0;
      for (const h of hits) {
        a.hits.set(h.id, (a.hits.get(h.id) ?? 0) + 1);
        if (h.match !== 'length') w = Math.max(w, h.weight);
      }
      a.sigWeight += w;
      if (w > 0) a.withSigText++;
    }
    if (r.promptChars !== null && r.promptChars / sigs.charsPerToken >= nearTokens) a.nearLimit++;
    if (r.apiKey) a.keys.add(r.apiKey);
    if (r.userAgent) a.uas.add(r.userAgent);
    const fp = fingerprint(r.promptText);
    if (fp) a.fps.set(fp, (a.fps.get(fp) ?? 0) + 1);
  }

  // --- error lines: by request id, else shared among the requests in flight at the time
  const byId = new Map<string, ForensicRequest>();
  for (const r of reqs) if (r.requestId) byId.set(r.requestId, r);
  const ends = reqs.map((r) => r.endUs);
  const maxDurUs = Math.max(0, ...reqs.map((r) => r.endUs - r.startUs));
  const errCredit = new Map<ErrorEvent, Map<string, number>>();
  for (const e of set.errors) {
    const credit = new Map<string, number>();
    const direct = e.requestId ? byId.get(e.requestId) : undefined;
    if (direct) credit.set(direct.source, 1);
    else {
      const inflight: ForensicRequest[] = [];
      // requests are sorted by start; scan those that could still be running
      let lo = lowerBound(
        reqs.map((r) => r.startUs),
        e.tsUs - maxDurUs - 2e6,
      );
      for (; lo < reqs.length && reqs[lo]!.startUs <= e.tsUs + 100e3; lo++) {
        const r = reqs[lo]!;
        if (r.endUs + 1e6 >= e.tsUs) inflight.push(r);
      }
      for (const r of inflight)
        credit.set(r.source, (credit.get(r.source) ?? 0) + 1 / inflight.length);
    }
    errCredit.set(e, credit);
    for (const [src, c] of credit) acc.get(src)!.errorCredit[e.kind] += c;
  }
  void ends;

  // --- features and scores
  const sources = [...acc.values()];
  const feats = sources.map((a) => {
    const ts = a.reqs.map((r) => r.startUs).sort((x, y) => x - y);
    const span = Math.max(1, (ts[ts.length - 1]! - ts[0]!) / 1e6);
    const prompts = a.reqs
      .map((r) => r.promptChars ?? r.reqBytes)
      .filter((x): x is number => x !== null)
      .sort((x, y) => x - y);
    return {
      a,
      peak: peakInWindow(ts, 10e6) / 10,
      meanRps: a.reqs.length / span,
      p50: quantile(prompts, 0.5),
      p95: quantile(prompts, 0.95),
      max: prompts.length ? prompts[prompts.length - 1]! : null,
      known: prompts.length,
      failed: a.reqs.filter((r) => r.failed).length,
      bytes: a.reqs.reduce((s, r) => s + (r.reqBytes ?? 0), 0),
    };
  });
  const medPeak = Math.max(0.1, median(feats.map((f) => f.peak)));
  const medP95 = Math.max(1, median(feats.filter((f) => f.p95 !== null).map((f) => f.p95!)));
  const totalFailed = reqs.filter((r) => r.failed).length;
  const globalFailRate = reqs.length ? totalFailed / reqs.length : 0;
  const totalErrLines = set.errors.length;

  const suspects: Suspect[] = feats.map((f) => {
    const a = f.a;
    const n = a.reqs.length;
    const reasons: string[] = [];
    const comp: Record<string, number> = {};
    // volume: busiest 10 s against the median source; needs a handful of requests to mean anything
    const peakRatio = f.peak / medPeak;
    comp['volume'] = n >= 5 ? Math.min(30, Math.max(0, 12 * log2(peakRatio))) : 0;
    if (comp['volume'] > 0)
      reasons.push(
        `peak ${r1(f.peak)} req/s over 10 s, ${r1(peakRatio)}× the median source (${r1(medPeak)})`,
      );
    // prompt size
    if (f.p95 !== null) {
      const sizeRatio = f.p95 / medP95;
      comp['promptSize'] = Math.min(20, Math.max(0, 8 * log2(sizeRatio)));
      if (comp['promptSize'] > 0)
        reasons.push(
          `prompt p95 ${fmtN(f.p95)} chars (≈${fmtN(f.p95 / sigs.charsPerToken)} tokens), ${r1(sizeRatio)}× the median source's p95 (${fmtN(medP95)})`,
        );
    } else comp['promptSize'] = 0;
    // near the context window
    comp['nearContext'] = n ? 15 * (a.nearLimit / n) : 0;
    if (a.nearLimit > 0)
      reasons.push(
        `${a.nearLimit}/${n} prompts within ${Math.round((nearRule?.fractionOfContext ?? 0.8) * 100)}% of the ${fmtN(sigs.contextTokens)}-token context`,
      );
    // signatures (weight of the strongest non-length rule per request, over its requests)
    comp['signatures'] = n ? Math.min(45, (45 * a.sigWeight) / n + (a.sigWeight >= 3 ? 5 : 0)) : 0;
    const nonLength = [...a.hits.entries()].filter(
      ([id]) => sigs.rules.find((r) => r.id === id)?.match !== 'length',
    );
    if (nonLength.length)
      reasons.push(
        `signatures on ${a.withSigText}/${n} requests: ` +
          nonLength
            .sort((x, y) => y[1] - x[1])
            .map(([id, c]) => `${id} ×${c}`)
            .join(', '),
      );
    // errors in the windows of its requests
    const credit = a.errorCredit.oom + a.errorCredit.timeout + a.errorCredit.error;
    const ownRate = n ? (f.failed + credit) / n : 0;
    const baseRate = reqs.length ? (totalFailed + totalErrLines) / reqs.length : 0;
    comp['errors'] =
      f.failed + credit >= 3 && baseRate > 0
        ? Math.min(15, Math.max(0, 8 * log2(ownRate / baseRate)))
        : 0;
    if (f.failed + credit >= 1) {
      const parts: string[] = [];
      if (a.errorCredit.oom >= 0.5) parts.push(`${r1(a.errorCredit.oom)} OOM`);
      if (a.errorCredit.timeout >= 0.5) parts.push(`${r1(a.errorCredit.timeout)} timeout`);
      if (a.errorCredit.error >= 0.5) parts.push(`${r1(a.errorCredit.error)} other error`);
      reasons.push(
        `${f.failed}/${n} requests failed (5xx/reset; ${Math.round(globalFailRate * 100)}% overall)` +
          (parts.length ? `; ${parts.join(', ')} log lines in the windows of its requests` : ''),
      );
    }
    const spoofed = a.reqs.filter((r) => r.spoofedHops.length > 0);
    comp['spoofedXff'] = spoofed.length ? 5 : 0;
    if (spoofed.length)
      reasons.push(
        `sent its own X-Forwarded-For on ${spoofed.length} requests (${[...new Set(spoofed.flatMap((r) => r.spoofedHops))].slice(0, 3).join(', ')}…): ignored, resolved through trusted hops`,
      );
    comp['keyRotation'] = a.keys.size > 3 ? 5 : 0;
    if (a.keys.size > 3) reasons.push(`${a.keys.size} API keys`);
    const score = Math.min(
      100,
      Object.values(comp).reduce((s, x) => s + x, 0),
    );
    if (reasons.length === 0) reasons.push('nothing unusual');
    const ts = a.reqs.map((r) => r.startUs);
    return {
      source: a.source,
      score: r1(score),
      flagged: score >= threshold,
      requests: n,
      apiKeys: [...a.keys].sort(),
      reasons,
      components: Object.fromEntries(Object.entries(comp).map(([k, v]) => [k, r1(v)])),
      stats: {
        peakRps10s: r1(f.peak),
        meanRps: r3(f.meanRps),
        bytes: f.bytes,
        promptChars: { p50: f.p50, p95: f.p95, max: f.max, known: f.known },
        signatureHits: Object.fromEntries(a.hits),
        requestsWithSignature: a.withSig,
        failed: f.failed,
        errorLines: {
          oom: r1(a.errorCredit.oom),
          timeout: r1(a.errorCredit.timeout),
          error: r1(a.errorCredit.error),
        },
        spoofedXff: spoofed.length,
        userAgents: [...a.uas].slice(0, 5),
        first: iso(Math.min(...ts)),
        last: iso(Math.max(...ts)),
      },
      campaign: null,
    };
  });
  suspects.sort(
    (x, y) => y.score - x.score || y.requests - x.requests || (x.source < y.source ? -1 : 1),
  );
  const flagged = suspects.filter((s) => s.flagged).map((s) => s.source);
  const flaggedSet = new Set(flagged);

  // --- campaigns: flagged sources linked by a shared prompt opening, API key, user agent or
  // signature set
  const campaigns = groupCampaigns(
    suspects.filter((s) => s.flagged),
    acc,
  );
  for (const c of campaigns)
    for (const s of suspects) if (c.sources.includes(s.source)) s.campaign = c.id;

  // --- impact
  const attackOf = reqs.map((r) => flaggedSet.has(r.source));
  const impact = measureImpact(reqs, attackOf, set.errors);
  const correlation = correlate(reqs, attackOf, set.errors, errCredit, flaggedSet, impact, sigs);

  // --- remediation and backtest
  const bt: BacktestRequest[] = reqs.map((r) => ({
    tsUs: r.startUs,
    source: r.source,
    reqBytes: r.reqBytes,
    promptChars: r.promptChars,
  }));
  const spec = chooseSpec(bt, attackOf, flagged);
  const per = evaluateRules(spec, bt);
  const perRule = Object.fromEntries(
    (Object.keys(per) as RuleName[]).map((k) => [k, count(per[k], attackOf)]),
  ) as Record<RuleName, Counts>;
  const perArtifact = Object.fromEntries(
    Object.entries(ARTIFACT_RULES).map(([k, names]) => [
      k,
      count(union(per, names, bt.length), attackOf),
    ]),
  );
  const trustedForNginx = [
    ...trustedCidrs,
    ...set.autoProxies.filter((p) => !trustedCidrs.includes(p)),
  ];
  const nginxCounts = perArtifact['nginx']!;
  const header = [
    `mlscope forensics: ${flagged.length} suspect source(s) scored ≥ ${threshold}`,
    `backtest over ${reqs.length} requests: blocks ${nginxCounts.attackBlocked}/${nginxCounts.attackTotal} attack, ${nginxCounts.benignBlocked}/${nginxCounts.benignTotal} benign`,
  ];
  return {
    suspects,
    campaigns,
    impact,
    correlation,
    rules: {
      nginx: renderNginx(spec, flagged.length ? trustedForNginx : [], header),
      awsWaf: renderAwsWaf(spec),
      nftables: renderNftables(spec),
      inputPolicy: {
        maxPromptChars: spec.maxPromptChars,
        maxPromptTokens:
          spec.maxPromptChars !== null ? Math.ceil(spec.maxPromptChars / sigs.charsPerToken) : null,
        maxBodyBytes: spec.maxBodyBytes,
      },
      spec,
    },
    backtest: {
      ...nginxCounts,
      artifact: 'nginx',
      attackDefinition: `requests from sources scoring ≥ ${threshold} (${flagged.length} sources); benign = every other request`,
      perArtifact,
      perRule,
    },
    threshold,
    trustedProxies: { configured: trustedCidrs, discovered: set.autoProxies },
    requests: {
      total: reqs.length,
      sources: suspects.length,
      failed: totalFailed,
      withPrompt: reqs.filter((r) => r.promptChars !== null).length,
      withPromptText: reqs.filter((r) => r.promptText !== null).length,
      unjoinedLogRequests: set.unjoinedLogRequests,
    },
    signatures: { rules: sigs.rules.length, contextTokens: sigs.contextTokens },
  };
}

function groupCampaigns(flagged: Suspect[], acc: Map<string, SourceAcc>): Campaign[] {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let p = parent.get(x) ?? x;
    while (p !== (parent.get(p) ?? p)) p = parent.get(p) ?? p;
    parent.set(x, p);
    return p;
  };
  const shared = new Map<string, Set<string>>();
  const link = (a: string, b: string, why: string) => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(rb, ra);
    for (const s of [a, b]) {
      let w = shared.get(s);
      if (!w) shared.set(s, (w = new Set()));
      w.add(why);
    }
  };
  const keyOf = (s: Suspect) => {
    const a = acc.get(s.source)!;
    const sigSet = Object.keys(s.stats.signatureHits).sort().join('+');
    const fps = [...a.fps.entries()].filter(([, c]) => c >= 2).map(([f]) => f);
    return { a, sigSet, fps };
  };
  const ks = flagged.map((s) => ({ s, ...keyOf(s) }));
  for (let i = 0; i < ks.length; i++)
    for (let j = i + 1; j < ks.length; j++) {
      const x = ks[i]!;
      const y = ks[j]!;
      const fp = x.fps.find((f) => y.fps.includes(f));
      if (fp) link(x.s.source, y.s.source, `prompt opening "${fp}…"`);
      const key = [...x.a.keys].find((k) => y.a.keys.has(k));
      if (key) link(x.s.source, y.s.source, `API key ${key}`);
      const ua = [...x.a.uas].find((u) => y.a.uas.has(u));
      if (ua && x.sigSet && x.sigSet === y.sigSet)
        link(x.s.source, y.s.source, `user agent "${ua}" and signatures ${x.sigSet}`);
    }
  const groups = new Map<string, Suspect[]>();
  for (const s of flagged) {
    const r = find(s.source);
    let g = groups.get(r);
    if (!g) groups.set(r, (g = []));
    g.push(s);
  }
  let n = 0;
  return [...groups.values()].map((g) => {
    const reqs = g.flatMap((s) => acc.get(s.source)!.reqs);
    const ts = reqs.map((r) => r.startUs);
    const why = new Set<string>();
    for (const s of g) for (const w of shared.get(s.source) ?? []) why.add(w);
    return {
      id: `campaign-${++n}`,
      sources: g.map((s) => s.source),
      requests: reqs.length,
      shared: g.length > 1 ? [...why].slice(0, 6) : ['single source'],
      window: { start: iso(Math.min(...ts)), end: iso(Math.max(...ts)) },
    };
  });
}

function p95(rs: readonly ForensicRequest[]): number | null {
  const d = rs
    .map((r) => r.durationMs)
    .filter((x): x is number => x !== null)
    .sort((a, b) => a - b);
  const q = quantile(d, 0.95);
  return q === null ? null : r1(q);
}

function rate(rs: readonly ForensicRequest[]): number | null {
  return rs.length ? r3(rs.filter((r) => r.failed).length / rs.length) : null;
}

function measureImpact(
  reqs: readonly ForensicRequest[],
  attack: readonly boolean[],
  errors: readonly ErrorEvent[],
): ImpactDoc {
  const atk = reqs.filter((_, i) => attack[i]);
  const first = reqs.length ? reqs[0]!.startUs : 0;
  const last = reqs.length ? Math.max(...reqs.map((r) => r.endUs)) : 0;
  const empty: ImpactDoc = {
    window: null,
    errorRateBefore: rate(reqs),
    errorRateDuring: null,
    p95MsBefore: p95(reqs),
    p95MsDuring: null,
    throughputRpsBefore: null,
    throughputRpsDuring: null,
    okRpsBefore: null,
    okRpsDuring: null,
    benignErrorRateDuring: null,
    benignP95MsDuring: null,
    requestsDuring: 0,
    attackRequests: 0,
    benignRequestsAffected: 0,
    timeline: [],
  };
  if (reqs.length === 0) return empty;
  let ws = first;
  let we = last;
  if (atk.length) {
    ws = Math.min(...atk.map((r) => r.startUs));
    we = Math.max(...atk.map((r) => r.endUs));
  }
  const before = reqs.filter((r) => r.startUs < ws);
  const during = reqs.filter((r) => r.startUs >= ws && r.startUs <= we);
  const benignDuring = reqs.filter((r, i) => !attack[i] && r.startUs >= ws && r.startUs <= we);
  const beforeSpan = Math.max(1e-3, (ws - first) / 1e6);
  const duringSpan = Math.max(1e-3, (we - ws) / 1e6);
  const benP95Before = p95(before);
  const affected = benignDuring.filter(
    (r) =>
      r.failed || (benP95Before !== null && r.durationMs !== null && r.durationMs > benP95Before),
  ).length;
  // timeline in buckets of a round size
  const span = (last - first) / 1e6;
  const step =
    [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600].find((s) => span / s <= 40) ?? 3600;
  const stepUs = step * 1e6;
  const t0 = Math.floor(first / stepUs) * stepUs;
  const buckets = new Map<number, { rs: ForensicRequest[]; attack: number; oom: number }>();
  const bucket = (ts: number) => {
    const k = Math.floor((ts - t0) / stepUs);
    let b = buckets.get(k);
    if (!b) buckets.set(k, (b = { rs: [], attack: 0, oom: 0 }));
    return b;
  };
  reqs.forEach((r, i) => {
    const b = bucket(r.startUs);
    b.rs.push(r);
    if (attack[i]) b.attack++;
  });
  for (const e of errors) if (e.kind === 'oom') bucket(e.tsUs).oom++;
  const timeline = [...buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([k, b]) => ({
      start: iso(t0 + k * stepUs),
      requests: b.rs.length,
      attack: b.attack,
      failed: b.rs.filter((r) => r.failed).length,
      oom: b.oom,
      p95Ms: p95(b.rs),
    }));
  return {
    window: atk.length ? { start: iso(ws), end: iso(we) } : null,
    errorRateBefore: rate(before),
    errorRateDuring: atk.length ? rate(during) : null,
    p95MsBefore: p95(before),
    p95MsDuring: atk.length ? p95(during) : null,
    throughputRpsBefore: before.length ? r3(before.length / beforeSpan) : null,
    throughputRpsDuring: atk.length ? r3(during.length / duringSpan) : null,
    okRpsBefore: before.length ? r3(before.filter((r) => !r.failed).length / beforeSpan) : null,
    okRpsDuring: atk.length ? r3(during.filter((r) => !r.failed).length / duringSpan) : null,
    benignErrorRateDuring: atk.length ? rate(benignDuring) : null,
    benignP95MsDuring: atk.length ? p95(benignDuring) : null,
    requestsDuring: during.length,
    attackRequests: atk.length,
    benignRequestsAffected: affected,
    timeline,
  };
}

function correlate(
  reqs: readonly ForensicRequest[],
  attack: readonly boolean[],
  errors: readonly ErrorEvent[],
  credit: Map<ErrorEvent, Map<string, number>>,
  flagged: Set<string>,
  impact: ImpactDoc,
  sigs: SignatureSet,
): CorrelationDoc {
  const ws = impact.window ? Date.parse(impact.window.start) * 1000 : null;
  const we = impact.window ? Date.parse(impact.window.end) * 1000 + 999 : null;
  const inWin = (ts: number) => ws !== null && we !== null && ts >= ws && ts <= we;
  const ooms = errors.filter((e) => e.kind === 'oom');
  let oomFlagged = 0;
  for (const e of ooms)
    for (const [src, c] of credit.get(e) ?? []) if (flagged.has(src)) oomFlagged += c;
  const failed = reqs.filter((r) => r.failed);
  const ctx = sigs.contextTokens;
  const edges = [0, 1024, 4096, Math.round(ctx * 0.8), Infinity].filter(
    (v, i, a) => i === 0 || v > a[i - 1]!,
  );
  const byPromptTokens: CorrelationDoc['byPromptTokens'] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    const lo = edges[i]!;
    const hi = edges[i + 1]!;
    const rs = reqs.filter((r) => {
      if (r.promptChars === null) return false;
      const t = r.promptChars / sigs.charsPerToken;
      return t >= lo && t < hi;
    });
    if (!rs.length) continue;
    const f = rs.filter((r) => r.failed).length;
    byPromptTokens.push({
      bucket: hi === Infinity ? `≥${fmtN(lo)} tokens` : `${fmtN(lo)}–${fmtN(hi)} tokens`,
      requests: rs.length,
      failed: f,
      failRate: r3(f / rs.length),
    });
  }
  const oomIn = ooms.filter((e) => inWin(e.tsUs)).length;
  const failedIn = failed.filter((r) => inWin(r.startUs)).length;
  const failedFlagged = failed.filter((r) => flagged.has(r.source)).length;
  void attack;
  const parts: string[] = [];
  if (ooms.length)
    parts.push(
      `${oomIn} of ${ooms.length} out-of-memory (OOM) lines fall in the attack window` +
        (impact.window ? ` ${impact.window.start}–${impact.window.end}` : '') +
        ` (${r1(oomFlagged)} credited to suspect sources' requests)`,
    );
  if (failed.length)
    parts.push(
      `${failedIn} of ${failed.length} 5xx/failed requests fall in it, ${failedFlagged} from suspect sources`,
    );
  if (impact.errorRateDuring !== null && impact.errorRateBefore !== null)
    parts.push(
      `error rate ${Math.round(impact.errorRateBefore * 1000) / 10}% before → ${Math.round(impact.errorRateDuring * 1000) / 10}% during` +
        (impact.benignErrorRateDuring !== null
          ? ` (benign sources ${Math.round(impact.benignErrorRateDuring * 1000) / 10}%)`
          : ''),
    );
  if (byPromptTokens.length >= 2) {
    const lo = byPromptTokens[0]!;
    const hi = byPromptTokens[byPromptTokens.length - 1]!;
    parts.push(
      `prompts ${hi.bucket} failed ${Math.round(hi.failRate * 100)}% vs ${Math.round(lo.failRate * 100)}% for ${lo.bucket}`,
    );
  }
  if (!impact.window) {
    parts.length = 0;
    parts.push(
      `${ooms.length} OOM lines and ${failed.length} failed requests, but no source scored above the threshold: no attack window to correlate them with`,
    );
  }
  return {
    oomLines: ooms.length,
    timeoutLines: errors.filter((e) => e.kind === 'timeout').length,
    errorLines: errors.filter((e) => e.kind === 'error').length,
    failedRequests: failed.length,
    oomInAttackWindow: oomIn,
    failedInAttackWindow: failedIn,
    oomCreditedToFlagged: r1(oomFlagged),
    failedFromFlagged: failedFlagged,
    byPromptTokens,
    summary: parts.length
      ? `OOM/5xx correlation: ${parts.join('; ')}.`
      : 'No OOM lines or failed requests found.',
  };
}
