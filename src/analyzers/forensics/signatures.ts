// Prompt signatures for `mlscope forensics`: the YAML rule file (rules/forensics.yaml, shipped, and
// user files that extend it) parsed into compiled matchers, and the matcher run over one prompt.
// Pure: the caller reads the files.

import { parse as parseYaml } from 'yaml';

export type SignatureMatch = 'regex' | 'encoded' | 'repetition' | 'length';

export interface SignatureRule {
  id: string;
  category: string;
  weight: number;
  description: string;
  match: SignatureMatch;
  patterns: RegExp[];
  minLength: number;
  minTokens: number;
  maxUniqueRatio: number;
  fractionOfContext: number;
  /** The file the rule came from. */
  file: string;
}

export interface SignatureSet {
  contextTokens: number;
  charsPerToken: number;
  rules: SignatureRule[];
}

export interface SignatureProblem {
  file: string;
  message: string;
}

const MATCHES: readonly SignatureMatch[] = ['regex', 'encoded', 'repetition', 'length'];

function num(v: unknown, dflt: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : dflt;
}

/**
 * Parse one rule file; its rules are merged into `base` (same id replaces). Problems (bad regex,
 * unknown match kind) skip the rule and are reported, never thrown.
 */
export function parseSignatureFile(
  text: string,
  file: string,
  base: SignatureSet | null,
  problems: SignatureProblem[],
): SignatureSet {
  const out: SignatureSet = base
    ? { ...base, rules: [...base.rules] }
    : { contextTokens: 8192, charsPerToken: 4, rules: [] };
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    problems.push({
      file,
      message: err instanceof Error ? err.message.split('\n')[0]! : 'bad YAML',
    });
    return out;
  }
  if (doc === null || typeof doc !== 'object') {
    problems.push({ file, message: 'expected a mapping with a `rules` list' });
    return out;
  }
  const d = doc as Record<string, unknown>;
  out.contextTokens = num(d['contextTokens'], out.contextTokens);
  out.charsPerToken = num(d['charsPerToken'], out.charsPerToken);
  const rules = Array.isArray(d['rules']) ? (d['rules'] as unknown[]) : [];
  if (!Array.isArray(d['rules'])) problems.push({ file, message: 'no `rules` list' });
  for (const [i, r] of rules.entries()) {
    if (r === null || typeof r !== 'object') {
      problems.push({ file, message: `rule ${i + 1}: not a mapping` });
      continue;
    }
    const o = r as Record<string, unknown>;
    const id = typeof o['id'] === 'string' ? o['id'] : null;
    const match = o['match'] as SignatureMatch;
    if (!id) {
      problems.push({ file, message: `rule ${i + 1}: missing id` });
      continue;
    }
    if (!MATCHES.includes(match)) {
      problems.push({ file, message: `rule ${id}: match must be one of ${MATCHES.join(', ')}` });
      continue;
    }
    const patterns: RegExp[] = [];
    let bad = false;
    if (match === 'regex') {
      const ps = Array.isArray(o['patterns']) ? (o['patterns'] as unknown[]) : [];
      for (const p of ps) {
        try {
          patterns.push(new RegExp(String(p), 'iu'));
        } catch (err) {
          bad = true;
          problems.push({
            file,
            message: `rule ${id}: bad pattern: ${err instanceof Error ? err.message : String(err)}`,
          });
        }
      }
      if (patterns.length === 0) {
        if (!bad) problems.push({ file, message: `rule ${id}: no patterns` });
        continue;
      }
    }
    const rule: SignatureRule = {
      id,
      category: typeof o['category'] === 'string' ? o['category'] : 'injection',
      weight: Math.max(0, Math.min(1, num(o['weight'], 1))),
      description: typeof o['description'] === 'string' ? o['description'] : id,
      match,
      patterns,
      minLength: Math.max(16, num(o['minLength'], 200)),
      minTokens: Math.max(10, num(o['minTokens'], 300)),
      maxUniqueRatio: num(o['maxUniqueRatio'], 0.05),
      fractionOfContext: num(o['fractionOfContext'], 0.8),
      file,
    };
    const at = out.rules.findIndex((x) => x.id === id);
    if (at >= 0) out.rules[at] = rule;
    else out.rules.push(rule);
  }
  return out;
}

const ENCODED = [
  // base64 (standard and URL-safe), allowing line breaks inside
  (n: number) => new RegExp(`[A-Za-z0-9+/_-]{${n},}={0,2}`),
  (n: number) => new RegExp(`(?:[0-9a-fA-F]{2}){${Math.ceil(n / 2)},}`),
  (n: number) => new RegExp(`(?:%[0-9a-fA-F]{2}){${Math.ceil(n / 3)},}`),
  (n: number) => new RegExp(`(?:\\\\u[0-9a-fA-F]{4}){${Math.ceil(n / 6)},}`),
];

function encodedHit(text: string, minLength: number): boolean {
  for (const mk of ENCODED) {
    const m = mk(minLength).exec(text);
    if (!m) continue;
    // a run of one letter or plain words glued together is repetition, not an encoding: want
    // mixed case or digits spread through the run
    const s = m[0];
    const distinct = new Set(s.slice(0, 400)).size;
    if (distinct >= 10) return true;
  }
  return false;
}

function repetitionHit(text: string, minTokens: number, maxUniqueRatio: number): boolean {
  const words = text.split(/\s+/).filter((w) => w.length > 0);
  if (words.length >= minTokens) {
    const uniq = new Set(words.map((w) => w.toLowerCase())).size;
    if (uniq / words.length <= maxUniqueRatio) return true;
  }
  // long runs without spaces: 8-char chunks of a long text, few distinct
  const chunks = Math.floor(text.length / 8);
  if (chunks >= minTokens) {
    const seen = new Set<string>();
    for (let i = 0; i < chunks; i++) seen.add(text.slice(i * 8, i * 8 + 8));
    if (seen.size / chunks <= maxUniqueRatio) return true;
  }
  return false;
}

export interface PromptFacts {
  /** Prompt text (possibly a prefix), or null when only the size is known. */
  text: string | null;
  /** Prompt characters (exact or estimated), or null. */
  chars: number | null;
}

/** Ids of the rules a prompt matches. */
export function matchSignatures(set: SignatureSet, p: PromptFacts): SignatureRule[] {
  const hits: SignatureRule[] = [];
  const text = p.text;
  for (const r of set.rules) {
    switch (r.match) {
      case 'length':
        if (
          p.chars !== null &&
          p.chars / set.charsPerToken >= r.fractionOfContext * set.contextTokens
        )
          hits.push(r);
        break;
      case 'regex':
        if (text !== null && r.patterns.some((re) => re.test(text))) hits.push(r);
        break;
      case 'encoded':
        if (text !== null && text.length >= r.minLength && encodedHit(text, r.minLength))
          hits.push(r);
        break;
      case 'repetition':
        if (text !== null && repetitionHit(text, r.minTokens, r.maxUniqueRatio)) hits.push(r);
        break;
    }
  }
  return hits;
}
