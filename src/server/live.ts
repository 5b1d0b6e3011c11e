// What `serve` does with log records as they arrive (tailed files, OTLP logs): log-derived
// metrics on /metrics, and the alert rules evaluated live — the same `AlertEvaluator` the
// backtest drives — with firing/resolved alerts sent to Alertmanager's v2 API and to webhooks
// (analyzers/alerts/notify.ts).
//
// Metrics (all through the bounded registry: each label admits `maxLabelValues` values, then
// "other"):
//   mlscope_log_records_total{service,level}, mlscope_log_duration_ms{service,path} (histogram)
//       — the definitions of analyzers/metrics/log-metrics.ts `LogMetrics.defaults()`;
//   mlscope_log_templates_total{template}  records that carry a template id;
//   mlscope_log_rule_records_total{<labels the rules' stream selectors match on>};
//   ALERTS{alertname,alertstate,…}  like Prometheus, capped at MAX_ALERT_SERIES;
//   mlscope_alert_* counters (evaluations, records, transitions, notifications).
// Ticks fall on multiples of the step (UTC-aligned, like the backtest). A record without a
// timestamp is evaluated at its arrival time. Alertmanager gets every firing alert on every tick
// (with endsAt = now + 4 steps, so alerts expire if `serve` dies) plus the resolved ones; a
// webhook only gets transitions (firing, resolved), so it is not re-notified every step.

import type { LogRecord } from '../model/records.js';
import type { AlertEvaluator, AlertTransition } from '../analyzers/alerts/engine.js';
import {
  alertsToSend,
  sendToAlertmanager,
  sendWebhook,
  toPostableAlert,
  type PostableAlert,
  type SendResult,
} from '../analyzers/alerts/notify.js';
import { labelNumber, labelString, recordLabel } from '../analyzers/alerts/labels.js';
import { DEFAULT_BUCKETS, LogMetrics, type MetricDef } from '../analyzers/metrics/log-metrics.js';
import type { Counter, Histogram, Registry } from './prometheus.js';

export const MAX_ALERT_SERIES = 1000;
/** Label names taken from rule selectors for mlscope_log_rule_records_total. */
const MAX_RULE_LABELS = 4;

export interface LiveOptions {
  registry: Registry;
  evaluator?: AlertEvaluator | null;
  alertmanagers?: string[];
  webhooks?: string[];
  generatorURL?: string;
  fetch?: typeof fetch;
  log?: (line: string) => void;
  now?: () => number;
}

type Metric = { def: MetricDef; c: Counter | null; h: Histogram | null };

/** Label names the rules' stream selectors match on (`{job="x", level=~"…"}`), sorted. */
export function selectorLabels(ev: AlertEvaluator): string[] {
  const out = new Set<string>();
  const walk = (n: unknown, depth: number): void => {
    if (depth > 64 || n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) {
      for (const x of n) walk(x, depth + 1);
      return;
    }
    const o = n as Record<string, unknown>;
    if (Array.isArray(o['matchers']) && typeof o['rangeMs'] === 'number')
      for (const m of o['matchers'] as { name?: unknown }[])
        if (typeof m.name === 'string' && !m.name.startsWith('__')) out.add(m.name);
    for (const k in o) if (k !== 're') walk(o[k], depth + 1);
  };
  for (const r of ev.rules) walk(r.expr, 0);
  return [...out].sort().slice(0, MAX_RULE_LABELS);
}

export class LiveLogs {
  private readonly metrics: Metric[] = [];
  private readonly templates: Counter;
  private readonly ev: AlertEvaluator | null;
  private readonly evaluations: Counter;
  private readonly fed: Counter;
  private readonly transitions: Counter;
  private readonly notifications: Counter;
  private timer: NodeJS.Timeout | null = null;
  private readonly sending = new Set<Promise<void>>();
  private readonly failing = new Map<string, boolean>();
  private stopped = false;
  /** Every notification attempt, newest last (bounded; tests and /healthz-style checks). */
  readonly sent: { receiver: string; alerts: number; result: SendResult }[] = [];

  constructor(private readonly opts: LiveOptions) {
    const reg = opts.registry;
    const defs = [...LogMetrics.defaults().defs];
    this.ev = opts.evaluator ?? null;
    if (this.ev) {
      const labels = selectorLabels(this.ev);
      if (labels.length > 0)
        defs.push({
          name: 'mlscope_log_rule_records_total',
          help: 'Log records by the labels the alert rules select on',
          labels,
        });
    }
    for (const def of defs) {
      const help = def.help ?? def.name;
      if (def.field === undefined)
        this.metrics.push({ def, c: reg.counter(def.name, help, def.labels), h: null });
      else
        this.metrics.push({
          def,
          c: null,
          h: reg.histogram(def.name, help, def.labels, def.buckets ?? DEFAULT_BUCKETS),
        });
    }
    this.templates = reg.counter(
      'mlscope_log_templates_total',
      'Log records by template id (records that carry one).',
      ['template'],
    );
    this.evaluations = reg.counter('mlscope_alert_evaluations_total', 'Rule evaluation ticks.');
    this.fed = reg.counter('mlscope_alert_records_total', 'Log records fed to the rules.');
    this.transitions = reg.counter(
      'mlscope_alert_transitions_total',
      'Alerts that started firing or resolved.',
      ['alertname', 'kind'],
    );
    this.notifications = reg.counter(
      'mlscope_alert_notifications_total',
      'Notification requests by receiver kind and result.',
      ['receiver', 'result'],
    );
    if (this.ev) {
      const ev = this.ev;
      const late = reg.gauge(
        'mlscope_alert_late_records',
        'Records older than every window still to be evaluated.',
      );
      late.set({}, () => ev.stats().late);
      const series = reg.gauge('mlscope_alert_series', 'Live series in the rules’ log ranges.');
      series.set({}, () => ev.stats().series);
    }
  }

