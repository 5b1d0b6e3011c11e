// Parser of the alert expression language (LANGUAGE.md): text → `Expr`, or a list of problems,
// each with the character offset in the text. Hand-written recursive descent with PromQL's
// operator precedence (low → high): or < and unless < comparisons < + - < * / % < ^ < unary -.
// Never throws on bad input.

import {
  AGG_OPS,
  CALL_FUNCS,
  RANGE_FUNCS,
  UNWRAP_FUNCS,
  type AggOp,
  type BinOp,
  type CallFunc,
  type Expr,
  type Grouping,
  type LabelPredicate,
  type LogRange,
  type Matcher,
  type RangeFunc,
  type Stage,
  type StringTest,
  type Unwrap,
} from './ast.js';
import { parseDurationMs } from './duration.js';

export interface ExprProblem {
  /** Character offset in the expression text. */
  offset: number;
  message: string;
}

export type ParseResult = { ok: true; expr: Expr } | { ok: false; problem: ExprProblem };

/** Hard limit on expression size and nesting (hostile rule files). */
const MAX_EXPR_CHARS = 64 * 1024;
const MAX_DEPTH = 200;

type TokKind = 'ident' | 'number' | 'duration' | 'string' | 'op' | 'eof';
interface Tok {
  kind: TokKind;
  text: string;
  /** Decoded string value for 'string'. */
  value: string;
  pos: number;
}

/** Internal: unwinds the recursive descent to `parseExpr`, which turns it into a problem. */
class ParseFail extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

const OPS = [
  '|=',
  '|~',
  '!=',
  '!~',
  '=~',
  '==',
  '>=',
  '<=',
  '(',
  ')',
  '{',
  '}',
  '[',
  ']',
  ',',
  '|',
  '=',
  '>',
  '<',
  '+',
  '-',
  '*',
  '/',
  '%',
  '^',
];

function lex(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      i++;
      continue;
    }
    if (src[i] === '#') {
      while (i < n && src[i] !== '\n') i++;
      continue;
    }
    const start = i;
    if (src[i] === '"' || src[i] === "'") {
      const q = src[i]!;
      i++;
      let v = '';
      for (;;) {
        if (i >= n) throw new ParseFail(start, 'unterminated string');
        const ch = src[i]!;
        if (ch === q) {
          i++;
          break;
        }
        if (ch === '\n') throw new ParseFail(start, 'unterminated string');
        if (ch === '\\') {
          const e = src[i + 1];
          if (e === undefined) throw new ParseFail(start, 'unterminated string');
          const map: Record<string, string> = {
            n: '\n',
            t: '\t',
            r: '\r',
            '\\': '\\',
            '"': '"',
            "'": "'",
          };
          const m = map[e];
          if (m !== undefined) v += m;
          else v += '\\' + e; // keep regex escapes like \d, \. as written
          i += 2;
          continue;
        }
        v += ch;
        i++;
      }
      toks.push({ kind: 'string', text: src.slice(start, i), value: v, pos: start });
      continue;
    }
    if (src[i] === '`') {
      const end = src.indexOf('`', i + 1);
      if (end < 0) throw new ParseFail(start, 'unterminated raw string');
      toks.push({
        kind: 'string',
        text: src.slice(start, end + 1),
        value: src.slice(i + 1, end),
        pos: start,
      });
      i = end + 1;
      continue;
    }
    if ((c >= 48 && c <= 57) || (src[i] === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const dm = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w|y))+(?![A-Za-z0-9_])/.exec(src.slice(i, i + 64));
      if (dm) {
        toks.push({ kind: 'duration', text: dm[0], value: dm[0], pos: start });
        i += dm[0].length;
        continue;
      }
      const nm = /^(?:0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/.exec(
        src.slice(i, i + 64),
      );
      const text = nm![0];
      i += text.length;
      if (/[A-Za-z_]/.test(src[i] ?? ''))
        throw new ParseFail(start, `bad number or duration '${src.slice(start, i + 1)}'`);
      toks.push({ kind: 'number', text, value: text, pos: start });
      continue;
    }
    if (/[A-Za-z_]/.test(src[i]!)) {
      while (i < n && /[A-Za-z0-9_.:]/.test(src[i]!)) i++;
      const text = src.slice(start, i);
      toks.push({ kind: 'ident', text, value: text, pos: start });
      continue;
    }
    let op: string | undefined;
    for (const o of OPS) {
      if (src.startsWith(o, i)) {
        op = o;
        break;
      }
    }
    if (op === undefined) throw new ParseFail(start, `unexpected character '${src[i]}'`);
    toks.push({ kind: 'op', text: op, value: op, pos: start });
    i += op.length;
  }
  toks.push({ kind: 'eof', text: '', value: '', pos: n });
  return toks;
}

