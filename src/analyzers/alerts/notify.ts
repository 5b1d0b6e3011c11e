// Sending alerts: an Alertmanager v2 client (POST /api/v2/alerts, the body Prometheus sends) and
// a plain JSON webhook (Alertmanager's webhook payload shape, version 4). The live server calls
// these with the evaluator's transitions; `fetch` is injected for tests. Pure of process state.

import type { AlertInstance, AlertTransition } from './engine.js';
import { isoMsClamped } from '../../util/iso.js';

/** One alert as Alertmanager's v2 API takes it (postableAlert). */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL?: string;
}

export interface SendOptions {
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Extra headers (e.g. Authorization for a webhook). */
  headers?: Record<string, string>;
}

export interface SendResult {
  ok: boolean;
  status: number;
  /** Error text when the request failed or the receiver said no (first 500 chars). */
  error: string | null;
}

// (alert times come from log timestamps: one outside a Date's range is clamped, not thrown on)
const iso = (ms: number): string => isoMsClamped(ms);

/**
 * Alertmanager treats an alert as resolved once `endsAt` has passed; a firing alert gets an
 * `endsAt` a few evaluation intervals ahead (like Prometheus: 4 × step) so it expires on its own
 * if the sender dies, and is re-sent every step while it fires.
 */
export function toPostableAlert(
  a: AlertInstance,
  opts: { nowMs: number; stepMs: number; resolved?: boolean; generatorURL?: string },
): PostableAlert {
  const out: PostableAlert = {
    labels: a.labels,
    annotations: a.annotations,
    startsAt: iso(a.firingAtMs ?? a.activeAtMs),
    endsAt: iso(opts.resolved ? opts.nowMs : opts.nowMs + 4 * opts.stepMs),
  };
  if (opts.generatorURL !== undefined) out.generatorURL = opts.generatorURL;
  return out;
}

/** Alerts to send after a tick: everything firing, plus what just resolved. */
export function alertsToSend(
  active: AlertInstance[],
  transitions: AlertTransition[],
  nowMs: number,
  stepMs: number,
): PostableAlert[] {
  const out: PostableAlert[] = [];
  for (const a of active) if (a.state === 'firing') out.push(toPostableAlert(a, { nowMs, stepMs }));
  for (const t of transitions)
    if (t.kind === 'resolved')
      out.push(toPostableAlert(t.alert, { nowMs: t.tMs, stepMs, resolved: true }));
  return out;
}

async function post(url: string, body: unknown, opts: SendOptions): Promise<SendResult> {
  const f = opts.fetch ?? globalThis.fetch;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), opts.timeoutMs ?? 10_000);
  try {
    const res = await f(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(opts.headers ?? {}) },
      body: JSON.stringify(body),
      signal: ctl.signal,
    });
    const text = res.ok ? '' : (await res.text()).slice(0, 500);
    return { ok: res.ok, status: res.status, error: res.ok ? null : text || res.statusText };
  } catch (e) {
    return { ok: false, status: 0, error: (e as Error).message.slice(0, 500) };
  } finally {
    clearTimeout(timer);
  }
}

/** POST alerts to an Alertmanager (`baseUrl` like http://127.0.0.1:9093). */
export function sendToAlertmanager(
  baseUrl: string,
  alerts: PostableAlert[],
  opts: SendOptions = {},
): Promise<SendResult> {
  return post(`${baseUrl.replace(/\/+$/, '')}/api/v2/alerts`, alerts, opts);
}

/** POST alerts to a webhook in Alertmanager's webhook format (version "4"). */
export function sendWebhook(
  url: string,
  alerts: PostableAlert[],
  opts: SendOptions & { receiver?: string } = {},
): Promise<SendResult> {
  const nowMs = Date.now();
  const firing = alerts.some((a) => a.endsAt === undefined || Date.parse(a.endsAt) > nowMs);
  const common = (pick: (a: PostableAlert) => Record<string, string>): Record<string, string> => {
    if (alerts.length === 0) return {};
    const first = pick(alerts[0]!);
    return Object.fromEntries(
      Object.entries(first).filter(([k, v]) => alerts.every((a) => pick(a)[k] === v)),
    );
  };
  const payload = {
    version: '4',
    receiver: opts.receiver ?? 'mlscope',
    status: firing ? 'firing' : 'resolved',
    alerts: alerts.map((a) => ({
      status: a.endsAt !== undefined && Date.parse(a.endsAt) <= nowMs ? 'resolved' : 'firing',
      labels: a.labels,
      annotations: a.annotations,
      startsAt: a.startsAt,
      endsAt: a.endsAt ?? '0001-01-01T00:00:00Z',
      generatorURL: a.generatorURL ?? '',
    })),
    groupLabels: {},
    commonLabels: common((a) => a.labels),
    commonAnnotations: common((a) => a.annotations),
    externalURL: '',
  };
  return post(url, payload, opts);
}
