// Span and metric-point records (DESIGN.md "Normalized model": spans, points), aligned with the
// OpenTelemetry data model. Times are UTC microseconds since the epoch like every other record.

import type { AttrValue } from './records.js';

export const SpanKind = {
  UNSPECIFIED: 'unspecified',
  INTERNAL: 'internal',
  SERVER: 'server',
  CLIENT: 'client',
  PRODUCER: 'producer',
  CONSUMER: 'consumer',
} as const;
export type SpanKind = (typeof SpanKind)[keyof typeof SpanKind];

/** OTLP `Span.SpanKind` numbers → names (index = enum value). */
export const SPAN_KIND_BY_NUMBER: readonly SpanKind[] = [
  'unspecified',
  'internal',
  'server',
  'client',
  'producer',
  'consumer',
];

export type SpanStatus = 'unset' | 'ok' | 'error';
/** OTLP `Status.StatusCode` numbers → names. */
export const SPAN_STATUS_BY_NUMBER: readonly SpanStatus[] = ['unset', 'ok', 'error'];

export interface SpanEvent {
  tsUs: number;
  name: string;
  attributes: Record<string, AttrValue>;
}

export interface SpanLink {
  traceId: string;
  spanId: string;
  attributes: Record<string, AttrValue>;
}

/** One span. Ids are lower-case hex (trace 32 digits, span 16; Jaeger/Zipkin ids are left-padded). */
export interface Span {
  traceId: string;
  spanId: string;
  /** Null for a root span. */
  parentSpanId: string | null;
  /** `service.name` of the resource (or Jaeger process / Zipkin localEndpoint). */
  service: string | null;
  name: string;
  kind: SpanKind;
  startUs: number;
  endUs: number;
  status: SpanStatus;
  statusMessage: string | null;
  attributes: Record<string, AttrValue>;
  events: SpanEvent[];
  links: SpanLink[];
  /** Resource attributes (service.name included). */
  resource: Record<string, AttrValue>;
  /** Instrumentation scope name, if any. */
  scope: string | null;
  /** 'otlp-proto' | 'otlp-json' | 'jaeger-json' | 'zipkin-json'. */
  format: string;
}

export type MetricKind = 'gauge' | 'sum' | 'histogram' | 'exponential-histogram' | 'summary';

/**
 * One metric sample. Histograms and summaries become several points in the Prometheus style:
 * `<name>_count`, `<name>_sum`, `<name>_bucket{le=…}` (cumulative), `<name>{quantile=…}`.
 */
export interface MetricPoint {
  name: string;
  /** Data point attributes plus `service.name` from the resource when present. */
  labels: Record<string, string>;
  tsUs: number;
  value: number;
  kind: MetricKind;
  /** 'cumulative' | 'delta' | null (gauges and summaries). */
  temporality: 'cumulative' | 'delta' | null;
  unit: string | null;
}

export function spanDurationUs(s: Span): number {
  return Math.max(0, s.endUs - s.startUs);
}
