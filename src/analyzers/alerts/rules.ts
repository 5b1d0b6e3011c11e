// Alert rule files: YAML shaped like Prometheus rule files (groups → rules with alert, expr, for,
// keep_firing_for, labels, annotations). Problems are data: each names the file, line and column
// in the YAML file — expression errors included (the expression offset is mapped back through
// the YAML scalar style: plain, quoted, literal `|` or folded `>`).

import {
  LineCounter,
  parseDocument,
  isMap,
  isScalar,
  isSeq,
  type Node,
  type Scalar,
  type YAMLMap,
} from 'yaml';
import type { Expr } from './ast.js';
import { parseDurationMs } from './duration.js';
import { parseExpr } from './parser.js';

export interface RuleProblem {
  file: string;
  line: number;
  col: number;
  message: string;
}

export interface AlertRule {
  group: string;
  name: string;
  exprText: string;
  expr: Expr;
  forMs: number;
  keepFiringForMs: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Where the rule is declared (1-based line of its `alert:` key). */
  file: string;
  line: number;
  /** Maps an expression character offset to a YAML line/column. */
  exprPos: (offset: number) => { line: number; col: number };
}

export interface RuleGroup {
  name: string;
  intervalMs: number | null;
  rules: AlertRule[];
}

export type RuleFileResult = { groups: RuleGroup[]; problems: RuleProblem[] };

const MAX_RULES = 10_000;

function srcOffsetMapper(node: Scalar, src: string): (off: number) => number {
  const start = node.range?.[0] ?? 0;
  const end = node.range?.[1] ?? start;
  const type = node.type;
  if (type === 'QUOTE_DOUBLE' || type === 'QUOTE_SINGLE') {
    // Escapes shift positions slightly; close enough for pointing at an expression token.
    return (off) => Math.min(start + 1 + off, end);
  }
  const raw = src.slice(start, end);
  // Content lines with their start offset in the source and in the value.
  const segs: { v: number; s: number; len: number }[] = [];
  let lines = raw.split('\n');
  let base = start;
  if (type === 'BLOCK_LITERAL' || type === 'BLOCK_FOLDED') {
    base += lines[0]!.length + 1; // header line `|` / `>-`
    lines = lines.slice(1);
    const ind = Math.min(
      ...lines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length),
    );
    let v = 0;
    for (const l of lines) {
      const cut = Math.min(ind, l.length);
      segs.push({ v, s: base + cut, len: l.length - cut });
      v += l.length - cut + 1;
      base += l.length + 1;
    }
  } else {
    let v = 0;
    for (const l of lines) {
      const lead = l.length - l.trimStart().length;
      const t = l.trim();
      segs.push({ v, s: base + lead, len: t.length });
      v += t.length + 1;
      base += l.length + 1;
    }
  }
  return (off) => {
    let seg = segs[0];
    for (const s of segs) if (s.v <= off) seg = s;
    if (!seg) return start;
    return seg.s + Math.min(off - seg.v, seg.len);
  };
}

/** Parse a rule file's text. Never throws on bad input. */
export function parseRuleFile(text: string, file: string): RuleFileResult {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const problems: RuleProblem[] = [];
  const at = (offset: number, message: string): void => {
    const p = lc.linePos(offset);
    problems.push({ file, line: p.line, col: p.col, message });
  };
  const atNode = (n: Node | null | undefined, message: string): void =>
    at(n?.range?.[0] ?? 0, message);
  for (const e of doc.errors) at(e.pos[0], e.message.split('\n')[0]!);
  if (doc.errors.length) return { groups: [], problems };

  const root = doc.contents;
  if (!isMap(root)) {
    atNode(root, "a rule file is a map with a 'groups' list");
    return { groups: [], problems };
  }
  const groupsNode = root.get('groups', true) as Node | undefined;
  if (!isSeq(groupsNode)) {
    atNode(groupsNode ?? root, "expected 'groups:' with a list of rule groups");
    return { groups: [], problems };
  }
  const groups: RuleGroup[] = [];
  const names = new Set<string>();
  let total = 0;
  for (const gNode of groupsNode.items as Node[]) {
    if (!isMap(gNode)) {
      atNode(gNode, 'a rule group is a map with name and rules');
      continue;
    }
    const name = str(gNode, 'name');
    if (name === null) {
      atNode(gNode, "rule group without a 'name'");
      continue;
    }
    if (names.has(name)) atNode(gNode.get('name', true), `duplicate group name '${name}'`);
    names.add(name);
    let intervalMs: number | null = null;
    const iv = gNode.get('interval', true) as Node | undefined;
    if (iv !== undefined) {
      intervalMs = isScalar(iv) ? parseDurationMs(String(iv.value)) : null;
      if (intervalMs === null)
        atNode(iv, `bad interval '${isScalar(iv) ? String(iv.value) : ''}' (e.g. 1m)`);
    }
    const rulesNode = gNode.get('rules', true) as Node | undefined;
    const group: RuleGroup = { name, intervalMs, rules: [] };
    groups.push(group);
    if (!isSeq(rulesNode)) {
      atNode(rulesNode ?? gNode, `group '${name}': expected 'rules:' with a list`);
      continue;
    }
    for (const rNode of rulesNode.items as Node[]) {
      if (++total > MAX_RULES) {
        atNode(rNode, `more than ${MAX_RULES} rules`);
        return { groups, problems };
      }
      if (!isMap(rNode)) {
        atNode(rNode, 'a rule is a map with alert and expr');
        continue;
      }
      const rule = parseRule(rNode, group.name, file, text, lc, atNode, problems);
      if (rule) group.rules.push(rule);
    }
  }
  return { groups, problems };
}

