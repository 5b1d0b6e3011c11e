// OTLP logs, JSON encoding: an ExportLogsServiceRequest document → LogRecords.

import type { Quality } from '../../../model/quality.js';
import type { LogRecord } from '../../../model/records.js';
import {
  anyValueInto,
  arrayField,
  checkedAttributes,
  enumValue,
  field,
  hexId,
  isObject,
  nanosToUs,
} from '../common/json.js';
import type { Attrs } from '../common/protobuf.js';
import { OutcomeCounter, type DecodeOutcome } from '../outcome.js';
import { toLogRecord } from './map.js';
import { bodyText } from './protobuf.js';

const SEVERITY_NAMES = [
  'SEVERITY_NUMBER_UNSPECIFIED',
  ...['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].flatMap((n) =>
    ['', '2', '3', '4'].map((i) => `SEVERITY_NUMBER_${n}${i}`),
  ),
];

export function decodeLogsRequestJson(
  doc: unknown,
  out: LogRecord[],
  q: Quality,
  file = 'otlp',
): DecodeOutcome {
  const c = new OutcomeCounter(q);
  return c.finish(walk(doc, out, c, file), -1);
}

function walk(doc: unknown, out: LogRecord[], c: OutcomeCounter, file: string): string | null {
  if (!isObject(doc)) return 'the request is not a JSON object';
  const rls = arrayField(doc, 'resourceLogs');
  if (rls === null) return 'resourceLogs is not an array';
  for (let i = 0; i < rls.length; i++) {
    const rl = rls[i];
    if (!isObject(rl)) return `resourceLogs[${i}] is not an object`;
    const res = field(rl, 'resource');
    const resource = checkedAttributes(isObject(res) ? field(res, 'attributes') : undefined);
    if (resource === null)
      return `resourceLogs[${i}].resource.attributes is not a list of key/values`;
    const sls = arrayField(rl, 'scopeLogs');
    if (sls === null) return `resourceLogs[${i}].scopeLogs is not an array`;
    for (let j = 0; j < sls.length; j++) {
      const sl = sls[j];
      if (!isObject(sl)) return `resourceLogs[${i}].scopeLogs[${j}] is not an object`;
      const sc = field(sl, 'scope');
      if (isObject(sc) && checkedAttributes(sc['attributes']) === null)
        return `resourceLogs[${i}].scopeLogs[${j}].scope.attributes is not a list of key/values`;
      const recs = arrayField(sl, 'logRecords');
      if (recs === null) return `resourceLogs[${i}].scopeLogs[${j}].logRecords is not an array`;
      for (let k = 0; k < recs.length; k++) {
        const at = `resourceLogs[${i}].scopeLogs[${j}].logRecords[${k}]`;
        const lr = recs[k];
        if (!isObject(lr)) {
          c.reject('invalid-log-record', at, 'not an object');
          continue;
        }
        const traceId = hexId(field(lr, 'traceId'), 16);
        const spanId = hexId(field(lr, 'spanId'), 8);
        const ts = nanosToUs(field(lr, 'timeUnixNano'));
        const obs = nanosToUs(field(lr, 'observedTimeUnixNano'));
        const sev = enumValue(field(lr, 'severityNumber'), SEVERITY_NAMES);
        const attrs = checkedAttributes(lr['attributes']);
        const b = field(lr, 'body');
        if (attrs === null)
          c.reject('invalid-attributes', at, JSON.stringify(lr['attributes']).slice(0, 120));
        else if (b !== undefined && b !== null && !isObject(b))
          c.reject('invalid-body', at, JSON.stringify(b).slice(0, 120));
        else if (traceId === null) c.reject('invalid-trace-id', at, String(field(lr, 'traceId')));
        else if (spanId === null) c.reject('invalid-span-id', at, String(field(lr, 'spanId')));
        else if (Number.isNaN(ts) || Number.isNaN(obs))
          c.reject('invalid-timestamp', at, String(field(lr, 'timeUnixNano')));
        else {
          const tmp: Attrs = {};
          if (b !== undefined && b !== null) anyValueInto(b, tmp, 'body', 0);
          const st = field(lr, 'severityText');
          const ev = field(lr, 'eventName');
          const t = ts || obs;
          out.push(
            toLogRecord(
              {
                tsUs: t === 0 ? null : t,
                severityNumber: sev ?? 0,
                severityText: typeof st === 'string' && st ? st : null,
                body: bodyText(tmp),
                attributes: attrs,
                traceId: traceId || null,
                spanId: spanId || null,
                resource,
                eventName: typeof ev === 'string' && ev ? ev : null,
              },
              file,
              c.accepted + c.rejected + 1,
              'otlp-json',
            ),
          );
          c.ok();
        }
      }
    }
  }
  return null;
}