const CMP_OPS = new Set(['==', '!=', '>', '>=', '<', '<=']);

/** Go/RE2 inline flags at the start (`(?i)`, `(?s)`, `(?is)`) become JavaScript flags. */
function reFlags(re: string): { body: string; flags: string } {
  const m = /^\(\?([is]+)\)/.exec(re);
  if (!m) return { body: re, flags: 's' };
  return { body: re.slice(m[0].length), flags: m[1]!.includes('i') ? 'is' : 's' };
}

/** Alternatives made only of characters that are never special in a regular expression. */
const LITERAL_ALTERNATION = /^[A-Za-z0-9_/:@ -]+(?:\|[A-Za-z0-9_/:@ -]+)*$/;

/**
 * An anchored match. `api|gateway` (the common label matcher) becomes a set lookup, like
 * Prometheus' fast regexp matcher: one hash probe per record instead of a regexp run.
 */
function anchored(re: string, at: number): StringTest {
  if (LITERAL_ALTERNATION.test(re)) {
    const set = new Set(re.split('|'));
    return { test: (s: string): boolean => set.has(s) };
  }
  try {
    const { body, flags } = reFlags(re);
    return new RegExp(`^(?:${body})$`, flags);
  } catch (e) {
    throw new ParseFail(at, `invalid regular expression: ${(e as Error).message}`);
  }
}

function unanchored(re: string, at: number): RegExp {
  try {
    const { body, flags } = reFlags(re);
    return new RegExp(body, flags);
  } catch (e) {
    throw new ParseFail(at, `invalid regular expression: ${(e as Error).message}`);
  }
}

class Parser {
  private i = 0;
  private depth = 0;
  constructor(private readonly toks: Tok[]) {}

  private peek(k = 0): Tok {
    return this.toks[Math.min(this.i + k, this.toks.length - 1)]!;
  }
  private next(): Tok {
    const t = this.peek();
    if (this.i < this.toks.length - 1) this.i++;
    return t;
  }
  private isOp(text: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind === 'op' && t.text === text;
  }
  private isWord(text: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind === 'ident' && t.text === text;
  }
  private expectOp(text: string, what?: string): Tok {
    const t = this.peek();
    if (t.kind !== 'op' || t.text !== text) throw this.unexpected(what ?? `'${text}'`);
    return this.next();
  }
  private unexpected(expected: string): ParseFail {
    const t = this.peek();
    const got = t.kind === 'eof' ? 'end of expression' : `'${t.text}'`;
    return new ParseFail(t.pos, `expected ${expected}, found ${got}`);
  }

  parseTop(): Expr {
    const e = this.parseExpr(0);
    if (this.peek().kind !== 'eof') throw this.unexpected('an operator or end of expression');
    return e;
  }

  // Binary precedence levels.
  private static readonly LEVELS: string[][] = [
    ['or'],
    ['and', 'unless'],
    ['==', '!=', '>', '>=', '<', '<='],
    ['+', '-'],
    ['*', '/', '%'],
    ['^'],
  ];

