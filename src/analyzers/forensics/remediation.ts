// Remediation artifacts for `mlscope forensics` — nginx (deny, per-source limit_req,
// client_max_body_size, real_ip through trusted hops), AWS WAF JSON (IP set, rate-based rule,
// body-size constraint), an nftables set, an input-validation policy — with the thresholds chosen
// from the history so benign sources pass, and the simulation each artifact is backtested with.

import { isIP } from 'node:net';

/** What a backtest needs to know about one request. */
export interface BacktestRequest {
  tsUs: number;
  source: string;
  reqBytes: number | null;
  promptChars: number | null;
}

export interface RuleSpec {
  deny: string[];
  /** nginx limit_req: leaky bucket per source. */
  limitReq: { ratePerSec: number; burst: number } | null;
  /** AWS WAF rate-based rule: requests per source per window. */
  wafRate: { limit: number; windowSec: number } | null;
  maxBodyBytes: number | null;
  maxPromptChars: number | null;
}

export interface Counts {
  attackBlocked: number;
  attackTotal: number;
  benignBlocked: number;
  benignTotal: number;
}

/** Simulate nginx `limit_req zone=… burst=B nodelay` keyed by source: blocked flags per request. */
export function simulateLimitReq(
  reqs: readonly BacktestRequest[],
  ratePerSec: number,
  burst: number,
): boolean[] {
  const state = new Map<string, { excess: number; lastUs: number }>();
  const order = reqs.map((_, i) => i).sort((a, b) => reqs[a]!.tsUs - reqs[b]!.tsUs);
  const blocked = new Array<boolean>(reqs.length).fill(false);
  for (const i of order) {
    const r = reqs[i]!;
    const s = state.get(r.source);
    if (!s) {
      state.set(r.source, { excess: 0, lastUs: r.tsUs });
      continue;
    }
    const elapsedS = Math.max(0, (r.tsUs - s.lastUs) / 1e6);
    // nginx counts excess in requests (×1000 internally); a request adds one
    const excess = Math.max(0, s.excess - ratePerSec * elapsedS) + 1;
    if (excess > burst) {
      blocked[i] = true; // rejected requests do not update the state
      continue;
    }
    s.excess = excess;
    s.lastUs = r.tsUs;
  }
  return blocked;
}

/** Largest leaky-bucket excess a set of requests reaches at a rate (what burst must allow). */
export function maxExcess(reqs: readonly BacktestRequest[], ratePerSec: number): number {
  const state = new Map<string, { excess: number; lastUs: number }>();
  let max = 0;
  for (const r of [...reqs].sort((a, b) => a.tsUs - b.tsUs)) {
    const s = state.get(r.source);
    if (!s) {
      state.set(r.source, { excess: 0, lastUs: r.tsUs });
      continue;
    }
    const excess = Math.max(0, s.excess - ratePerSec * ((r.tsUs - s.lastUs) / 1e6)) + 1;
    s.excess = excess;
    s.lastUs = r.tsUs;
    max = Math.max(max, excess);
  }
  return max;
}

/** Simulate a WAF rate-based rule: block when the source's trailing-window count exceeds limit. */
export function simulateWindowRate(
  reqs: readonly BacktestRequest[],
  limit: number,
  windowSec: number,
): boolean[] {
  const bySrc = new Map<string, number[]>();
  reqs.forEach((r, i) => {
    let l = bySrc.get(r.source);
    if (!l) bySrc.set(r.source, (l = []));
    l.push(i);
  });
  const blocked = new Array<boolean>(reqs.length).fill(false);
  const w = windowSec * 1e6;
  for (const idx of bySrc.values()) {
    idx.sort((a, b) => reqs[a]!.tsUs - reqs[b]!.tsUs);
    let lo = 0;
    for (let hi = 0; hi < idx.length; hi++) {
      while (reqs[idx[hi]!]!.tsUs - reqs[idx[lo]!]!.tsUs >= w) lo++;
      if (hi - lo + 1 > limit) blocked[idx[hi]!] = true;
    }
  }
  return blocked;
}

