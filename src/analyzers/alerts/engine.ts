// The alert evaluator: rules compiled once, fed records (`push`) and step ticks (`tick`), with
// Prometheus alert state (inactive → pending → firing → resolved, `for`, `keep_firing_for`). The
// same object runs a backtest (backtest.ts drives it over merged history) and a live server
// (feed records as they arrive, call `tick(now)` every step, send `transitions` to notify.ts).

import type { LogRecord } from '../../model/records.js';
import {
  compileExpr,
  ExprError,
  labelsKey,
  RangeIndex,
  type EvalNode,
  type Labels,
} from './eval.js';
import type { AlertRule, RuleGroup, RuleProblem } from './rules.js';

export interface AlertInstance {
  alert: string;
  group: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  /** When the expression first returned this series (ms). */
  activeAtMs: number;
  /** When it started firing (ms), null while pending. */
  firingAtMs: number | null;
  value: number;
  /** Largest value seen while active. */
  maxValue: number;
}

export interface AlertTransition {
  kind: 'firing' | 'resolved';
  tMs: number;
  alert: AlertInstance;
}

interface Compiled {
  rule: AlertRule;
  root: EvalNode;
  active: Map<string, AlertInstance & { lastSeenMs: number }>;
}

export interface EvaluatorStats {
  records: number;
  ticks: number;
  series: number;
  unwrapErrors: number;
  late: number;
}

/** Expand `{{ $labels.x }}`, `{{ $value }}`, `{{ .Labels.x }}`, `{{ .Value }}`. */
export function renderTemplate(t: string, labels: Record<string, string>, value: number): string {
  return t.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (_all, inner: string) => {
    const v = /^(?:\$value|\.Value)(?:\s*\|\s*printf\s+"%\.(\d)f")?$/.exec(inner);
    if (v) return v[1] ? value.toFixed(Number(v[1])) : String(Number(value.toPrecision(6)));
    const l = /^(?:\$labels|\.Labels)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(inner);
    if (l) return labels[l[1]!] ?? '';
    return _all;
  });
}

export class AlertEvaluator {
  readonly index: RangeIndex;
  private readonly compiled: Compiled[] = [];
  private ticks = 0;
  private lastTickMs = -Infinity;

  /** Throws nothing: rules that fail to compile are returned in `problems`. */
  constructor(
    groups: RuleGroup[],
    readonly stepMs: number,
    readonly problems: RuleProblem[] = [],
  ) {
    this.index = new RangeIndex(stepMs);
    for (const g of groups)
      for (const rule of g.rules) {
        try {
          const root = compileExpr(rule.expr, this.index);
          if (root.kind !== 'vector')
            throw new ExprError(0, 'an alert expression must return a vector');
          this.compiled.push({ rule, root, active: new Map() });
        } catch (e) {
          if (!(e instanceof ExprError)) throw e;
          const p = rule.exprPos(e.offset);
          problems.push({
            file: rule.file,
            line: p.line,
            col: p.col,
            message: `alert '${rule.name}': ${e.message}`,
          });
        }
      }
  }

  get rules(): AlertRule[] {
    return this.compiled.map((c) => c.rule);
  }

  /** Feed a record. Records without a timestamp are ignored (the caller counts them). */
  push(r: LogRecord): void {
    if (r.tsUs === null) return;
    this.index.push(r, r.tsUs / 1000);
  }

  /** Evaluate every rule at `tMs`; returns the alerts that started firing or resolved. */
  tick(tMs: number): AlertTransition[] {
    this.ticks++;
    this.lastTickMs = tMs;
    this.index.advance(tMs);
    const out: AlertTransition[] = [];
    for (const c of this.compiled) {
      const v = c.root.eval(tMs);
      const samples = v.kind === 'vector' ? v.s : [];
      const seen = new Set<string>();
      for (const s of samples) {
        const labels = alertLabels(c.rule, s.labels);
        const key = labelsKey(Object.entries<string>(labels));
        if (seen.has(key)) continue; // duplicate series after adding rule labels
        seen.add(key);
        let a = c.active.get(key);
        if (!a) {
          a = {
            alert: c.rule.name,
            group: c.rule.group,
            labels,
            annotations: {},
            state: 'pending',
            activeAtMs: tMs,
            firingAtMs: null,
            value: s.value,
            maxValue: s.value,
            lastSeenMs: tMs,
          };
          c.active.set(key, a);
        }
        a.value = s.value;
        if (s.value > a.maxValue || Number.isNaN(a.maxValue)) a.maxValue = s.value;
        a.lastSeenMs = tMs;
        if (a.state === 'pending' && tMs - a.activeAtMs >= c.rule.forMs) {
          a.state = 'firing';
          a.firingAtMs = tMs;
          a.annotations = renderAnnotations(c.rule, labels, s.value);
          out.push({ kind: 'firing', tMs, alert: snapshot(a) });
        }
      }
      for (const [key, a] of c.active) {
        if (seen.has(key)) continue;
        if (a.state === 'firing' && tMs - a.lastSeenMs < c.rule.keepFiringForMs) continue;
        c.active.delete(key);
        if (a.state === 'firing') out.push({ kind: 'resolved', tMs, alert: snapshot(a) });
      }
    }
    return out;
  }

  /** Alerts currently pending or firing. */
  active(): AlertInstance[] {
    const out: AlertInstance[] = [];
    for (const c of this.compiled) for (const a of c.active.values()) out.push(snapshot(a));
    return out;
  }

  stats(): EvaluatorStats {
    let unwrapErrors = 0;
    let late = 0;
    for (const s of this.index.all()) {
      unwrapErrors += s.unwrapErrors;
      late += s.late;
    }
    return {
      records: this.index.records,
      ticks: this.ticks,
      series: this.index.seriesCount(),
      unwrapErrors,
      late,
    };
  }

  get lastTick(): number {
    return this.lastTickMs;
  }
}

function alertLabels(rule: AlertRule, ls: Labels): Record<string, string> {
  const out: Record<string, string> = { alertname: rule.name };
  for (const [n, v] of ls) out[n] = v;
  for (const [n, v] of Object.entries(rule.labels)) out[n] = v;
  return Object.fromEntries(Object.entries(out).sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

function renderAnnotations(
  rule: AlertRule,
  labels: Record<string, string>,
  value: number,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, t] of Object.entries(rule.annotations)) out[k] = renderTemplate(t, labels, value);
  return out;
}

function snapshot(a: AlertInstance): AlertInstance {
  return {
    alert: a.alert,
    group: a.group,
    labels: a.labels,
    annotations: a.annotations,
    state: a.state,
    activeAtMs: a.activeAtMs,
    firingAtMs: a.firingAtMs,
    value: a.value,
    maxValue: a.maxValue,
  };
}