  private binOpAt(level: number): string | null {
    const t = this.peek();
    const ops = Parser.LEVELS[level]!;
    if ((t.kind === 'op' || t.kind === 'ident') && ops.includes(t.text)) return t.text;
    return null;
  }

  private parseExpr(level: number): Expr {
    if (++this.depth > MAX_DEPTH)
      throw new ParseFail(this.peek().pos, 'expression nested too deeply');
    try {
      if (level >= Parser.LEVELS.length) return this.parseUnary();
      let left = this.parseExpr(level + 1);
      for (;;) {
        const op = this.binOpAt(level);
        if (op === null) break;
        const opTok = this.next();
        let bool = false;
        if (CMP_OPS.has(op) && this.isWord('bool')) {
          this.next();
          bool = true;
        }
        let matching: { on: boolean; labels: string[] } | null = null;
        if (this.isWord('on') || this.isWord('ignoring')) {
          const on = this.next().text === 'on';
          matching = { on, labels: this.parseLabelList() };
          if (this.isWord('group_left') || this.isWord('group_right'))
            throw new ParseFail(this.peek().pos, `${this.peek().text} is not supported`);
        }
        // ^ is right-associative.
        const right = op === '^' ? this.parseExpr(level) : this.parseExpr(level + 1);
        left = { type: 'binary', pos: opTok.pos, op: op as BinOp, bool, matching, left, right };
      }
      return left;
    } finally {
      this.depth--;
    }
  }

  private parseUnary(): Expr {
    if (this.isOp('-') || this.isOp('+')) {
      const t = this.next();
      const arg = this.parseUnary();
      if (t.text === '+') return arg;
      if (arg.type === 'number') return { type: 'number', pos: t.pos, value: -arg.value };
      return { type: 'neg', pos: t.pos, arg };
    }
    return this.parsePrimary();
  }

  private parseNumberTok(): number {
    const t = this.peek();
    if (t.kind === 'number') {
      this.next();
      return Number(t.text);
    }
    if (this.isOp('-') && this.peek(1).kind === 'number') {
      this.next();
      return -Number(this.next().text);
    }
    throw this.unexpected('a number');
  }

  private parsePrimary(): Expr {
    const t = this.peek();
    if (t.kind === 'number') {
      this.next();
      return { type: 'number', pos: t.pos, value: Number(t.text) };
    }
    if (t.kind === 'op' && t.text === '(') {
      this.next();
      const e = this.parseExpr(0);
      this.expectOp(')');
      return e;
    }
    if (t.kind === 'op' && t.text === '{')
      throw new ParseFail(
        t.pos,
        'a log selector must be inside a range aggregation, e.g. count_over_time({job="x"}[5m])',
      );
    if (t.kind === 'ident') {
      if ((RANGE_FUNCS as readonly string[]).includes(t.text)) return this.parseRangeAgg();
      if ((AGG_OPS as readonly string[]).includes(t.text)) return this.parseAgg();
      if ((CALL_FUNCS as readonly string[]).includes(t.text)) return this.parseCall();
      if (t.text === 'Inf' || t.text === 'NaN') {
        this.next();
        return { type: 'number', pos: t.pos, value: t.text === 'Inf' ? Infinity : NaN };
      }
      throw new ParseFail(t.pos, `unknown function or aggregation '${t.text}'`);
    }
    throw this.unexpected('an expression');
  }

  private parseLabelList(): string[] {
    this.expectOp('(');
    const out: string[] = [];
    if (!this.isOp(')')) {
      for (;;) {
        const t = this.next();
        if (t.kind !== 'ident') {
          this.i--;
          throw this.unexpected('a label name');
        }
        out.push(t.text);
        if (this.isOp(',')) {
          this.next();
          if (this.isOp(')')) break;
          continue;
        }
        break;
      }
    }
    this.expectOp(')');
    return out;
  }