/** Max requests any one source sends within a window. */
export function maxInWindow(reqs: readonly BacktestRequest[], windowSec: number): number {
  const bySrc = new Map<string, number[]>();
  for (const r of reqs) {
    let l = bySrc.get(r.source);
    if (!l) bySrc.set(r.source, (l = []));
    l.push(r.tsUs);
  }
  let max = 0;
  const w = windowSec * 1e6;
  for (const ts of bySrc.values()) {
    ts.sort((a, b) => a - b);
    let lo = 0;
    for (let hi = 0; hi < ts.length; hi++) {
      while (ts[hi]! - ts[lo]! >= w) lo++;
      max = Math.max(max, hi - lo + 1);
    }
  }
  return max;
}

export type RuleName = 'deny' | 'limitReq' | 'wafRate' | 'bodySize' | 'promptLength';

/** Blocked flags per rule for every request. */
export function evaluateRules(
  spec: RuleSpec,
  reqs: readonly BacktestRequest[],
): Record<RuleName, boolean[]> {
  const deny = new Set(spec.deny);
  const none = () => new Array<boolean>(reqs.length).fill(false);
  return {
    deny: reqs.map((r) => deny.has(r.source)),
    limitReq: spec.limitReq
      ? simulateLimitReq(reqs, spec.limitReq.ratePerSec, spec.limitReq.burst)
      : none(),
    wafRate: spec.wafRate
      ? simulateWindowRate(reqs, spec.wafRate.limit, spec.wafRate.windowSec)
      : none(),
    bodySize: reqs.map(
      (r) => spec.maxBodyBytes !== null && r.reqBytes !== null && r.reqBytes > spec.maxBodyBytes,
    ),
    promptLength: reqs.map(
      (r) =>
        spec.maxPromptChars !== null &&
        r.promptChars !== null &&
        r.promptChars > spec.maxPromptChars,
    ),
  };
}

export const ARTIFACT_RULES: Record<string, RuleName[]> = {
  nginx: ['deny', 'limitReq', 'bodySize'],
  awsWaf: ['deny', 'wafRate', 'bodySize'],
  nftables: ['deny'],
  inputPolicy: ['promptLength'],
};

export function count(blocked: readonly boolean[], attack: readonly boolean[]): Counts {
  const c: Counts = { attackBlocked: 0, attackTotal: 0, benignBlocked: 0, benignTotal: 0 };
  blocked.forEach((b, i) => {
    if (attack[i]) {
      c.attackTotal++;
      if (b) c.attackBlocked++;
    } else {
      c.benignTotal++;
      if (b) c.benignBlocked++;
    }
  });
  return c;
}

export function union(
  per: Record<RuleName, boolean[]>,
  names: readonly RuleName[],
  n: number,
): boolean[] {
  const out = new Array<boolean>(n).fill(false);
  for (const name of names) per[name].forEach((b, i) => (out[i] ||= b));
  return out;
}

const roundUp = (n: number, step: number) => Math.ceil(n / step) * step;

/**
 * Thresholds that let every benign source of the history through with a margin: the rate and burst
 * above the busiest benign source, body and prompt limits above the largest benign request (and
 * only when some attack request is larger). Benign here = not flagged.
 */
export function chooseSpec(
  all: readonly BacktestRequest[],
  attack: readonly boolean[],
  flagged: readonly string[],
): RuleSpec {
  const benign = all.filter((_, i) => !attack[i]);
  const bad = all.filter((_, i) => attack[i]);
  const spec: RuleSpec = {
    deny: [...flagged].sort(),
    limitReq: null,
    wafRate: null,
    maxBodyBytes: null,
    maxPromptChars: null,
  };
  if (flagged.length === 0) return spec;
  const peak10 = maxInWindow(benign, 10) / 10;
  const rate = Math.max(1, Math.ceil(peak10 * 1.5));
  const burst = Math.max(5, Math.ceil(maxExcess(benign, rate) * 1.5) + 2);
  // only worth emitting when it would stop some attack traffic
  if (maxInWindow(bad, 10) / 10 > rate) spec.limitReq = { ratePerSec: rate, burst };
  const per60 = maxInWindow(benign, 60);
  const limit = Math.max(10, Math.ceil(per60 * 1.5));
  if (maxInWindow(bad, 60) > limit) spec.wafRate = { limit, windowSec: 60 };
  const maxBody = Math.max(0, ...benign.map((r) => r.reqBytes ?? 0));
  const maxBadBody = Math.max(0, ...bad.map((r) => r.reqBytes ?? 0));
  const bodyLimit = roundUp(Math.max(1024, maxBody * 1.25), 1024);
  if (maxBadBody > bodyLimit) spec.maxBodyBytes = bodyLimit;
  const maxPrompt = Math.max(0, ...benign.map((r) => r.promptChars ?? 0));
  const maxBadPrompt = Math.max(0, ...bad.map((r) => r.promptChars ?? 0));
  const promptLimit = roundUp(Math.max(256, maxPrompt * 1.25), 256);
  if (maxBadPrompt > promptLimit) spec.maxPromptChars = promptLimit;
  return spec;
}