/** A scalar's value as text if it is a string, number, boolean or bigint; null otherwise. */
function scalarText(v: unknown): string | null {
  return typeof v === 'string' ||
    typeof v === 'number' ||
    typeof v === 'boolean' ||
    typeof v === 'bigint'
    ? String(v)
    : null;
}

function str(m: YAMLMap, key: string): string | null {
  const n = m.get(key, true) as Node | undefined;
  return isScalar(n) ? scalarText(n.value) : null;
}

function stringMap(
  m: YAMLMap,
  key: string,
  atNode: (n: Node | null | undefined, msg: string) => void,
): Record<string, string> {
  const n = m.get(key, true) as Node | undefined;
  const out: Record<string, string> = {};
  if (n === undefined || (isScalar(n) && n.value === null)) return out;
  if (!isMap(n)) {
    atNode(n, `'${key}' must be a map of names to strings`);
    return out;
  }
  for (const it of n.items) {
    const k = isScalar(it.key) ? String(it.key.value) : null;
    const v = isScalar(it.value) ? scalarText(it.value.value) : null;
    if (k === null || v === null) {
      atNode((it.value ?? it.key) as Node, `'${key}' values must be strings`);
      continue;
    }
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) atNode(it.key as Node, `bad label name '${k}'`);
    out[k] = v;
  }
  return out;
}

function parseRule(
  r: YAMLMap,
  group: string,
  file: string,
  text: string,
  lc: LineCounter,
  atNode: (n: Node | null | undefined, msg: string) => void,
  problems: RuleProblem[],
): AlertRule | null {
  const known = new Set([
    'alert',
    'record',
    'expr',
    'for',
    'keep_firing_for',
    'labels',
    'annotations',
  ]);
  for (const it of r.items) {
    const k = isScalar(it.key) ? String(it.key.value) : '';
    if (!known.has(k)) atNode(it.key as Node, `unknown rule field '${k}'`);
  }
  if (r.has('record')) {
    atNode(r.get('record', true), "recording rules ('record:') are not supported; use 'alert:'");
    return null;
  }
  const name = str(r, 'alert');
  if (name === null || !/^[A-Za-z_:][A-Za-z0-9_:]*$/.test(name)) {
    atNode(
      r.get('alert', true) ?? r,
      name === null ? "rule without 'alert:' name" : `bad alert name '${name}'`,
    );
    return null;
  }
  const exprNode = r.get('expr', true) as Node | undefined;
  const exprText = isScalar(exprNode) ? scalarText(exprNode.value) : null;
  if (!isScalar(exprNode) || exprText === null) {
    atNode(exprNode ?? r, `alert '${name}': 'expr' must be a string`);
    return null;
  }
  const map = srcOffsetMapper(exprNode, text);
  const exprPos = (off: number): { line: number; col: number } => lc.linePos(map(off));
  const parsed = parseExpr(exprText);
  let bad = false;
  if (!parsed.ok) {
    const p = exprPos(parsed.problem.offset);
    problems.push({
      file,
      line: p.line,
      col: p.col,
      message: `alert '${name}': ${parsed.problem.message}`,
    });
    bad = true;
  }
  const dur = (key: string): number => {
    const n = r.get(key, true) as Node | undefined;
    if (n === undefined) return 0;
    const ms = isScalar(n) ? parseDurationMs(String(n.value)) : null;
    if (ms === null) {
      atNode(n, `alert '${name}': bad '${key}' duration (e.g. 5m, 1h30m)`);
      bad = true;
      return 0;
    }
    return ms;
  };
  const forMs = dur('for');
  const keepFiringForMs = dur('keep_firing_for');
  const labels = stringMap(r, 'labels', atNode);
  const annotations = stringMap(r, 'annotations', atNode);
  if (bad || !parsed.ok) return null;
  const line = lc.linePos(r.range?.[0] ?? 0).line;
  return {
    group,
    name,
    exprText,
    expr: parsed.expr,
    forMs,
    keepFiringForMs,
    labels,
    annotations,
    file,
    line,
    exprPos,
  };
}