  private parseGrouping(): Grouping | null {
    if (this.isWord('by') || this.isWord('without')) {
      const without = this.next().text === 'without';
      return { without, labels: this.parseLabelList() };
    }
    return null;
  }

  private parseAgg(): Expr {
    const t = this.next();
    const op = t.text as AggOp;
    let grouping = this.parseGrouping();
    this.expectOp('(', `'(' after ${op}`);
    let param: number | null = null;
    if (op === 'topk' || op === 'bottomk') {
      param = this.parseNumberTok();
      this.expectOp(',');
    }
    const arg = this.parseExpr(0);
    this.expectOp(')');
    const after = this.parseGrouping();
    if (after) {
      if (grouping) throw new ParseFail(t.pos, `${op} has two grouping clauses`);
      grouping = after;
    }
    return { type: 'agg', pos: t.pos, op, param, grouping, arg };
  }

  private parseCall(): Expr {
    const t = this.next();
    const fn = t.text as CallFunc;
    this.expectOp('(', `'(' after ${fn}`);
    const args: Expr[] = [];
    let windowMs: number | null = null;
    if (fn === 'vector') {
      args.push({ type: 'number', pos: this.peek().pos, value: this.parseNumberTok() });
    } else {
      args.push(this.parseExpr(0));
      if (fn === 'zscore_robust') {
        this.expectOp(',', `',' and a window like 1h`);
        const d = this.peek();
        if (d.kind !== 'duration') throw this.unexpected('a duration like 1h');
        this.next();
        windowMs = parseDurationMs(d.text);
        if (this.isOp(',')) {
          this.next();
          args.push({ type: 'number', pos: this.peek().pos, value: this.parseNumberTok() });
        }
      } else if (fn === 'zscore_ewma' || fn === 'clamp_min' || fn === 'clamp_max') {
        this.expectOp(',');
        args.push({ type: 'number', pos: this.peek().pos, value: this.parseNumberTok() });
      } else if (fn === 'ewma_upper' || fn === 'ewma_lower') {
        this.expectOp(',');
        args.push({ type: 'number', pos: this.peek().pos, value: this.parseNumberTok() });
        this.expectOp(',');
        args.push({ type: 'number', pos: this.peek().pos, value: this.parseNumberTok() });
      }
    }
    this.expectOp(')');
    if (fn === 'zscore_ewma' || fn === 'ewma_upper' || fn === 'ewma_lower') {
      const a = (args[1] as { value: number }).value;
      if (!(a > 0 && a <= 1)) throw new ParseFail(args[1]!.pos, `${fn}: alpha must be in (0, 1]`);
    }
    return { type: 'call', pos: t.pos, fn, args, windowMs };
  }

  private parseRangeAgg(): Expr {
    const t = this.next();
    const fn = t.text as RangeFunc;
    this.expectOp('(', `'(' after ${fn}`);
    let param: number | null = null;
    if (fn === 'quantile_over_time') {
      param = this.parseNumberTok();
      this.expectOp(',');
    }
    const range = this.parseLogRange();
    this.expectOp(')');
    const grouping = this.parseGrouping();
    if (UNWRAP_FUNCS.has(fn) && range.unwrap === null)
      throw new ParseFail(t.pos, `${fn} needs '| unwrap <label>' before the range`);
    if (!UNWRAP_FUNCS.has(fn) && fn !== 'rate' && range.unwrap !== null)
      throw new ParseFail(t.pos, `${fn} counts log lines: remove '| unwrap'`);
    if (grouping && !UNWRAP_FUNCS.has(fn) && !(fn === 'rate' && range.unwrap))
      throw new ParseFail(
        t.pos,
        `grouping on ${fn} needs an unwrapped range; wrap it in sum by (…) instead`,
      );
    return { type: 'range', pos: t.pos, fn, param, range, grouping };
  }

