// Conformance of the OTLP / Jaeger decoders against the shared public samples:
//   node --import tsx scripts/conformance-otlp.ts <data dir, e.g. ../shared/data/otlp>
// 1. every request/trace file decodes with nothing skipped (counts printed per file);
// 2. Fluent Bit's OTLP/JSON case tables (fluent-bit_internal_otel_*.json): a case with an
//    `expected_error` must be refused (malformed request or every record rejected), a case
//    without one must decode with nothing rejected. Cases where our reading of the spec differs
//    from Fluent Bit's are listed as "differs" with the reason, not hidden.
// Exit code 1 when a file fails or a case mismatches without a documented difference.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, basename } from 'node:path';
import { Quality } from '../src/model/quality.js';
import { decodeTelemetryFile, emptyBatch } from '../src/decoders/otlp/index.js';
import { decodeTraceRequestJson } from '../src/decoders/otlp/trace/json.js';
import { decodeLogsRequestJson } from '../src/decoders/otlp/logs/json.js';
import { decodeMetricsRequestJson } from '../src/decoders/otlp/metrics/json.js';
import type { DecodeOutcome } from '../src/decoders/otlp/outcome.js';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: conformance-otlp.ts <otlp data dir>\n');
  process.exit(2);
}

function walk(d: string): string[] {
  return readdirSync(d)
    .sort()
    .flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
}

/** Where we knowingly differ from Fluent Bit's stricter checks (OTLP allows these). */
const KNOWN_DIFFERENCES: Record<string, string> = {
  resourceSpans_missing: 'an empty ExportTraceServiceRequest {} is valid OTLP (zero spans)',
  scopeSpans_missing:
    'a ResourceSpans without scopeSpans is valid protobuf JSON (empty repeated field)',
  spans_missing: 'a ScopeSpans without spans is valid (empty repeated field)',
  span_name_missing: 'name is a plain string field; proto3 default is ""',
  event_missing_name: 'event name defaults to "" in proto3',
  resourceLogs_missing: 'an empty ExportLogsServiceRequest {} is valid OTLP (zero records)',
  scopeLogs_missing: 'a ResourceLogs without scopeLogs is valid (empty repeated field)',
  resource_valid_scope_missing: 'a ResourceLogs without scopeLogs is valid (empty repeated field)',
  invalid_resource_metrics_missing: 'an empty ExportMetricsServiceRequest {} is valid OTLP',
  invalid_scope_metrics_missing:
    'a ResourceMetrics without scopeMetrics is valid (empty repeated field)',
  valid_invalid_numeric_skips_points:
    'both skip the bad point; we also report it as rejected in partial_success (so every record of this request is refused)',
  invalid_metrics_missing: 'a ScopeMetrics without metrics is valid (empty repeated field)',
};
const PARTIAL =
  'OTLP partial success: the bad record is rejected alone, the others are kept (Fluent Bit refuses the request)';

let bad = 0;
const files = walk(dir).filter((f) => f.endsWith('.json'));
for (const f of files) {
  const name = basename(f);
  const text = readFileSync(f, 'utf8');
  if (name.startsWith('fluent-bit_internal_otel_')) {
    const signal = name.includes('traces') ? 'traces' : name.includes('logs') ? 'logs' : 'metrics';
    const table = JSON.parse(text) as Record<string, { input?: unknown; expected_error?: unknown }>;
    let agree = 0;
    let differs = 0;
    for (const [caseName, c] of Object.entries(table)) {
      if (!c || typeof c !== 'object' || !('input' in c)) continue;
      const q = new Quality(caseName, 'otlp-json');
      const o: DecodeOutcome =
        signal === 'traces'
          ? decodeTraceRequestJson(c.input, [], q)
          : signal === 'logs'
            ? decodeLogsRequestJson(c.input, [], q)
            : decodeMetricsRequestJson(c.input, [], q);
      const refused = o.error !== null || (o.rejected > 0 && o.accepted === 0);
      const expectErr = c.expected_error !== undefined;
      if (refused === expectErr) agree++;
      else if (expectErr && o.error === null && o.rejected > 0 && o.accepted > 0) {
        differs++;
        process.stdout.write(`  differs ${signal}/${caseName}: ${PARTIAL}\n`);
      } else if (KNOWN_DIFFERENCES[caseName]) {
        differs++;
        process.stdout.write(`  differs ${signal}/${caseName}: ${KNOWN_DIFFERENCES[caseName]}\n`);
      } else {
        bad++;
        process.stdout.write(
          `  MISMATCH ${signal}/${caseName}: expected ${expectErr ? 'an error' : 'success'}, got error=${o.error} accepted=${o.accepted} rejected=${o.rejected} (${o.rejectMessage})\n`,
        );
      }
    }
    process.stdout.write(`${name}: ${agree} cases agree, ${differs} documented differences\n`);
    continue;
  }
  const b = emptyBatch();
  const q = new Quality(name, 'x');
  const fmt = decodeTelemetryFile(Buffer.from(text), name, b, q);
  const r = q.report();
  const ok = fmt !== 'unknown' && r.skipped === 0;
  if (!ok) bad++;
  process.stdout.write(
    `${name}: ${fmt} spans ${b.spans.length} logs ${b.logs.length} points ${b.points.length} skipped ${r.skipped}${r.skipped ? ' ' + JSON.stringify(r.skippedByReason) : ''}${ok ? '' : '  FAIL'}\n`,
  );
}
process.exitCode = bad ? 1 : 0;