function fmtSize(bytes: number): string {
  return bytes % (1024 * 1024) === 0
    ? `${bytes / 1024 / 1024}m`
    : bytes % 1024 === 0
      ? `${bytes / 1024}k`
      : String(bytes);
}

export function renderNginx(spec: RuleSpec, trusted: string[], header: string[]): string {
  const l: string[] = header.map((h) => `# ${h}`);
  l.push('');
  l.push('# --- http {} context ---');
  if (trusted.length) {
    l.push('# Resolve the client through trusted proxy hops (ngx_http_realip_module), so deny and');
    l.push('# limit_req act on the client, not on the load balancer.');
    for (const t of trusted) l.push(`set_real_ip_from ${t};`);
    l.push('real_ip_header X-Forwarded-For;');
    l.push('real_ip_recursive on;');
  }
  if (spec.limitReq) {
    l.push(
      `limit_req_zone $binary_remote_addr zone=mlscope_per_source:10m rate=${spec.limitReq.ratePerSec}r/s;`,
    );
    l.push('limit_req_status 429;');
  }
  l.push('');
  l.push('# --- server {} or location {} context (the model endpoints) ---');
  if (spec.deny.length === 0)
    l.push('# no source scored above the suspect threshold: nothing to deny');
  for (const d of spec.deny) l.push(`deny ${d};`);
  if (spec.limitReq)
    l.push(`limit_req zone=mlscope_per_source burst=${spec.limitReq.burst} nodelay;`);
  if (spec.maxBodyBytes !== null) l.push(`client_max_body_size ${fmtSize(spec.maxBodyBytes)};`);
  return l.join('\n') + '\n';
}

/** Read back the rules of an nginx snippet this module wrote (for independent backtests). */
export function parseNginxRules(text: string): RuleSpec & { trusted: string[] } {
  const spec: RuleSpec & { trusted: string[] } = {
    deny: [],
    limitReq: null,
    wafRate: null,
    maxBodyBytes: null,
    maxPromptChars: null,
    trusted: [],
  };
  let rate: number | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    let m: RegExpExecArray | null;
    if ((m = /^deny\s+([^;\s]+);/.exec(line))) spec.deny.push(m[1]!);
    else if ((m = /^set_real_ip_from\s+([^;\s]+);/.exec(line))) spec.trusted.push(m[1]!);
    else if ((m = /^limit_req_zone\s.*rate=(\d+(?:\.\d+)?)r\/(s|m);/.exec(line)))
      rate = Number(m[1]) / (m[2] === 'm' ? 60 : 1);
    else if ((m = /^limit_req\s+zone=\S+\s+burst=(\d+)/.exec(line)) && rate !== null)
      spec.limitReq = { ratePerSec: rate, burst: Number(m[1]) };
    else if ((m = /^client_max_body_size\s+(\d+)([kKmMgG]?);/.exec(line))) {
      const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase()] ?? 1;
      spec.maxBodyBytes = Number(m[1]) * mult;
    }
  }
  return spec;
}

