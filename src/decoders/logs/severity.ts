// Severity normalisation to TRACE/DEBUG/INFO/WARN/ERROR/FATAL from the names and numbers log
// libraries use: python logging, log4j, glog letters, syslog keywords and priorities (0–7),
// pino/bunyan numbers (10–60), OpenTelemetry severityNumber (1–24).

import type { Severity } from '../../model/records.js';

const WORDS = new Map<string, Severity>([
  ['trace', 'TRACE'],
  ['verbose', 'TRACE'],
  ['finest', 'TRACE'],
  ['finer', 'TRACE'],
  ['debug', 'DEBUG'],
  ['dbg', 'DEBUG'],
  ['fine', 'DEBUG'],
  ['info', 'INFO'],
  ['information', 'INFO'],
  ['informational', 'INFO'],
  ['notice', 'INFO'],
  ['note', 'INFO'],
  ['ok', 'INFO'],
  ['warn', 'WARN'],
  ['warning', 'WARN'],
  ['wrn', 'WARN'],
  ['error', 'ERROR'],
  ['err', 'ERROR'],
  ['eror', 'ERROR'],
  ['severe', 'ERROR'],
  ['critical', 'FATAL'],
  ['crit', 'FATAL'],
  ['alert', 'FATAL'],
  ['emerg', 'FATAL'],
  ['emergency', 'FATAL'],
  ['fatal', 'FATAL'],
  ['panic', 'FATAL'],
  ['dpanic', 'FATAL'],
]);

const LETTERS: Record<string, Severity> = {
  T: 'TRACE',
  V: 'TRACE',
  D: 'DEBUG',
  I: 'INFO',
  N: 'INFO',
  W: 'WARN',
  E: 'ERROR',
  F: 'FATAL',
  C: 'FATAL',
};

/** A level word (any case, trailing `:` or spaces tolerated) or a single letter → Severity. */
export function normalizeSeverity(v: string): Severity | null {
  if (v.length === 1) return LETTERS[v.toUpperCase()] ?? null;
  if (v.length > 13) return null;
  const w = WORDS.get(v) ?? WORDS.get(v.toLowerCase().trim().replace(/:$/, ''));
  return w ?? null;
}

/** Numeric level: pino/bunyan (10–60), OTel severityNumber (1–24), syslog (0–7) by hint. */
export function severityFromNumber(n: number, hint: 'otel' | 'syslog' | 'auto'): Severity | null {
  if (!Number.isInteger(n)) return null;
  if (hint === 'syslog') {
    if (n <= 2) return 'FATAL';
    if (n === 3) return 'ERROR';
    if (n === 4) return 'WARN';
    if (n <= 6) return 'INFO';
    return 'DEBUG';
  }
  if (hint === 'otel' || (n >= 1 && n <= 24 && n % 10 !== 0)) {
    if (n < 1 || n > 24) return null;
    if (n <= 4) return 'TRACE';
    if (n <= 8) return 'DEBUG';
    if (n <= 12) return 'INFO';
    if (n <= 16) return 'WARN';
    if (n <= 20) return 'ERROR';
    return 'FATAL';
  }
  switch (n) {
    case 10:
      return 'TRACE';
    case 20:
      return 'DEBUG';
    case 30:
      return 'INFO';
    case 40:
      return 'WARN';
    case 50:
      return 'ERROR';
    case 60:
      return 'FATAL';
    default:
      return null;
  }
}

/** Upper-case level words that may open a line (used by text parsers to spot a level token). */
export function isLevelWord(w: string): boolean {
  return w.length > 1 && normalizeSeverity(w) !== null && w === w.toUpperCase();
}
