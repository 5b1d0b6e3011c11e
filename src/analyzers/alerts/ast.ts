// The syntax tree of the alert expression language (a LogQL-compatible subset plus anomaly
// functions; see LANGUAGE.md). Every node keeps `pos`, the character offset in the expression
// text, so errors found after parsing still point at a place.

export type MatchOp = '=' | '!=' | '=~' | '!~';
export type LineOp = '|=' | '!=' | '|~' | '!~';
export type CmpOp = '==' | '!=' | '>' | '>=' | '<' | '<=';
export type ArithOp = '+' | '-' | '*' | '/' | '%' | '^';
export type SetOp = 'and' | 'or' | 'unless';
export type BinOp = ArithOp | CmpOp | SetOp;

/** A compiled regular expression: a RegExp, or a set lookup for a plain `a|b|c` alternation. */
export interface StringTest {
  test(s: string): boolean;
}

export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
  /** Compiled for =~ / !~ (anchored, like Prometheus). */
  re: StringTest | null;
}

export interface LineFilter {
  kind: 'line';
  op: LineOp;
  value: string;
  re: RegExp | null;
}

/** `| name op value` — string, regex or numeric comparison; combined with and/or. */
export type LabelPredicate =
  | {
      kind: 'cmp';
      name: string;
      op: MatchOp | CmpOp;
      /** Number for numeric comparisons (durations are converted to ms... see LANGUAGE.md). */
      value: string | number;
      re: StringTest | null;
    }
  | { kind: 'and' | 'or'; left: LabelPredicate; right: LabelPredicate };

export type Stage =
  | LineFilter
  | { kind: 'label'; pred: LabelPredicate }
  | { kind: 'parser'; name: 'json' | 'logfmt' };

export interface Unwrap {
  name: string;
  /** `duration(x)` converts "1.5s"/"200ms" to seconds; `bytes(x)` "1.5KB" to bytes. */
  conv: 'duration' | 'duration_seconds' | 'bytes' | null;
}

export interface LogRange {
  matchers: Matcher[];
  stages: Stage[];
  unwrap: Unwrap | null;
  rangeMs: number;
  offsetMs: number;
}

export interface Grouping {
  without: boolean;
  labels: string[];
}

export const RANGE_FUNCS = [
  'count_over_time',
  'rate',
  'bytes_over_time',
  'bytes_rate',
  'absent_over_time',
  'sum_over_time',
  'avg_over_time',
  'max_over_time',
  'min_over_time',
  'first_over_time',
  'last_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'quantile_over_time',
] as const;
export type RangeFunc = (typeof RANGE_FUNCS)[number];
/** Range functions that need `| unwrap` (rate works both ways). */
export const UNWRAP_FUNCS: ReadonlySet<string> = new Set([
  'sum_over_time',
  'avg_over_time',
  'max_over_time',
  'min_over_time',
  'first_over_time',
  'last_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'quantile_over_time',
]);

export const AGG_OPS = [
  'sum',
  'avg',
  'min',
  'max',
  'count',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
] as const;
export type AggOp = (typeof AGG_OPS)[number];

export const CALL_FUNCS = [
  'abs',
  'vector',
  'zscore_robust',
  'zscore_ewma',
  'ewma_upper',
  'ewma_lower',
  'clamp_min',
  'clamp_max',
] as const;
export type CallFunc = (typeof CALL_FUNCS)[number];

export type Expr =
  | { type: 'number'; pos: number; value: number }
  | {
      type: 'range';
      pos: number;
      fn: RangeFunc;
      param: number | null;
      range: LogRange;
      grouping: Grouping | null;
    }
  | {
      type: 'agg';
      pos: number;
      op: AggOp;
      param: number | null;
      grouping: Grouping | null;
      arg: Expr;
    }
  | {
      type: 'binary';
      pos: number;
      op: BinOp;
      bool: boolean;
      matching: { on: boolean; labels: string[] } | null;
      left: Expr;
      right: Expr;
    }
  | { type: 'neg'; pos: number; arg: Expr }
  | { type: 'call'; pos: number; fn: CallFunc; args: Expr[]; windowMs: number | null };