  get stepMs(): number {
    return this.ev?.stepMs ?? 0;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** Feed records (in arrival order). */
  push(records: readonly LogRecord[]): void {
    const nowUs = this.now() * 1000;
    for (const r of records) {
      for (const m of this.metrics) {
        const def = m.def;
        if (def.where) {
          let ok = true;
          for (const k in def.where)
            if (labelString(recordLabel(r, k)) !== def.where[k]) ok = false;
          if (!ok) continue;
        }
        const labels: Record<string, string> = {};
        for (const l of def.labels) labels[l] = labelString(recordLabel(r, l));
        if (m.c) m.c.inc(labels);
        else {
          const v = labelNumber(recordLabel(r, def.field!));
          if (Number.isFinite(v)) m.h!.observe(labels, v);
        }
      }
      if (r.templateId !== null) this.templates.inc({ template: r.templateId });
      if (this.ev) {
        this.ev.push(r.tsUs === null ? { ...r, tsUs: nowUs } : r);
        this.fed.inc();
      }
    }
  }

  /** Start ticking on step boundaries. */
  start(): void {
    if (!this.ev || this.stopped) return;
    const step = this.ev.stepMs;
    const arm = (): void => {
      const now = this.now();
      const next = Math.floor(now / step) * step + step;
      this.timer = setTimeout(() => {
        this.timer = null;
        this.tick(next);
        if (!this.stopped) arm();
      }, next - now);
    };
    arm();
  }

  /** Evaluate at `tMs` and send what changed (sending runs in the background). */
  tick(tMs = this.now()): AlertTransition[] {
    if (!this.ev) return [];
    const ev = this.ev;
    const tr = ev.tick(tMs);
    this.evaluations.inc();
    for (const t of tr) this.transitions.inc({ alertname: t.alert.alert, kind: t.kind });
    for (const t of tr)
      this.opts.log?.(
        `alert ${t.kind}: ${t.alert.alert} ${JSON.stringify(t.alert.labels)} value ${t.alert.value}`,
      );
    const gen = this.opts.generatorURL;
    const withGen = (a: PostableAlert): PostableAlert =>
      gen !== undefined ? { ...a, generatorURL: gen } : a;
    const toAm = alertsToSend(ev.active(), tr, tMs, ev.stepMs).map(withGen);
    const timeoutMs = Math.min(10_000, Math.max(1000, ev.stepMs));
    if (toAm.length > 0)
      for (const url of this.opts.alertmanagers ?? [])
        this.send('alertmanager', url, toAm, () =>
          sendToAlertmanager(url, toAm, { timeoutMs, ...this.fetchOpt() }),
        );
    if (tr.length > 0) {
      const hook = tr.map((t) =>
        withGen(
          toPostableAlert(t.alert, {
            nowMs: t.tMs,
            stepMs: ev.stepMs,
            resolved: t.kind === 'resolved',
          }),
        ),
      );
      for (const url of this.opts.webhooks ?? [])
        this.send('webhook', url, hook, () =>
          sendWebhook(url, hook, { timeoutMs, ...this.fetchOpt() }),
        );
    }
    return tr;
  }

  private fetchOpt(): { fetch?: typeof fetch } {
    return this.opts.fetch ? { fetch: this.opts.fetch } : {};
  }

  private send(
    receiver: 'alertmanager' | 'webhook',
    url: string,
    alerts: PostableAlert[],
    go: () => Promise<SendResult>,
  ): void {
    const p = go().then((result) => {
      this.notifications.inc({ receiver, result: result.ok ? 'ok' : 'error' });
      this.sent.push({ receiver: url, alerts: alerts.length, result });
      if (this.sent.length > 100) this.sent.shift();
      // one line when a receiver starts failing and one when it recovers, not one per step
      const was = this.failing.get(url) ?? false;
      if (!result.ok && !was)
        this.opts.log?.(
          `${receiver} ${url}: ${result.status === 0 ? '' : `HTTP ${result.status} `}${result.error ?? ''}`,
        );
      else if (result.ok && was) this.opts.log?.(`${receiver} ${url}: delivering again`);
      this.failing.set(url, !result.ok);
    });
    const tracked = p.finally(() => this.sending.delete(tracked));
    this.sending.add(tracked);
  }

  /** Prometheus-style ALERTS series (pending and firing), capped. */
  renderAlerts(): string {
    if (!this.ev) return '';
    const esc = (v: string): string =>
      v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
    const lines = ['# HELP ALERTS Alerts pending or firing.', '# TYPE ALERTS gauge'];
    let n = 0;
    for (const a of this.ev.active()) {
      if (n++ >= MAX_ALERT_SERIES) break;
      const ls: string[] = [`alertstate="${a.state}"`];
      for (const [k, v] of Object.entries(a.labels))
        if (/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k) && k !== 'alertstate') ls.push(`${k}="${esc(v)}"`);
      lines.push(`ALERTS{${ls.join(',')}} 1`);
    }
    return lines.join('\n') + '\n';
  }

  /** Stop ticking and wait for notifications in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await Promise.all([...this.sending]);
  }
}