  private parseLogRange(): LogRange {
    let paren = false;
    if (this.isOp('(')) {
      this.next();
      paren = true;
    }
    const matchers = this.parseSelector();
    const r: LogRange = { matchers, stages: [], unwrap: null, rangeMs: 0, offsetMs: 0 };
    let haveRange = false;
    if (this.isOp('[')) {
      r.rangeMs = this.parseRangeBracket();
      haveRange = true;
    }
    this.parsePipeline(r);
    if (paren) this.expectOp(')');
    if (!haveRange) {
      if (!this.isOp('[')) throw this.unexpected("a range like '[5m]'");
      r.rangeMs = this.parseRangeBracket();
    }
    if (this.isWord('offset')) {
      this.next();
      const d = this.peek();
      if (d.kind !== 'duration') throw this.unexpected('a duration');
      this.next();
      r.offsetMs = parseDurationMs(d.text)!;
    }
    return r;
  }

  private parseRangeBracket(): number {
    this.expectOp('[');
    const d = this.peek();
    if (d.kind !== 'duration') throw this.unexpected('a duration like 5m');
    this.next();
    const ms = parseDurationMs(d.text)!;
    if (ms <= 0) throw new ParseFail(d.pos, 'range must be positive');
    this.expectOp(']');
    return ms;
  }

  private parseSelector(): Matcher[] {
    this.expectOp('{', "a log selector '{…}'");
    const out: Matcher[] = [];
    while (!this.isOp('}')) {
      const name = this.peek();
      if (name.kind !== 'ident') throw this.unexpected("a label name or '}'");
      this.next();
      const opTok = this.peek();
      if (opTok.kind !== 'op' || !['=', '!=', '=~', '!~'].includes(opTok.text))
        throw this.unexpected("'=', '!=', '=~' or '!~'");
      this.next();
      const v = this.peek();
      if (v.kind !== 'string') throw this.unexpected('a quoted string');
      this.next();
      const op = opTok.text as Matcher['op'];
      out.push({
        name: name.text,
        op,
        value: v.value,
        re: op === '=~' || op === '!~' ? anchored(v.value, v.pos) : null,
      });
      if (this.isOp(',')) this.next();
      else if (!this.isOp('}')) throw this.unexpected("',' or '}'");
    }
    this.next();
    return out;
  }