export function renderNftables(spec: RuleSpec): string {
  const v4 = spec.deny.filter((a) => isIP(a) === 4);
  const v6 = spec.deny.filter((a) => isIP(a) === 6);
  const set = (name: string, type: string, el: string[]) =>
    [
      `  set ${name} {`,
      `    type ${type}`,
      ...(el.length ? [`    elements = { ${el.join(', ')} }`] : []),
      '  }',
    ].join('\n');
  return (
    [
      '# mlscope forensics: drop the suspect sources at the edge (the host that sees client',
      '# addresses; behind a load balancer the peer is the balancer, use the nginx or WAF rules).',
      '# Load: nft -f FILE   Add later: nft add element inet mlscope_forensics suspects_v4 { ADDR }',
      'table inet mlscope_forensics {',
      set('suspects_v4', 'ipv4_addr', v4),
      set('suspects_v6', 'ipv6_addr', v6),
      '  chain input {',
      '    type filter hook input priority filter; policy accept;',
      '    ip saddr @suspects_v4 counter drop',
      '    ip6 saddr @suspects_v6 counter drop',
      '  }',
      '}',
    ].join('\n') + '\n'
  );
}

export function renderAwsWaf(spec: RuleSpec): Record<string, unknown> {
  const vis = (name: string) => ({
    SampledRequestsEnabled: true,
    CloudWatchMetricsEnabled: true,
    MetricName: name,
  });
  const v4 = spec.deny.filter((a) => isIP(a) === 4).map((a) => `${a}/32`);
  const v6 = spec.deny.filter((a) => isIP(a) === 6).map((a) => `${a}/128`);
  const rules: Record<string, unknown>[] = [];
  let prio = 0;
  if (v4.length)
    rules.push({
      Name: 'mlscope-block-suspects',
      Priority: prio++,
      Statement: {
        IPSetReferenceStatement: { ARN: '${IPSET_ARN_mlscope-forensics-suspects}' },
      },
      Action: { Block: {} },
      VisibilityConfig: vis('mlscopeBlockSuspects'),
    });
  if (spec.wafRate)
    rules.push({
      Name: 'mlscope-rate-per-source',
      Priority: prio++,
      Statement: {
        RateBasedStatement: {
          Limit: spec.wafRate.limit,
          EvaluationWindowSec: spec.wafRate.windowSec,
          AggregateKeyType: 'IP',
        },
      },
      Action: { Block: {} },
      VisibilityConfig: vis('mlscopeRatePerSource'),
    });
  if (spec.maxBodyBytes !== null)
    rules.push({
      Name: 'mlscope-body-size',
      Priority: prio++,
      Statement: {
        SizeConstraintStatement: {
          FieldToMatch: { Body: { OversizeHandling: 'MATCH' } },
          ComparisonOperator: 'GT',
          Size: spec.maxBodyBytes,
          TextTransformations: [{ Priority: 0, Type: 'NONE' }],
        },
      },
      Action: { Block: {} },
      VisibilityConfig: vis('mlscopeBodySize'),
    });
  return {
    ipSets: [
      {
        Name: 'mlscope-forensics-suspects',
        Scope: 'REGIONAL',
        IPAddressVersion: 'IPV4',
        Addresses: v4,
      },
      ...(v6.length
        ? [
            {
              Name: 'mlscope-forensics-suspects-v6',
              Scope: 'REGIONAL',
              IPAddressVersion: 'IPV6',
              Addresses: v6,
            },
          ]
        : []),
    ],
    rules,
    notes: [
      'Add the rules to a web ACL (aws wafv2 update-web-acl); replace ${IPSET_ARN_…} with the IP set ARN from create-ip-set.',
      'AggregateKeyType IP uses the address WAF sees; behind another proxy use FORWARDED_IP with ForwardedIPConfig {HeaderName: X-Forwarded-For, FallbackBehavior: MATCH}.',
      spec.maxBodyBytes !== null && spec.maxBodyBytes > 8192
        ? `The body rule compares ${spec.maxBodyBytes} bytes: raise the web ACL body inspection limit (AssociationConfig RequestBody, up to 64 KB on CloudFront, API Gateway, Cognito, App Runner, Verified Access); with the 8 KB default every body over 8 KB matches (OversizeHandling MATCH).`
        : 'Body rule within the default 8 KB inspection limit.',
    ],
  };
}