  private parsePipeline(r: LogRange): void {
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'op') return;
      if (t.text === '|=' || t.text === '!=' || t.text === '|~' || t.text === '!~') {
        this.next();
        const v = this.peek();
        if (v.kind !== 'string') throw this.unexpected('a quoted string');
        this.next();
        const op = t.text;
        if (r.unwrap) throw new ParseFail(t.pos, 'line filters must come before | unwrap');
        r.stages.push({
          kind: 'line',
          op,
          value: v.value,
          re: op === '|~' || op === '!~' ? unanchored(v.value, v.pos) : null,
        });
        continue;
      }
      if (t.text !== '|') return;
      this.next();
      const w = this.peek();
      if (w.kind !== 'ident') throw this.unexpected('a parser, unwrap or label filter after |');
      if ((w.text === 'json' || w.text === 'logfmt') && !this.isLabelCmpAhead(1)) {
        this.next();
        // Parameters (`| json a="b"`) are accepted and ignored: records are already parsed.
        while (
          this.peek().kind === 'ident' &&
          this.isOp('=', 1) &&
          this.peek(2).kind === 'string'
        ) {
          this.next();
          this.next();
          this.next();
          if (this.isOp(',')) this.next();
        }
        r.stages.push({ kind: 'parser', name: w.text });
        continue;
      }
      if (w.text === 'unwrap') {
        this.next();
        if (r.unwrap) throw new ParseFail(w.pos, 'only one | unwrap is allowed');
        r.unwrap = this.parseUnwrap();
        continue;
      }
      if (
        [
          'line_format',
          'label_format',
          'drop',
          'keep',
          'decolorize',
          'pattern',
          'regexp',
          'unpack',
          'distinct',
        ].includes(w.text)
      )
        throw new ParseFail(w.pos, `'| ${w.text}' is not supported (see LANGUAGE.md)`);
      const pred = this.parseLabelPred();
      const stage: Stage = { kind: 'label', pred };
      r.stages.push(stage);
    }
  }

  private isLabelCmpAhead(k: number): boolean {
    const t = this.peek(k);
    return t.kind === 'op' && ['=', '!=', '=~', '!~', '==', '>', '>=', '<', '<='].includes(t.text);
  }

  private parseUnwrap(): Unwrap {
    const n = this.peek();
    if (n.kind !== 'ident') throw this.unexpected('a label name to unwrap');
    this.next();
    if (
      (n.text === 'duration' || n.text === 'duration_seconds' || n.text === 'bytes') &&
      this.isOp('(')
    ) {
      this.next();
      const inner = this.peek();
      if (inner.kind !== 'ident') throw this.unexpected('a label name');
      this.next();
      this.expectOp(')');
      return { name: inner.text, conv: n.text };
    }
    return { name: n.text, conv: null };
  }

  private parseLabelPred(): LabelPredicate {
    let left = this.parseLabelCmp();
    for (;;) {
      if (this.isWord('and') || this.isOp(',')) {
        this.next();
        left = { kind: 'and', left, right: this.parseLabelCmp() };
      } else if (this.isWord('or')) {
        this.next();
        left = { kind: 'or', left, right: this.parseLabelCmp() };
      } else return left;
    }
  }

  private parseLabelCmp(): LabelPredicate {
    if (this.isOp('(')) {
      this.next();
      const p = this.parseLabelPred();
      this.expectOp(')');
      return p;
    }
    const n = this.peek();
    if (n.kind !== 'ident') throw this.unexpected('a label name');
    this.next();
    const opTok = this.peek();
    if (!this.isLabelCmpAhead(0))
      throw this.unexpected('a comparison (=, !=, =~, !~, ==, >, >=, <, <=)');
    this.next();
    const v = this.peek();
    const op = opTok.text as Extract<LabelPredicate, { kind: 'cmp' }>['op'];
    if (v.kind === 'string') {
      this.next();
      if (op === '=~' || op === '!~')
        return { kind: 'cmp', name: n.text, op, value: v.value, re: anchored(v.value, v.pos) };
      if (op === '=' || op === '!=' || op === '==')
        return { kind: 'cmp', name: n.text, op: op === '==' ? '=' : op, value: v.value, re: null };
      throw new ParseFail(opTok.pos, `'${op}' compares numbers: write a number, not a string`);
    }
    if (
      v.kind === 'number' ||
      v.kind === 'duration' ||
      (this.isOp('-') && this.peek(1).kind === 'number')
    ) {
      if (op === '=~' || op === '!~')
        throw new ParseFail(opTok.pos, `'${op}' needs a quoted regular expression`);
      let num: number;
      if (v.kind === 'duration') {
        this.next();
        num = parseDurationMs(v.text)! / 1000; // durations compare in seconds, like LogQL
      } else num = this.parseNumberTok();
      return { kind: 'cmp', name: n.text, op: op === '=' ? '==' : op, value: num, re: null };
    }
    throw this.unexpected('a quoted string or a number');
  }
}

/** Parse an expression. Problems carry the character offset in `src`. */
export function parseExpr(src: string): ParseResult {
  if (src.length > MAX_EXPR_CHARS)
    return {
      ok: false,
      problem: { offset: 0, message: `expression longer than ${MAX_EXPR_CHARS} characters` },
    };
  try {
    const toks = lex(src);
    const expr = new Parser(toks).parseTop();
    return { ok: true, expr };
  } catch (e) {
    if (e instanceof ParseFail)
      return { ok: false, problem: { offset: e.offset, message: e.message } };
    throw e;
  }
}
