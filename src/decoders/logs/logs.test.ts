import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LogRecord } from '../../model/records.js';
import {
  compileNginxFormat,
  detectLogFormat,
  extractNginxLogFormats,
  normalizeSeverity,
  parseLogText,
} from './index.js';
import { FIXTURES, NGINX_CONF } from './fixtures.case.js';
import { epochToUs, parseTimestampValue } from './time.js';
import { proxyReason } from './proxy.js';

const us = (iso: string): number => Date.parse(iso) * 1000;

function parse(lines: string[], opts = {}): ReturnType<typeof parseLogText> {
  return parseLogText(lines.join('\n') + '\n', 'fixture.log', opts);
}

for (const f of FIXTURES) {
  test(`detect + parse: ${f.name}`, () => {
    if (f.opts?.format === undefined) {
      assert.equal(detectLogFormat(f.lines, f.opts).format, f.format);
    }
    const { records, quality, format } = parse(f.lines, f.opts);
    assert.equal(format, f.format);
    assert.equal(records.length, f.records, JSON.stringify(records.map((r) => r.body)));
    assert.equal(quality.skipped, 0, JSON.stringify(quality.report()));
    assert.equal(quality.decoded + quality.skipped, quality.seen);
    for (const r of records) {
      assert.equal(r.file, 'fixture.log');
      assert.ok(r.lineNo >= 1 && r.lineNo <= f.lines.length);
    }
  });
}

function byName(name: string): LogRecord[] {
  const f = FIXTURES.find((x) => x.name.startsWith(name));
  assert.ok(f, name);
  return parse(f.lines, f.opts).records;
}

test('nginx json: fields by name, durations in ms, upstream list summed', () => {
  const [a, b, c] = byName('nginx json') as [LogRecord, LogRecord, LogRecord];
  assert.equal(a.tsUs, us('2025-03-04T09:00:01Z'));
  assert.equal(a.clientIp, '192.0.2.7');
  assert.equal(a.httpMethod, 'POST');
  assert.equal(a.httpPath, '/v1/chat/completions');
  assert.equal(a.httpStatus, 200);
  assert.equal(a.durationMs, 250);
  assert.equal(a.requestId, 'req-aaa1');
  assert.equal(a.attributes['upstream_response_ms'], 240);
  assert.equal(a.attributes['body_bytes_sent'], 512);
  assert.equal(a.body, 'POST /v1/chat/completions 200');
  assert.equal(b.attributes['upstream_response_time'], null);
  assert.equal(c.attributes['upstream_response_ms'], 3000);
  assert.equal(c.httpStatus, 502);
});

test('app json: epoch ms, nested flattened, trace ids, level words', () => {
  const [a, b] = byName('app json') as [LogRecord, LogRecord];
  assert.equal(a.tsUs, 1741082400123000);
  assert.equal(a.severity, 'WARN');
  assert.equal(a.body, 'slow batch');
  assert.equal(a.durationMs, 812.5);
  assert.equal(a.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(a.spanId, '00f067aa0ba902b7');
  assert.equal(a.attributes['model'], 'resnet-50'); // model.name → the canonical `model`
  assert.equal(a.attributes['model.version'], 3);
  assert.equal(a.attributes['tags'], '["gpu","batch"]');
  assert.equal(b.requestId, 'r-77');
  assert.equal(b.httpMethod, 'POST');
  assert.equal(b.httpPath, '/predict');
});

test('spaced JSON (python json.dumps) parses on the fast path too', () => {
  const [a, b] = byName('python json.dumps') as [LogRecord, LogRecord];
  assert.equal(a.tsUs, us('2025-03-04T07:40:29.418Z'));
  assert.equal(a.severity, 'INFO');
  assert.equal(a.body, 'prediction');
  assert.equal(a.requestId, 'abc123');
  assert.equal(a.durationMs, 11.5);
  assert.equal(a.httpStatus, 200);
  assert.equal(a.attributes['logger'], 'model_server');
  assert.equal(b.severity, 'ERROR');
  assert.equal(b.attributes['ok'], false);
  assert.equal(b.attributes['n'], null);
});

test('TGI: nested message, span timings with units', () => {
  const [a, b] = byName('TGI') as [LogRecord, LogRecord];
  assert.equal(a.body, 'Connected');
  assert.equal(a.format, 'tgi');
  assert.equal(a.tsUs, us('2025-03-04T09:00:00.000Z') + 1);
  assert.equal(b.durationMs, 1250);
  assert.equal(b.attributes['span.inference_time_ms'], 1200);
  assert.equal(b.attributes['span.queue_time_ms'], 40);
});

test('docker json-file: unwrap, re-join split lines, parse the inner format', () => {
  const [a, b, c] = byName('docker json-file') as [LogRecord, LogRecord, LogRecord];
  assert.equal(a.format, 'uvicorn-access');
  assert.equal(a.httpStatus, 200);
  assert.equal(a.tsUs, us('2025-03-04T08:00:00.123Z') + 456.789);
  assert.equal(a.attributes['container.stream'], 'stdout');
  assert.equal(b.body, 'first half of a long line, second half');
  assert.equal(b.lineNo, 2);
  assert.equal(c.format, 'json');
  assert.equal(c.severity, 'ERROR');
  assert.equal(c.body, 'boom');
});

test('CRI: partial lines joined, inner python logging parsed', () => {
  const [a, b] = byName('CRI') as [LogRecord, LogRecord];
  assert.equal(a.body, 'part one and part two');
  assert.equal(a.severity, 'INFO');
  assert.equal(a.tsUs, us('2025-03-04T08:00:00.001Z'));
  assert.equal(b.severity, 'ERROR');
  assert.equal(b.attributes['container.stream'], 'stderr');
});

test('logfmt: quoted values, escapes, unit durations', () => {
  const [a, b] = byName('logfmt') as [LogRecord, LogRecord];
  assert.equal(a.body, 'request done');
  assert.equal(a.durationMs, 12.5);
  assert.equal(a.httpPath, '/v1/models');
  assert.equal(a.requestId, 'abc');
  assert.equal(b.body, 'upstream "timeout"');
  assert.equal(b.durationMs, 30000);
  assert.equal(b.severity, 'ERROR');
});

test('syslog 3164 and 5424', () => {
  const [a, b] = byName('syslog RFC 3164') as [LogRecord, LogRecord];
  assert.equal(a.tsUs, us('2024-10-03T22:14:15Z'));
  assert.equal(a.severity, 'FATAL'); // <34> = auth.crit
  assert.equal(a.host, 'gpu-node-1');
  assert.equal(a.service, 'kubelet');
  assert.equal(a.attributes['pid'], 2211);
  assert.equal(a.body, 'Pod sandbox changed');
  assert.equal(b.body, 'NVRM: Xid 79, GPU has fallen off the bus');
  const [c, d] = byName('syslog RFC 5424') as [LogRecord, LogRecord];
  assert.equal(c.tsUs, us('2025-03-04T22:14:15.003Z'));
  assert.equal(c.severity, 'INFO'); // 165 & 7 = 5 notice
  assert.equal(c.service, 'inferd');
  assert.equal(c.requestId, 'r-1');
  assert.equal(c.attributes['model'], 'llama');
  assert.equal(c.body, 'model loaded');
  assert.equal(d.severity, 'ERROR');
});

test('nginx combined with appended key=value and quoted extras', () => {
  const [a, b] = byName('nginx combined') as [LogRecord, LogRecord];
  assert.equal(a.format, 'nginx-combined');
  assert.equal(a.durationMs, 50);
  assert.equal(a.requestId, 'f00dcafe');
  assert.equal(a.attributes['upstream_connect_ms'], 1);
  assert.equal(a.attributes['upstream_response_ms'], 48);
  assert.equal(a.attributes['user_agent'], 'client/2.0');
  assert.equal(b.attributes['user'], 'alice');
  assert.equal(b.attributes['referer'], 'https://ref.example/');
  assert.equal(b.attributes['extra.2'], 'extra quoted');
  assert.equal(b.httpPath, '/v1/models?x=1');
  assert.equal(b.durationMs, 2);
});

test('common log format: zone offsets, missing bytes', () => {
  const [a, b] = byName('common log') as [LogRecord, LogRecord];
  assert.equal(a.format, 'common');
  assert.equal(a.tsUs, us('2025-03-04T16:00:00Z'));
  assert.equal(a.attributes['bytes'], 2326);
  assert.equal(b.httpStatus, 500);
  assert.equal(b.attributes['bytes'], undefined);
});

test('nginx error and apache error', () => {
  const [a, b] = byName('nginx error') as [LogRecord, LogRecord];
  assert.equal(a.severity, 'ERROR');
  assert.equal(a.clientIp, '198.51.100.4');
  assert.equal(a.httpPath, '/v1/chat/completions');
  assert.equal(a.attributes['upstream'], 'http://10.0.0.2:8000/v1/chat/completions');
  assert.ok(a.body.startsWith('upstream timed out'));
  assert.equal(b.severity, 'INFO');
  const [c, d] = byName('apache error') as [LogRecord, LogRecord];
  assert.equal(c.clientIp, '192.0.2.1');
  assert.equal(c.body, 'File does not exist: /var/www/favicon.ico');
  assert.equal(d.severity, 'WARN');
  assert.equal(d.attributes['module'], 'proxy');
});

test('uvicorn: access lines, default lines, traceback joined', () => {
  const rs = byName('uvicorn');
  assert.equal(rs[0]!.format, 'uvicorn');
  assert.equal(rs[1]!.format, 'uvicorn-access');
  assert.equal(rs[1]!.clientIp, '127.0.0.1');
  assert.equal(rs[2]!.httpStatus, 404);
  assert.equal(rs[2]!.attributes['http.reason'], 'Not Found');
  assert.equal(rs[3]!.severity, 'ERROR');
  assert.ok(rs[3]!.body.endsWith('ValueError: bad input'));
  assert.equal(rs[3]!.attributes['log.lines'], 5);
});

test('gunicorn error and access', () => {
  const rs = byName('gunicorn error');
  assert.equal(rs[2]!.severity, 'FATAL');
  assert.equal(rs[2]!.attributes['pid'], 100);
  assert.equal(rs[0]!.tsUs, us('2025-03-04T12:00:00Z'));
  const [a] = byName('gunicorn access') as [LogRecord];
  assert.equal(a.format, 'gunicorn-access');
  assert.equal(a.httpPath, '/health');
});

test('python logging layouts and multi-line joins', () => {
  const rs = byName('python logging (asctime');
  assert.equal(rs[0]!.attributes['logger'], 'trainer');
  assert.equal(rs[0]!.body, 'epoch 1 done');
  assert.equal(rs[0]!.tsUs, us('2025-03-04T12:00:00.123Z'));
  assert.equal(rs[1]!.severity, 'ERROR');
  assert.equal(rs[1]!.body.split('\n').length, 5);
  assert.equal(rs[2]!.severity, 'WARN');
  const basic = byName('python logging basicConfig');
  assert.equal(basic[0]!.attributes['logger'], 'root');
  assert.equal(basic[1]!.attributes['logger'], 'data.loader');
  const java = byName('java-style');
  assert.equal(java.length, 2);
  assert.ok(java[0]!.body.includes('\tat com.example.Server.handle'));
  assert.ok(java[0]!.body.endsWith('\t... 2 more'));
});

test('vLLM: stats become typed attributes, uvicorn lines inside, preemption', () => {
  const rs = byName('vLLM');
  assert.equal(rs[0]!.tsUs, us('2025-03-04T12:00:00Z'));
  assert.equal(rs[1]!.format, 'uvicorn-access');
  assert.equal(rs[1]!.attributes['process'], 'APIServer');
  const s = rs[2]!.attributes;
  assert.equal(s['vllm.prompt_throughput_tps'], 120.5);
  assert.equal(s['vllm.generation_throughput_tps'], 33);
  assert.equal(s['vllm.running_reqs'], 4);
  assert.equal(s['vllm.waiting_reqs'], 2);
  assert.equal(s['vllm.gpu_kv_cache_usage_pct'], 87.5);
  assert.equal(s['vllm.prefix_cache_hit_rate_pct'], 12);
  assert.equal(rs[3]!.attributes['vllm.preemptions_total'], 3);
  assert.equal(rs[3]!.severity, 'WARN');
});

test('Triton glog: letters, microseconds, model names', () => {
  const rs = byName('Triton');
  assert.equal(rs[0]!.tsUs, us('2025-03-04T12:00:00Z') + 100);
  assert.equal(rs[1]!.attributes['model'], 'resnet');
  assert.equal(rs[1]!.attributes['model_version'], 1);
  assert.equal(rs[2]!.severity, 'ERROR');
  assert.equal(rs[2]!.attributes['source'], 'model_lifecycle.cc:600');
});

test('TorchServe: ACCESS_LOG, TS_METRICS, model METRICS', () => {
  const [a, m, w] = byName('TorchServe') as [LogRecord, LogRecord, LogRecord];
  assert.equal(a.httpPath, '/predictions/bert');
  assert.equal(a.durationMs, 37);
  assert.equal(a.clientIp, '10.0.0.3');
  assert.equal(m.attributes['metric.name'], 'Requests2XX');
  assert.equal(m.attributes['metric.value'], 1);
  assert.equal(m.attributes['metric.hostname'], 'ts-0');
  assert.equal(w.attributes['metric.name'], 'PredictionTime');
  assert.equal(w.attributes['metric.value'], 31.5);
  assert.equal(w.attributes['model'], 'bert');
  assert.equal(w.requestId, '0f0e0d0c-0b0a-4909-8807-060504030201');
});

test('Ray Serve: actor prefix, replica access line, core line', () => {
  const [a, b, c] = byName('Ray Serve') as [LogRecord, LogRecord, LogRecord];
  assert.equal(a.attributes['process'], 'ServeController');
  assert.equal(a.attributes['ray.component'], 'controller');
  assert.equal(b.httpMethod, 'POST');
  assert.equal(b.httpStatus, 200);
  assert.equal(b.durationMs, 12.5);
  assert.equal(b.requestId, '8f2c9b3a-6d1e-4f5a-9b7c-2d3e4f5a6b7c');
  assert.equal(c.attributes['source'], 'worker.py:1000');
  assert.equal(c.tsUs, us('2025-03-04T12:00:02Z'));
});

test('nginx custom log_format: extraction from nginx.conf and compiled parsers', () => {
  const defs = extractNginxLogFormats(NGINX_CONF);
  assert.deepEqual([...defs.keys()], ['main', 'jsonlog']);
  const main = defs.get('main')!;
  assert.equal(main.escapeJson, false);
  assert.ok(main.format.endsWith('rt=$request_time rid=$request_id'));
  const line =
    '10.0.0.1 - - [04/Mar/2025:10:00:00 +0000] "GET /a\\x22b HTTP/1.1" 200 5 "-" "ua x" rt=0.010 rid=r9';
  const fields = compileNginxFormat(main.format).parseFields(line);
  assert.equal(fields?.['request'], 'GET /a"b HTTP/1.1');
  assert.equal(fields?.['http_user_agent'], 'ua x');
  const { records, format } = parseLogText(line + '\n', 'x', { nginxFormat: main.format });
  assert.equal(format, 'nginx-custom');
  assert.equal(records[0]!.durationMs, 10);
  assert.equal(records[0]!.requestId, 'r9');
  assert.equal(records[0]!.tsUs, us('2025-03-04T10:00:00Z'));
  const js = defs.get('jsonlog')!;
  assert.equal(js.escapeJson, true);
  const jl =
    '{"t":"1741082400.250","addr":"10.0.0.2","req":"POST /q\\"x HTTP/1.1","st":503,"rt":1.500,"ua":"a\\\\b"}';
  const p = compileNginxFormat(js.format, { escapeJson: true });
  assert.equal(p.parseFields(jl)?.['request'], 'POST /q"x HTTP/1.1');
  const r = parseLogText(jl + '\n', 'x', { nginxFormat: js.format, nginxEscapeJson: true })
    .records[0]!;
  assert.equal(r.tsUs, 1741082400250000);
  assert.equal(r.httpStatus, 503);
  assert.equal(r.durationMs, 1500);
  assert.equal(r.httpPath, '/q"x');
  assert.equal(p.parseFields('not the format'), null);
});

test('timestamps: epoch by magnitude, ISO variants, zone option, reference year', () => {
  const o = { tzOffsetMinutes: 0, referenceYear: 2025 };
  const t = 1741082400;
  assert.equal(epochToUs(t), t * 1e6);
  assert.equal(epochToUs(t * 1e3 + 5), t * 1e6 + 5000);
  assert.equal(epochToUs(t * 1e6 + 7), t * 1e6 + 7);
  assert.equal(epochToUs(t * 1e9 + 7000), t * 1e6 + 7);
  assert.equal(parseTimestampValue('1741082400.123', o), t * 1e6 + 123000);
  assert.equal(parseTimestampValue('2025-03-04T10:00:00Z', o), us('2025-03-04T10:00:00Z'));
  assert.equal(parseTimestampValue('2025-03-04T10:00:00.5+0130', o), us('2025-03-04T08:30:00.5Z'));
  assert.equal(parseTimestampValue('2025-03-04 10:00:00,250', o), us('2025-03-04T10:00:00.250Z'));
  assert.equal(parseTimestampValue('04/Mar/2025:10:00:00 -0700', o), us('2025-03-04T17:00:00Z'));
  assert.ok(Number.isNaN(parseTimestampValue('2025-13-04T10:00:00Z', o)));
  assert.ok(Number.isNaN(parseTimestampValue('yesterday', o)));
  // zone-less timestamps take the option's zone
  const r = parseLogText('2025-03-04 10:00:00,000 INFO x: hi\n', 'f', { tzOffsetMinutes: 120 })
    .records[0]!;
  assert.equal(r.tsUs, us('2025-03-04T08:00:00Z'));
  // year-less syslog takes the reference year
  const s = parseLogText('Mar  4 10:00:00 h app: x\n', 'f', { referenceYear: 2019 }).records[0]!;
  assert.equal(s.tsUs, us('2019-03-04T10:00:00Z'));
});

test('severity normalisation', () => {
  assert.equal(normalizeSeverity('warning'), 'WARN');
  assert.equal(normalizeSeverity('CRITICAL'), 'FATAL');
  assert.equal(normalizeSeverity('E'), 'ERROR');
  assert.equal(normalizeSeverity('notice'), 'INFO');
  assert.equal(normalizeSeverity('Dbg'), 'DEBUG');
  assert.equal(normalizeSeverity('banana'), null);
  const r = parseLogText('{"level":50,"msg":"x"}\n{"severityNumber":17,"body":"y"}\n').records;
  assert.equal(r[0]!.severity, 'ERROR');
  assert.equal(r[1]!.severity, 'ERROR');
});

test('mixed formats in one file: other lines parsed by their own format and noted', () => {
  const lines = [
    '{"time":"2025-03-04T10:00:00Z","level":"info","msg":"a"}',
    '{"time":"2025-03-04T10:00:01Z","level":"info","msg":"b"}',
    '{"time":"2025-03-04T10:00:02Z","level":"info","msg":"c"}',
    '2025-03-04 10:00:03,000 ERROR app: plain python line',
    'totally free text',
    '{"time": broken json',
  ];
  const { records, quality, format } = parse(lines);
  assert.equal(format, 'json');
  assert.equal(records.length, 5);
  assert.equal(records[3]!.format, 'python-logging');
  assert.equal(records[4]!.format, 'plain');
  const rep = quality.report();
  assert.equal(rep.skippedByReason['malformed-json'], 1);
  assert.equal(rep.skippedByReason['other-format-line'], 1);
  assert.equal(rep.samples['malformed-json']?.[0]?.at, 'line 6');
  assert.equal(quality.decoded + quality.skipped, quality.seen);
});

test('forced format overrides detection', () => {
  const { format, records } = parseLogText('INFO:     hello\n', 'f', { format: 'plain' });
  assert.equal(format, 'plain');
  assert.equal(records[0]!.format, 'plain');
});

test('unit-less durations: float seconds (Python, zap, Caddy) vs ms (integers, responseTime)', () => {
  const ms = (lines: string[]): (number | null)[] => parse(lines).records.map((r) => r.durationMs);
  // Go zap's production encoder and Caddy write seconds as floats
  assert.deepEqual(
    ms([
      '{"level":"info","ts":1732780800.12,"msg":"handled","latency":0.0123}',
      '{"level":"info","ts":1732780801.12,"msg":"handled","latency":2}',
    ]),
    [12.3, 2000],
  );
  assert.deepEqual(ms(['{"ts":1732780800.1,"msg":"handled request","duration":0.842}']), [842]);
  // integers are ms; the unit is decided once per input and kept
  assert.deepEqual(
    ms([
      '{"time":"2024-11-28T08:00:00Z","msg":"done","duration":120}',
      '{"time":"2024-11-28T08:00:01Z","msg":"done","duration":0.5}',
    ]),
    [120, 0.5],
  );
  // pino/Fastify: responseTime is ms even as a fraction
  assert.deepEqual(
    ms(['{"level":30,"time":1732780800123,"msg":"request completed","responseTime":12.34}']),
    [12.34],
  );
  // a unit in the value wins
  assert.deepEqual(ms(['time=2024-11-28T08:00:00Z level=info msg=ok duration=1.5ms']), [1.5]);
});

test('proxy access logs: Envoy/Istio and HAProxy give timings, upstream time and failure reason', () => {
  const env = parse([
    '[2025-03-04T08:00:01.456Z] "POST /v1/chat/completions HTTP/1.1" 503 UF 512 91 30001 - "-" "openai-python/1.30" "8f1c2d3e-aaaa-bbbb-cccc-1234567890ab" "llm.internal" "10.0.1.5:8000"',
    '[2025-03-04T08:00:00.123Z] "POST /v1/chat/completions HTTP/1.1" 200 - 512 2048 842 840 "10.0.0.1, 10.9.9.9" "python-requests/2.31" "7f1c" "llm.internal" "10.0.1.5:8000"',
  ]).records;
  assert.equal(env[0]!.format, 'envoy');
  assert.equal(env[0]!.tsUs, us('2025-03-04T08:00:01.456Z'));
  assert.equal(env[0]!.httpStatus, 503);
  assert.equal(env[0]!.durationMs, 30001);
  assert.equal(env[0]!.attributes['envoy.response_flags'], 'UF');
  assert.equal(env[0]!.attributes['upstream_response_ms'], undefined);
  assert.equal(env[0]!.requestId, '8f1c2d3e-aaaa-bbbb-cccc-1234567890ab');
  assert.equal(env[1]!.attributes['upstream_response_ms'], 840);
  assert.equal(env[1]!.clientIp, '10.0.0.1');
  const ha = parse(
    [
      'Mar  4 08:00:01 lb1 haproxy[1234]: 10.0.0.2:51235 [04/Mar/2025:08:00:01.456] fe_http be_llm/srv1 0/12/-1/-1/30001 503 212 - - sC-- 10/10/2/1/3 0/0 "POST /v1/chat/completions HTTP/1.1"',
    ],
    { referenceYear: 2020 },
  ).records[0]!;
  assert.equal(ha.tsUs, us('2025-03-04T08:00:01.456Z'), 'the accept date (with its year) wins');
  assert.equal(ha.httpStatus, 503);
  assert.equal(ha.durationMs, 30001);
  assert.equal(ha.httpPath, '/v1/chat/completions');
  assert.equal(ha.attributes['queue_ms'], 12);
  assert.equal(ha.attributes['upstream_response_ms'], undefined, 'never reached the server');
  assert.equal(ha.format, 'haproxy');
  assert.equal(ha.attributes['haproxy.termination_state'], 'sC--');
  assert.equal(ha.attributes['haproxy.retries'], 3);
  // not a proxy line: nothing borrowed
  const plain = parse(['[2025-03-04T08:00:00Z] INFO worker started']).records[0]!;
  assert.notEqual(plain.format, 'envoy');
});

// Real HAProxy 2.6 lines: `mlscope lab slow-endpoint --proxy haproxy` (option httplog, the
// X-Request-ID captured with `http-request capture`, `log stdout format raw`) and a loopback run
// with `capture request header Host`/`X-Request-ID`, a captured response header, the same lines
// in rfc3164 syslog, and a log-format that appends %ID.
const HAPROXY_LAB = [
  '10.10.0.5:54762 [28/Nov/2026:19:23:32.260] fe_http app_b/srv1 0/0/1018/29/1047 200 210 - - ---- 6/6/1/1/0 0/0 {cli-8cb86077-8e4f-4885-937e-d0a478ba54f2} "POST /lossy/predict HTTP/1.1"',
  '10.10.0.5:36964 [28/Nov/2026:19:20:35.281] fe_http app_e/srv1 0/0/0/-1/2002 504 246 - - sH-- 1/1/0/0/0 0/0 {9d8b49fd-d19f-4c6f-ad76-d28c353e2b83} "POST /gen/predict HTTP/1.1"',
  'Proxy fe_http stopped (cumulated conns: FE: 76, BE: 0).',
];
const HAPROXY_LOOPBACK = [
  '127.0.0.1:53906 [28/Nov/2026:19:23:50.055] fe_a be_py/py1 0/0/0/1/1 200 561 - - ---- 1/1/0/0/0 0/0 {127.0.0.1:18180|7f3c9a2e-1b4d-4e8f-9a6b-2c5d8e1f0a3b} {text/html; charset=utf-8} "GET / HTTP/1.1"',
  '<142>Nov 28 19:23:50 localhost haproxy[17596]: 127.0.0.1:53906 [28/Nov/2026:19:23:50.055] fe_a be_py/py1 0/0/0/1/1 200 561 - - ---- 1/1/0/0/0 0/0 {127.0.0.1:18180|7f3c9a2e-1b4d-4e8f-9a6b-2c5d8e1f0a3b} {text/html; charset=utf-8} "GET / HTTP/1.1"',
  '127.0.0.1:53916 [28/Nov/2026:19:23:50.064] fe_a be_py/py1 0/0/0/3/3 404 500 - - ---- 1/1/0/0/0 0/0 {127.0.0.1:18180|} {text/html;charset=utf-8} "GET /nope HTTP/1.1"',
  '127.0.0.1:45300 [28/Nov/2026:19:23:50.073] fe_b be_py/py1 0/0/0/0/0 200 561 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1" 665b3aab-578d-49a9-bdf3-b694dcb849cc',
];

test('HAProxy 2.6 as it writes: the captured id is the request id; Tc/Tr/Ta in nginx terms', () => {
  const { records: all, format, quality } = parse(HAPROXY_LAB);
  assert.equal(format, 'haproxy');
  // (HAProxy's own notices, such as the stop message, are kept as plain lines)
  const records = all.filter((r) => r.httpStatus !== null);
  assert.equal(records.length, 2);
  assert.equal(quality.decoded + quality.skipped, quality.seen);
  const [slowConnect, timeout] = records as [LogRecord, LogRecord];
  assert.equal(slowConnect.requestId, 'cli-8cb86077-8e4f-4885-937e-d0a478ba54f2');
  assert.equal(slowConnect.tsUs, us('2026-11-28T19:23:32.260Z'));
  assert.equal(slowConnect.attributes['log.time_is_start'], true);
  assert.equal(slowConnect.durationMs, 1047);
  assert.equal(slowConnect.httpPath, '/lossy/predict');
  // a SYN lost on the way to the server: 1018 ms connecting, then 29 ms to the headers
  assert.equal(slowConnect.attributes['upstream_connect_ms'], 1018);
  assert.equal(slowConnect.attributes['upstream_header_ms'], 1047, 'Tc + Tr, as nginx counts');
  assert.equal(slowConnect.attributes['upstream_response_ms'], 1047);
  assert.equal(slowConnect.attributes['queue_ms'], 0);
  assert.equal(timeout.requestId, '9d8b49fd-d19f-4c6f-ad76-d28c353e2b83', "HAProxy's own id");
  assert.equal(timeout.httpStatus, 504);
  assert.equal(timeout.attributes['upstream_header_ms'], undefined, 'no response headers');
  assert.equal(
    proxyReason(timeout),
    'haproxy sH--: server-side timeout while waiting for the response headers',
  );

  const loop = parse(HAPROXY_LOOPBACK).records;
  assert.equal(loop.length, 4);
  assert.deepEqual(
    loop.map((r) => r.requestId),
    [
      '7f3c9a2e-1b4d-4e8f-9a6b-2c5d8e1f0a3b', // the id among the captured headers, not the Host
      '7f3c9a2e-1b4d-4e8f-9a6b-2c5d8e1f0a3b', // the same through syslog
      null, // an empty capture
      '665b3aab-578d-49a9-bdf3-b694dcb849cc', // %ID after the request line
    ],
  );
  assert.deepEqual(
    loop.map((r) => r.httpPath),
    ['/', '/', '/nope', '/'],
  );
  assert.equal(
    loop[0]!.attributes['haproxy.captured_response_headers'],
    'text/html; charset=utf-8',
  );
  assert.equal(loop[1]!.tsUs, loop[0]!.tsUs, 'the accept date, not the syslog second');
});

test('AWS ALB / Classic ELB: times in seconds to ms, target time upstream, trace id, absolute URL', () => {
  const f = FIXTURES.find((x) => x.format === 'aws-alb')!;
  const [ok, timeout, classic] = parse(f.lines).records;
  assert.equal(ok!.format, 'aws-alb');
  assert.equal(ok!.tsUs, us('2025-03-04T08:00:00.842Z'));
  assert.equal(ok!.httpPath, '/v1/chat/completions', 'scheme and authority cut from the request');
  assert.equal(ok!.attributes['http.host'], 'llm.example.com', 'the domain name (SNI) logged');
  assert.equal(ok!.durationMs, 842);
  assert.equal(ok!.attributes['upstream_response_ms'], 840);
  assert.equal(ok!.attributes['upstream_addr'], '10.0.1.5:8000');
  assert.equal(ok!.clientIp, '192.0.2.7');
  assert.equal(ok!.traceId, '67c6b3a036d228ad5d99923122bbe354', 'X-Ray root as W3C');
  assert.equal(timeout!.httpStatus, 504);
  assert.equal(timeout!.attributes['upstream_response_ms'], undefined, 'target never answered');
  assert.equal(timeout!.durationMs, 60000, 'from the request creation time');
  assert.match(proxyReason(timeout!) ?? '', /alb 504: the target did not answer/);
  assert.equal(classic!.service, 'elb');
  assert.equal(classic!.durationMs, 1.178);
  assert.equal(classic!.httpPath, '/health');
  assert.equal(proxyReason(ok!), null);
});

test('ingress-nginx and Traefik access lines: timings, upstream and request id by position', () => {
  const ing = parse(FIXTURES.find((x) => x.name.startsWith('ingress-nginx'))!.lines).records;
  assert.equal(ing[0]!.durationMs, 812);
  assert.equal(ing[0]!.attributes['upstream_response_ms'], 810);
  assert.equal(ing[0]!.attributes['upstream_addr'], '10.244.1.5:8080');
  assert.equal(ing[0]!.attributes['ingress.upstream_name'], 'default-model-8080');
  assert.equal(ing[0]!.requestId, '8f3c2a1b9d7e6f5a4b3c2d1e0f9a8b7c');
  assert.equal(ing[1]!.attributes['upstream_response_ms'], 1190, 'two upstream tries summed');
  assert.equal(ing[1]!.attributes['upstream_addr'], '10.244.1.6:8080', 'the one that answered');
  assert.equal(ing[1]!.attributes['upstream_status'], 200);
  assert.equal(ing[1]!.attributes['extra.2'], undefined);
  const tr = parse(FIXTURES.find((x) => x.name === 'Traefik common log format')!.lines).records[0]!;
  assert.equal(tr.durationMs, 812);
  assert.equal(tr.attributes['upstream_addr'], '172.17.0.3:8000');
  assert.equal(tr.attributes['traefik.router'], 'model@docker');
  // an unknown layout still keeps its extras by position
  const other = parse([
    '192.0.2.5 - - [04/Mar/2025:08:00:00 +0000] "GET / HTTP/1.1" 200 3 "-" "curl/8.5.0" abc "q"',
  ]).records[0]!;
  assert.equal(other.attributes['extra.2'], 'abc');
  assert.equal(other.attributes['extra.3'], 'q');
});

test('JSON access logs: Caddy, Traefik, Cloud Run, ECS fields by name and unit', () => {
  const f = FIXTURES.find((x) => x.name.startsWith('JSON access logs'))!;
  const [caddy, traefik, run, ecs] = parse(f.lines).records;
  assert.equal(caddy!.clientIp, '192.0.2.20', 'request.remote_ip');
  assert.equal(caddy!.requestId, 'req-42', 'header value lists unwrapped');
  assert.equal(caddy!.durationMs, 842.107);
  assert.equal(caddy!.httpStatus, 200);
  assert.equal(traefik!.httpStatus, 502, 'DownstreamStatus');
  assert.equal(traefik!.durationMs, 5.123456, 'Traefik durations are ns');
  assert.equal(traefik!.attributes['upstream_response_ms'], 5, 'OriginDuration');
  assert.equal(run!.clientIp, '192.0.2.22', 'httpRequest.remoteIp');
  assert.equal(run!.durationMs, 812.345);
  assert.equal(run!.httpPath, '/v1/predict');
  assert.equal(ecs!.durationMs, 5.123, 'ECS event.duration is ns');
  assert.equal(ecs!.clientIp, '192.0.2.23');
  assert.equal(ecs!.httpStatus, 200);
  // Go's time.Duration as an integer: ns once it is too large to be ms
  const go = parse([
    '{"time":"2025-03-04T08:00:00Z","msg":"served","path":"/p","status":200,"latency":52345678}',
  ]).records[0]!;
  assert.equal(go.durationMs, 52.345678);
});

test('trace ids in the form other sources use: X-Ray, Cloud Logging, upper-case hex', () => {
  const ids = parse([
    '{"time":"2025-03-04T08:00:00Z","msg":"a","trace_id":"4BF92F3577B34DA6A3CE929D0E0E4736"}',
    '{"time":"2025-03-04T08:00:00Z","msg":"b","xray_trace_id":"1-5759e988-bd862e3fe1be46a994272793"}',
    '{"time":"2025-03-04T08:00:00Z","msg":"c","trace_id":"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"}',
    '{"time":"2025-03-04T08:00:00Z","message":"d","logging.googleapis.com/trace":"projects/p-1/traces/4bf92f3577b34da6a3ce929d0e0e4736","logging.googleapis.com/spanId":"00f067aa0ba902b7"}',
    '{"time":"2025-03-04T08:00:00Z","msg":"e","trace_id":"my-own-id-123"}',
  ]).records.map((r) => [r.traceId, r.spanId]);
  assert.deepEqual(ids, [
    ['4bf92f3577b34da6a3ce929d0e0e4736', null],
    ['5759e988bd862e3fe1be46a994272793', null],
    ['5759e988bd862e3fe1be46a994272793', null],
    ['4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7'],
    ['my-own-id-123', null],
  ]);
});

test('Spring Boot: ts, level, pid, thread, logger, app name as service, stack trace joined', () => {
  const [boot2, err, boot3] = byName('Spring Boot');
  assert.equal(boot2!.format, 'spring-boot');
  assert.equal(boot2!.tsUs, us('2026-11-20T10:15:30.123Z'));
  assert.equal(boot2!.severity, 'INFO');
  assert.equal(boot2!.body, 'Prediction done in 812 ms', 'the message after ` : `');
  assert.equal(boot2!.attributes['pid'], 12345);
  assert.equal(boot2!.attributes['thread'], 'nio-8080-exec-1');
  assert.equal(boot2!.attributes['logger'], 'c.e.model.PredictController');
  assert.equal(boot2!.service, null);
  assert.equal(err!.severity, 'ERROR');
  assert.equal(err!.attributes['logger'], 'o.a.c.c.C.[.[.[/].[dispatcherServlet]');
  assert.equal(err!.attributes['log.lines'], 6, 'the Java stack trace joins its line');
  assert.match(
    err!.body,
    /^Servlet\.service\(\) .*\njava\.lang\.OutOfMemoryError: Java heap space\n\tat /,
  );
  assert.match(
    err!.body,
    /\nCaused by: java\.lang\.IllegalStateException: tensor pool exhausted\n\t\.\.\. 2 more$/,
  );
  assert.equal(boot3!.tsUs, us('2026-11-20T09:15:32.789Z'));
  assert.equal(boot3!.severity, 'WARN');
  assert.equal(boot3!.service, 'model-api', 'Boot 3.2+ application name');
  assert.equal(boot3!.attributes['thread'], 'main', 'left padding trimmed');
  assert.equal(boot3!.traceId, '4bf92f3577b34da6a3ce929d0e0e4736', 'correlation group');
  assert.equal(boot3!.spanId, '00f067aa0ba902b7');
  assert.equal(boot3!.body, 'Model warm-up took 2100 ms');
  // Boot 3.0/3.1 (ISO time, no application name), Sleuth's `[app,trace,span,export]`, colours
  const more = parse([
    '2026-11-20T10:15:30.123Z  INFO 7 --- [           main] o.s.b.w.embedded.tomcat.TomcatWebServer  : Tomcat started on port 8080 (http)',
    '2026-11-20 10:15:30.123  INFO [model-api,4bf92f3577b34da6,00f067aa0ba902b7,true] 7 --- [nio-8080-exec-1] c.e.model.PredictController              : done',
    '\x1b[2m2026-11-20T10:15:30.123Z\x1b[0;39m \x1b[32m INFO\x1b[0;39m \x1b[35m7\x1b[0;39m \x1b[2m---\x1b[0;39m \x1b[2m[           main]\x1b[0;39m \x1b[36mc.e.model.App                           \x1b[0;39m \x1b[2m:\x1b[0;39m Started App in 2.1 seconds',
  ]).records;
  assert.deepEqual(
    more.map((r) => [r.format, r.attributes['thread'], r.service, r.traceId, r.body]),
    [
      ['spring-boot', 'main', null, null, 'Tomcat started on port 8080 (http)'],
      ['spring-boot', 'nio-8080-exec-1', 'model-api', '4bf92f3577b34da6', 'done'],
      ['spring-boot', 'main', null, null, 'Started App in 2.1 seconds'],
    ],
  );
});

test('Gin: status, Go durations, client, method, path; [GIN-debug] lines are DEBUG', () => {
  const [route, ok, slow] = byName('Gin access log');
  assert.equal(route!.severity, 'DEBUG');
  assert.equal(route!.attributes['gin.route'], 'POST /api/generate');
  assert.equal(ok!.format, 'gin');
  assert.equal(ok!.tsUs, us('2026-11-20T10:15:30Z'));
  assert.equal(ok!.httpStatus, 200);
  assert.equal(ok!.durationMs, 812.345678);
  assert.equal(ok!.clientIp, '127.0.0.1');
  assert.equal(ok!.httpMethod, 'POST');
  assert.equal(ok!.httpPath, '/api/generate');
  assert.equal(ok!.body, 'POST /api/generate 200');
  assert.equal(slow!.httpStatus, 500);
  assert.equal(slow!.durationMs, 62500, 'Go composite duration 1m2.5s');
  const more = parse(
    [
      '[GIN] 2026/11/20 - 10:15:32 | 404 |      45.006µs |             ::1 | GET      "/api/tags?q=\\"a|b\\""',
      '[GIN] 2026/11/20 - 10:15:33 |\x1b[97;42m 200 \x1b[0m|     1.2s |    10.0.0.5 |\x1b[97;44m GET     \x1b[0m "/"',
      '[GIN-debug] [WARNING] Running in "debug" mode. Switch to "release" mode in production.',
    ],
    { tzOffsetMinutes: 60 },
  ).records;
  assert.equal(more[0]!.tsUs, us('2026-11-20T09:15:32Z'), 'local time in the given zone');
  assert.equal(more[0]!.durationMs, 0.045006, 'µs');
  assert.equal(more[0]!.clientIp, '::1');
  assert.equal(more[0]!.httpPath, '/api/tags?q="a|b"', 'Go-quoted path unescaped');
  assert.equal(more[1]!.httpStatus, 200, 'colours stripped');
  assert.equal(more[1]!.durationMs, 1200);
  assert.equal(more[1]!.httpMethod, 'GET');
  assert.equal(more[2]!.severity, 'WARN');
});

test('uWSGI: ts, client, method, path, status, msecs/micros, bytes, pid, protocol', () => {
  const [a, b, c] = byName('uWSGI');
  assert.equal(a!.format, 'uwsgi');
  assert.equal(a!.tsUs, us('2026-11-20T10:15:30Z'));
  assert.equal(a!.clientIp, '10.0.0.1');
  assert.equal(a!.httpMethod, 'POST');
  assert.equal(a!.httpPath, '/predict');
  assert.equal(a!.httpStatus, 200);
  assert.equal(a!.durationMs, 812);
  assert.equal(a!.attributes['bytes_sent'], 366);
  assert.equal(a!.attributes['pid'], 123);
  assert.equal(a!.attributes['http.protocol'], 'HTTP/1.1');
  assert.equal(a!.body, 'POST /predict 200');
  assert.equal(b!.durationMs, 812.345, '--log-micros');
  assert.equal(b!.httpStatus, 503);
  assert.equal(b!.attributes['user'], 'alice');
  assert.equal(b!.attributes['http.protocol'], 'HTTP/1.0');
  assert.equal(c!.tsUs, us('2026-11-20T10:15:32Z'), 'after a --log-date prefix');
  assert.equal(c!.attributes['uwsgi.app'], undefined, 'app: - (no app)');
  assert.equal(c!.httpStatus, 404);
});

test('BentoML: access lines give method, path, status, duration, client, trace, service', () => {
  const [cli, ok, runner] = byName('BentoML');
  assert.equal(cli!.format, 'bentoml');
  assert.equal(cli!.severity, 'INFO');
  assert.equal(cli!.tsUs, us('2026-11-20T10:15:29Z'));
  assert.match(cli!.body, /^Starting production HTTP BentoServer/);
  assert.equal(cli!.attributes['bentoml.component'], 'cli');
  assert.equal(ok!.httpMethod, 'POST');
  assert.equal(ok!.httpPath, '/predict');
  assert.equal(ok!.httpStatus, 200);
  assert.equal(ok!.durationMs, 812.345);
  assert.equal(ok!.clientIp, '10.0.0.1');
  assert.equal(ok!.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(ok!.spanId, '00f067aa0ba902b7');
  assert.equal(ok!.service, 'iris_classifier');
  assert.equal(ok!.attributes['bytes_sent'], 366);
  assert.equal(ok!.body, 'POST /predict 200');
  assert.equal(runner!.tsUs, us('2026-11-20T09:15:31Z'));
  assert.equal(runner!.severity, 'ERROR');
  assert.equal(runner!.clientIp, null, 'a runner logs `_` for the client');
  assert.equal(runner!.httpStatus, 500);
  assert.equal(runner!.attributes['http.response_content_type'], 'text/plain; charset=utf-8');
  assert.equal(runner!.service, 'iris_clf', 'from the component');
  // older BentoML wrote the OpenTelemetry ids as decimal integers
  assert.equal(runner!.traceId, 67131233608323295915755120473254509377n.toString(16));
  assert.equal(runner!.spanId, 4151694932783368069n.toString(16).padStart(16, '0'));
});

test('Tornado: level letter, yymmdd time, access messages; Jupyter layout', () => {
  const [reg, ok, unavailable, jupyter] = byName('Tornado');
  assert.equal(reg!.format, 'tornado');
  assert.equal(reg!.severity, 'INFO');
  assert.equal(reg!.tsUs, us('2020-11-20T10:15:29Z'));
  assert.equal(reg!.body, 'Registering model: sklearn-iris');
  assert.equal(reg!.attributes['source'], 'model_server:150');
  assert.equal(ok!.httpStatus, 200);
  assert.equal(ok!.httpMethod, 'POST');
  assert.equal(ok!.httpPath, '/v2/models/sklearn-iris/infer');
  assert.equal(ok!.clientIp, '127.0.0.1');
  assert.equal(ok!.durationMs, 812.34);
  assert.equal(unavailable!.severity, 'WARN');
  assert.equal(unavailable!.httpStatus, 503);
  assert.equal(unavailable!.durationMs, 2.1);
  assert.equal(jupyter!.tsUs, us('2026-11-20T10:15:32.123Z'));
  assert.equal(jupyter!.attributes['logger'], 'ServerApp');
  assert.equal(jupyter!.clientIp, '::1');
  // an uncaught exception: the request repr and traceback join the record
  const exc = parse([
    '[E 201120 10:15:31 web:1793] Uncaught exception POST /v2/models/x/infer (127.0.0.1)',
    "    HTTPServerRequest(protocol='http', host='localhost:8080', method='POST', uri='/v2/models/x/infer')",
    '    Traceback (most recent call last):',
    '[C 201120 10:15:32 kserve:10] giving up',
  ]).records;
  assert.equal(exc.length, 2);
  assert.equal(exc[0]!.severity, 'ERROR');
  assert.equal(exc[0]!.attributes['log.lines'], 3);
  assert.equal(exc[1]!.severity, 'FATAL');
});

test('Rust tracing: spans and trailing fields through applyField, target, `latency=812 ms`', () => {
  const [connected, resp, full, tgi] = byName('Rust tracing');
  assert.equal(connected!.format, 'rust-tracing');
  assert.equal(connected!.tsUs, us('2026-11-20T10:15:29Z') + 1, 'µs kept');
  assert.equal(connected!.severity, 'INFO');
  assert.equal(connected!.body, 'Connected');
  assert.equal(connected!.attributes['target'], 'text_generation_router::server');
  assert.equal(connected!.attributes['source'], 'router/src/server.rs:2311');
  assert.equal(resp!.httpMethod, 'POST');
  assert.equal(resp!.httpPath, '/v1/predict');
  assert.equal(resp!.httpStatus, 200);
  assert.equal(resp!.durationMs, 812, 'the unit is a separate token');
  assert.equal(resp!.attributes['spans'], 'request');
  assert.equal(resp!.attributes['target'], 'tower_http::trace::on_response');
  assert.equal(resp!.body, 'finished processing request');
  assert.equal(full!.severity, 'WARN');
  assert.equal(full!.body, 'Queue is full');
  assert.equal(full!.attributes['target'], 'text_generation_router::infer');
  assert.equal(tgi!.durationMs, 735.200735, 'TGI total_time');
  assert.equal(tgi!.attributes['queue_time_ms'], 0.073176);
  assert.equal(tgi!.attributes['inference_time_ms'], 734.172108);
  assert.match(
    String(tgi!.attributes['parameters']),
    /^GenerateParameters \{ .*stop: \["a b=c"\] \}$/,
  );
  assert.equal(tgi!.body, 'Success');
  const more = parse([
    '\x1b[2m2026-11-20T10:15:34.000005Z\x1b[0m \x1b[31mERROR\x1b[0m \x1b[1mhandle\x1b[0m\x1b[1m{\x1b[0m\x1b[3mrequest_id\x1b[0m\x1b[2m=\x1b[0m"r-7"\x1b[1m}\x1b[0m\x1b[2m:\x1b[0m \x1b[2mmy_app::api\x1b[0m\x1b[2m:\x1b[0m upstream failed \x1b[3merror\x1b[0m\x1b[2m=\x1b[0mconnection refused (os error 111) \x1b[3mtrace_id\x1b[0m\x1b[2m=\x1b[0m4BF92F3577B34DA6A3CE929D0E0E4736',
    '2026-11-20T10:15:35.000006+01:00 DEBUG shard-manager: text_generation_launcher: Starting shard rank=0',
    '2026-11-20T10:15:36.000007Z TRACE my_app: x=1',
  ]).records;
  assert.equal(more[0]!.severity, 'ERROR', 'colours stripped');
  assert.equal(more[0]!.requestId, 'r-7');
  assert.equal(more[0]!.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(more[0]!.attributes['error'], 'connection refused (os error 111)');
  assert.equal(more[0]!.body, 'upstream failed');
  assert.equal(more[1]!.tsUs, us('2026-11-20T09:15:35Z') + 6);
  assert.equal(more[1]!.attributes['spans'], 'shard-manager');
  assert.equal(more[1]!.attributes['target'], 'text_generation_launcher');
  assert.equal(more[1]!.attributes['rank'], 0);
  assert.equal(more[2]!.severity, 'TRACE');
  assert.equal(more[2]!.attributes['x'], 1);
});

test('SGLang: scheduler stats as typed sglang.* attributes, rank tags, uvicorn lines', () => {
  const [args, access, decode, prefill] = byName('SGLang');
  assert.equal(args!.format, 'sglang');
  assert.equal(args!.tsUs, us('2026-11-20T10:15:28Z'));
  assert.equal(access!.format, 'uvicorn-access', 'as in a vLLM log');
  assert.equal(access!.httpMethod, 'POST');
  assert.equal(access!.httpPath, '/generate');
  assert.equal(access!.httpStatus, 200);
  assert.equal(access!.clientIp, '127.0.0.1');
  assert.equal(access!.severity, 'INFO');
  assert.equal(decode!.tsUs, us('2026-11-20T10:15:30Z'));
  assert.equal(decode!.attributes['sglang.rank'], 'TP0');
  assert.equal(decode!.attributes['sglang.tp_rank'], 0);
  assert.equal(decode!.attributes['sglang.batch'], 'decode');
  assert.equal(decode!.attributes['sglang.running_reqs'], 5);
  assert.equal(decode!.attributes['sglang.tokens'], 1234);
  assert.equal(decode!.attributes['sglang.token_usage'], 0.05);
  assert.equal(decode!.attributes['sglang.gen_throughput_tps'], 250.3);
  assert.equal(decode!.attributes['sglang.queue_reqs'], 0);
  assert.equal(prefill!.attributes['sglang.batch'], 'prefill');
  assert.equal(prefill!.attributes['sglang.new_seqs'], 1);
  assert.equal(prefill!.attributes['sglang.new_tokens'], 512);
  assert.equal(prefill!.attributes['sglang.cached_tokens'], 0);
  assert.equal(prefill!.attributes['sglang.queue_reqs'], 3);
  // newer versions: `,` after the batch kind, `cuda graph`, a trailing `, `
  const newer = parse([
    '[2026-11-20 10:15:30] Decode batch, #running-req: 2, #token: 85, token usage: 0.00, cuda graph: True, gen throughput (token/s): 29.41, #queue-req: 0, ',
  ]).records[0]!;
  assert.equal(newer.format, 'sglang');
  assert.equal(newer.attributes['sglang.cuda_graph'], true);
  assert.equal(newer.attributes['sglang.running_reqs'], 2);
  assert.equal(newer.attributes['sglang.gen_throughput_tps'], 29.41);
});

test('application formats do not take other formats’ lines', () => {
  const formats = [
    '[2026-11-20 10:15:30] INFO:app.worker:python logging with a bracketed asctime',
    '[2026-11-20 10:15:30] plain message after a bracketed time',
    '2026-11-20 10:15:30,123 INFO [main] com.example.Server: log4j with a comma fraction',
    '2026-11-20T10:15:30,625 [INFO ] W-9000-bert_1.0-stdout MODEL_LOG - torchserve',
    '2026-11-20 10:15:30,461\tINFO worker.py:1000 -- Ray core',
    '[2026-11-20 10:15:30 +0000] [100] [INFO] gunicorn',
  ].map((line) => parse([line]).records[0]!.format);
  assert.deepEqual(formats, [
    'python-logging',
    'plain',
    'python-logging',
    'torchserve',
    'ray-serve',
    'gunicorn-error',
  ]);
});

test('pino: req.remoteAddress is the client address', () => {
  const r = parse([
    '{"level":30,"time":1795169730123,"pid":7,"hostname":"api-1","reqId":"req-1","req":{"method":"POST","url":"/v1/predict","remoteAddress":"10.0.0.7","remotePort":51234},"res":{"statusCode":200},"responseTime":812.3,"msg":"request completed"}',
  ]).records[0]!;
  assert.equal(r.clientIp, '10.0.0.7');
  assert.equal(r.httpStatus, 200);
  assert.equal(r.durationMs, 812.3);
  assert.equal(r.requestId, 'req-1');
});

test('journald JSON: PRIORITY is the level, the unit or identifier the service, MESSAGE parsed by its own format', () => {
  const { records } = parse([
    '{"__CURSOR":"s=1;i=2","__REALTIME_TIMESTAMP":"1710533820123456","__MONOTONIC_TIMESTAMP":"99123456","PRIORITY":"3","_SYSTEMD_UNIT":"vllm.service","MESSAGE":"CUDA out of memory. Tried to allocate 2.00 GiB","_HOSTNAME":"gpu1"}',
    '{"__REALTIME_TIMESTAMP":"1710533821123456","PRIORITY":"6","SYSLOG_IDENTIFIER":"python3","_SYSTEMD_UNIT":"vllm.service","MESSAGE":"INFO 03-15 20:17:01 metrics.py:341] Avg prompt throughput: 12.0 tokens/s, Avg generation throughput: 80.1 tokens/s, Running: 4 reqs, Swapped: 0 reqs, Pending: 2 reqs, GPU KV cache usage: 45.2%, CPU KV cache usage: 0.0%.","_HOSTNAME":"gpu1"}',
    '{"__REALTIME_TIMESTAMP":"1710533822000000","PRIORITY":"6","_SYSTEMD_UNIT":"api.service","MESSAGE":"ERROR:    Exception in ASGI application"}',
  ]);
  const [oom, stats, asgi] = records as [LogRecord, LogRecord, LogRecord];
  assert.equal(oom.tsUs, 1710533820123456);
  assert.equal(oom.severity, 'ERROR');
  assert.equal(oom.service, 'vllm');
  assert.equal(oom.host, 'gpu1');
  assert.equal(oom.body, 'CUDA out of memory. Tried to allocate 2.00 GiB');
  assert.equal(oom.attributes['__MONOTONIC_TIMESTAMP'], 99123456);
  // the inner vLLM line: its own typed stats and message; the journal's clock, host and service
  assert.equal(stats.format, 'vllm');
  assert.equal(stats.tsUs, 1710533821123456);
  assert.equal(stats.service, 'python3');
  assert.equal(stats.host, 'gpu1');
  assert.equal(stats.attributes['vllm.waiting_reqs'], 2);
  assert.equal(stats.attributes['vllm.gpu_kv_cache_usage_pct'], 45.2);
  assert.equal(stats.attributes['log.wrapper'], 'json');
  assert.match(stats.body, /^Avg prompt throughput/);
  // the application's level wins over the journal's default priority
  assert.equal(asgi.severity, 'ERROR');
  assert.equal(asgi.service, 'api');
});

test('wrapped lines: CloudWatch JSON message, Fluent Bit `log`, rsyslog JSON, Heroku router logfmt', () => {
  const { records } = parse([
    '{"timestamp":1710533820123,"message":"{\\"level\\":\\"error\\",\\"msg\\":\\"upstream timeout\\",\\"request_id\\":\\"r-9\\",\\"status\\":504}","logGroup":"/ecs/api"}',
    '{"log":"10.0.0.7 - - [15/Mar/2024:20:17:02 +0000] \\"POST /v1/completions HTTP/1.1\\" 200 512 \\"-\\" \\"curl/8.0\\" 0.842\\n","stream":"stdout","time":"2024-03-15T20:17:02.5Z","kubernetes":{"pod_name":"gw-1"}}',
    '{"timestamp":1710533823000,"message":"request completed in 12 ms"}',
  ]);
  const [cw, fb, prose] = records as [LogRecord, LogRecord, LogRecord];
  assert.equal(cw.tsUs, us('2024-03-15T20:17:00.123Z'));
  assert.equal(cw.severity, 'ERROR');
  assert.equal(cw.body, 'upstream timeout');
  assert.equal(cw.requestId, 'r-9');
  assert.equal(cw.httpStatus, 504);
  assert.equal(cw.attributes['logGroup'], '/ecs/api');
  assert.equal(fb.httpMethod, 'POST');
  assert.equal(fb.httpPath, '/v1/completions');
  assert.equal(fb.httpStatus, 200);
  assert.equal(fb.clientIp, '10.0.0.7');
  assert.equal(fb.tsUs, us('2024-03-15T20:17:02.500Z'));
  assert.equal(fb.attributes['log'], undefined, 'the wrapper’s copy of the line is not kept twice');
  // prose stays the message of its JSON record
  assert.equal(prose.format, 'json');
  assert.equal(prose.body, 'request completed in 12 ms');

  const sys = parse([
    '2024-03-15T20:17:00.123456+00:00 heroku[router]: at=info method=POST path="/v1/generate" host=app.example.com request_id=8601b555-6a83 fwd="204.204.204.204, 10.1.1.1" dyno=web.1 connect=1ms service=1830ms status=200 bytes=1548 protocol=https',
    'Mar 15 20:17:01 gpu1 api[812]: {"level":"warning","message":"queue full","request_id":"q-1"}',
    'Mar 15 20:17:02 gpu1 kernel: [12345.678901] NVRM: Xid (PCI:0000:3b:00): 79, GPU has fallen off the bus.',
  ]).records as [LogRecord, LogRecord, LogRecord];
  const [heroku, rs, kern] = sys;
  assert.equal(heroku.host, 'app.example.com');
  assert.equal(heroku.service, 'heroku[router]');
  assert.equal(heroku.httpMethod, 'POST');
  assert.equal(heroku.httpStatus, 200);
  assert.equal(heroku.requestId, '8601b555-6a83');
  assert.equal(heroku.durationMs, 1831);
  assert.equal(heroku.attributes['upstream_response_ms'], 1830);
  assert.equal(heroku.clientIp, '204.204.204.204');
  assert.equal(heroku.tsUs, 1710533820123456);
  assert.equal(rs.host, 'gpu1');
  assert.equal(rs.service, 'api');
  assert.equal(rs.severity, 'WARN');
  assert.equal(rs.body, 'queue full');
  assert.equal(rs.requestId, 'q-1');
  assert.equal(kern.service, 'kernel');
  assert.match(kern.body, /GPU has fallen off the bus/);
});

test('ids named inside free-text messages fill the request, trace and span ids', () => {
  const { records } = parse([
    '2024-03-15 20:17:00,123 INFO app.handler: done request_id=abc-123 status=200',
    '2024-03-15 20:17:00,124 INFO app.handler: "x-request-id": "f00dcafe", trace_id: 4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7',
    '2024-03-15 20:17:00,125 INFO app.handler: request id=42 is not an id field; valid=1',
    '{"msg":"finished (req_id=r-77)","request_id":"from-field"}',
  ]);
  const [a, b, c, d] = records as [LogRecord, LogRecord, LogRecord, LogRecord];
  assert.equal(a.requestId, 'abc-123');
  assert.equal(b.requestId, 'f00dcafe');
  assert.equal(b.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(b.spanId, '00f067aa0ba902b7');
  assert.equal(c.requestId, null);
  assert.equal(d.requestId, 'from-field', 'a field wins over the text');
});

test('a second time field of the same second but finer wins (nginx JSON with $time_iso8601 and $msec)', () => {
  const { records } = parse([
    '{"time_iso8601":"2026-11-28T08:52:47+00:00","msec":"1795855967.432","status":"200","request_uri":"/p","request_time":"0.014"}',
    '{"msec":"1795855967.432","time_iso8601":"2026-11-28T08:52:47+00:00","status":"200"}',
    // a finer time of another second is not the same clock: the first field stays
    '{"time_iso8601":"2026-11-28T08:52:47+00:00","msec":"1795855999.432","status":"200"}',
  ]);
  assert.equal(records[0]!.tsUs, 1795855967432000);
  assert.equal(records[0]!.attributes['msec'], undefined);
  assert.equal(records[1]!.tsUs, 1795855967432000);
  assert.equal(records[2]!.tsUs, 1795855967000000);
});

test("key=value pairs in a free-text message become typed fields; the line's own header wins", () => {
  const { records } = parse([
    '2024-03-15 20:17:00,123 INFO model_server: prediction request_id=abc-123 inference_ms=43.49 status=200 peer=10.1.1.10:39228 model="fake linear"',
    '2024-03-15 20:17:00,124 ERROR model_server: failed time=2020-01-01T00:00:00Z level=debug status=500, latency_ms=12.5; msg=other',
    '2024-03-15 20:17:00,125 INFO app: acquire lock=233570404, flags=0x1,policy=3 took=12ms.',
  ]);
  const [a, b, c] = records as [LogRecord, LogRecord, LogRecord];
  // as the same line written as JSON would give
  assert.equal(a.requestId, 'abc-123');
  assert.equal(a.httpStatus, 200);
  assert.equal(a.attributes['inference_ms'], 43.49);
  assert.equal(a.clientIp, '10.1.1.10');
  assert.equal(a.attributes['model'], 'fake linear');
  assert.equal(
    a.body,
    'prediction request_id=abc-123 inference_ms=43.49 status=200 peer=10.1.1.10:39228 model="fake linear"',
  );
  // the header's time, level and message stay; list punctuation ends a bare value
  assert.equal(b.tsUs, us('2024-03-15T20:17:00.124Z'));
  assert.equal(b.severity, 'ERROR');
  assert.match(b.body, /^failed /);
  // (pairs the header already gave are kept as attributes, as a JSON line's second message is)
  assert.equal(b.attributes['level'], 'debug');
  assert.equal(b.attributes['msg'], 'other');
  assert.equal(b.httpStatus, 500);
  assert.equal(b.durationMs, 12.5);
  assert.equal(c.attributes['lock'], 233570404);
  assert.equal(c.attributes['flags'], '0x1');
  assert.equal(c.attributes['policy'], 3);
  assert.equal(c.durationMs, 12);
});

test('key=value pairs in a message are bounded', () => {
  const many = Array.from({ length: 200 }, (_, i) => `k${i}=${i}`).join(' ');
  const { records } = parse([`2024-03-15 20:17:00,123 INFO app: ${many}`]);
  const keys = Object.keys(records[0]!.attributes).filter((k) => /^k\d+$/.test(k));
  assert.equal(keys.length, 32);
});

test('unit-less timings (`inference_time`, `queue_time`) follow the duration rule: float seconds, integer ms', () => {
  const { records } = parse([
    '{"ts":"2024-03-15T20:17:00Z","msg":"done","inference_time":0.842,"queue_time":12}',
    '{"ts":"2024-03-15T20:17:01Z","msg":"done","inference_time":1.5,"queue_time":30}',
  ]);
  assert.equal(records[0]!.attributes['inference_time_ms'], 842);
  assert.equal(records[1]!.attributes['inference_time_ms'], 1500);
  assert.equal(records[0]!.attributes['queue_time_ms'], 12);
});

test('W3C (IIS): directives are notes, fields by the last #Fields, UTC times, ms time-taken', () => {
  const f = FIXTURES.find((x) => x.name.startsWith('W3C extended log (IIS)'))!;
  // the zone option does not apply: W3C times are UTC
  const { records, quality, format } = parse(f.lines, { tzOffsetMinutes: 120 });
  assert.equal(format, 'w3c');
  const [a, b, c, d] = records as [LogRecord, LogRecord, LogRecord, LogRecord];
  assert.equal(a.format, 'w3c');
  assert.equal(a.lineNo, 5);
  assert.equal(a.tsUs, us('2026-11-20T10:15:30Z'));
  assert.equal(a.httpMethod, 'POST');
  assert.equal(a.httpPath, '/api/predict', 'cs-uri-query `-`: no query');
  assert.equal(a.httpStatus, 200);
  assert.equal(a.durationMs, 812, 'IIS time-taken is ms');
  assert.equal(a.clientIp, '192.0.2.10');
  assert.equal(a.body, 'POST /api/predict 200');
  assert.equal(
    a.attributes['user_agent'],
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64)',
    '+ → space',
  );
  assert.equal(a.attributes['server_ip'], '10.0.0.5');
  assert.equal(a.attributes['server_port'], 443);
  assert.equal(a.attributes['sc-substatus'], 0, 'unknown fields under their own names, typed');
  assert.equal(a.attributes['sc-win32-status'], 0);
  assert.equal(a.attributes['user'], undefined, '`-` is empty');
  assert.equal(a.attributes['referer'], undefined);
  assert.equal(b.tsUs, us('2026-11-20T10:15:31Z'));
  assert.equal(b.httpMethod, 'GET');
  assert.equal(b.httpPath, '/health?full=1');
  assert.equal(b.httpStatus, 503);
  assert.equal(b.durationMs, 3);
  assert.equal(b.clientIp, '192.0.2.11');
  assert.equal(b.attributes['user'], 'alice');
  assert.equal(b.attributes['referer'], 'https://ref.example/');
  assert.equal(b.attributes['sc-win32-status'], 64);
  assert.equal(b.body, 'GET /health?full=1 503');
  // the second header block's layout
  assert.equal(c.lineNo, 11);
  assert.equal(c.tsUs, us('2026-11-20T11:00:01Z'));
  assert.equal(c.httpPath, '/api/predict?model=m1');
  assert.equal(c.httpStatus, 200);
  assert.equal(c.durationMs, 1250);
  assert.equal(c.clientIp, '10.0.0.2');
  assert.equal(c.attributes['http.host'], 'api.example.com');
  assert.equal(c.attributes['http.protocol'], 'HTTP/1.1');
  assert.equal(c.attributes['bytes_sent'], 366);
  assert.equal(c.attributes['bytes_received'], 512);
  assert.equal(c.attributes['x_forwarded_for'], '203.0.113.9,10.0.0.2');
  assert.equal(c.attributes['user_agent'], 'python-requests/2.31');
  assert.equal(d.httpStatus, 500);
  assert.equal(d.durationMs, 30001);
  assert.equal(d.attributes['bytes_sent'], 0);
  assert.equal(d.attributes['user_agent'], undefined);
  assert.equal(d.attributes['x_forwarded_for'], undefined);
  // accounting: 8 directives are notes, not records and not skips
  const rep = quality.report();
  assert.equal(rep.skippedByReason['w3c-directive'], 8);
  assert.equal(rep.samples['w3c-directive']?.[0]?.at, 'line 1');
  assert.equal(quality.seen, 4);
  assert.equal(quality.skipped, 0);
  assert.equal(quality.decoded + quality.skipped, quality.seen);
  assert.equal(rep.skippedByReason['unrecognised-line'], undefined);
});

test('W3C (CloudFront): tab-separated, seconds, request id, viewer host, %-decoded agent', () => {
  const [a, b, c] = byName('W3C extended log (CloudFront') as [LogRecord, LogRecord, LogRecord];
  assert.equal(a.tsUs, us('2026-11-20T10:15:30Z'));
  assert.equal(a.httpMethod, 'POST');
  assert.equal(a.httpPath, '/v1/chat/completions');
  assert.equal(a.httpStatus, 200);
  assert.equal(a.durationMs, 842, 'CloudFront time-taken is seconds');
  assert.equal(a.attributes['duration_ms'], 842);
  assert.equal(a.attributes['time_to_first_byte_ms'], 120);
  assert.equal(a.clientIp, '192.0.2.100');
  assert.equal(a.requestId, 'SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==');
  assert.equal(a.attributes['http.host'], 'llm.example.com', 'x-host-header over cs(Host)');
  assert.equal(a.attributes['user_agent'], 'OpenAI/Python 1.30.0 (linux; x86_64)');
  assert.equal(a.attributes['bytes_sent'], 5320);
  assert.equal(a.attributes['bytes_received'], 512);
  assert.equal(a.attributes['client_port'], 51234);
  assert.equal(a.attributes['http.protocol'], 'HTTP/2.0');
  assert.equal(a.attributes['x-edge-location'], 'LAX50-P1');
  assert.equal(a.attributes['x-edge-result-type'], 'Miss');
  assert.equal(a.attributes['sc-content-type'], 'text/event-stream');
  assert.equal(a.attributes['x_forwarded_for'], undefined);
  assert.equal(a.body, 'POST /v1/chat/completions 200');
  assert.equal(b.httpPath, '/v1/chat/completions?stream=true');
  assert.equal(b.httpStatus, 504);
  assert.equal(b.durationMs, 30001);
  assert.equal(b.attributes['time_to_first_byte_ms'], undefined);
  assert.equal(b.attributes['x_forwarded_for'], '203.0.113.7');
  assert.equal(b.attributes['x-edge-detailed-result-type'], 'OriginReadTimeout');
  assert.equal(b.attributes['sc-content-len'], 412);
  assert.equal(b.requestId, 'k6tFEPnRX2KzVRPBKKNxvC5IS3VDFWjHsqZlnyoHh0p6SNvJsNiL_Q==');
  assert.equal(b.body, 'POST /v1/chat/completions?stream=true 504');
  assert.equal(c.httpStatus, null, '000: the viewer left before a response');
  assert.equal(c.attributes['sc-status'], '000');
  assert.equal(c.durationMs, 1500);
  assert.equal(c.httpMethod, 'GET');
  assert.equal(c.body, 'GET /v1/models');
});

test('W3C: lines before any #Fields are not claimed; #Date for time-only layouts', () => {
  // a W3C-looking line with no #Fields above it is not W3C
  const early = parse([
    '2026-11-20 10:15:30 10.0.0.5 GET /a - 443 - 192.0.2.1 curl - 200 0 0 5',
    '#Fields: date time cs-method cs-uri-stem sc-status time-taken',
    '2026-11-20 10:15:31 GET /b 200 7',
  ]);
  assert.deepEqual(
    early.records.map((r) => [r.lineNo, r.format, r.httpPath, r.httpStatus, r.durationMs]),
    [
      [1, 'plain', null, null, null],
      [3, 'w3c', '/b', 200, 7],
    ],
  );
  assert.equal(early.quality.report().skippedByReason['w3c-directive'], 1);
  // `time` without `date`: the day of the #Date directive; fractions of a second kept
  const timeOnly = parse([
    '#Version: 1.0',
    '#Date: 2026-11-20 00:00:00',
    '#Fields: time c-ip cs-method cs-uri sc-status',
    '10:15:30.250 192.0.2.1 GET /v1/models 200',
  ]);
  assert.equal(timeOnly.format, 'w3c');
  const t = timeOnly.records[0]!;
  assert.equal(t.tsUs, us('2026-11-20T10:15:30.250Z'));
  assert.equal(t.httpPath, '/v1/models', 'cs-uri');
  assert.equal(t.httpStatus, 200);
  assert.equal(t.clientIp, '192.0.2.1');
  assert.equal(t.body, 'GET /v1/models 200');
  // a header column that names a request id fills requestId
  const hdr = parse([
    '#Fields: date time cs-method cs-uri-stem sc-status cs(X-Request-ID) cs(Cookie)',
    '2026-11-20 10:15:30 POST /p 201 req-42 a=b',
  ]).records[0]!;
  assert.equal(hdr.requestId, 'req-42');
  assert.equal(hdr.httpStatus, 201);
  assert.equal(hdr.attributes['cs(Cookie)'], 'a=b');
  // a comment that is not a field list is no directive
  const notFields = parse(['#Fields: this is: not a list!', 'hello']);
  assert.equal(notFields.records.length, 2);
  assert.equal(notFields.records[0]!.body, '#Fields: this is: not a list!');
  assert.equal(notFields.quality.report().skippedByReason['w3c-directive'], undefined);
});

test('W3C: a line with more or fewer values than #Fields is parsed by position and noted', () => {
  const { records, quality } = parse([
    '#Version: 1.0',
    '#Fields: date time c-ip cs-method cs-uri-stem sc-status time-taken cs(User-Agent)',
    // cut after the status
    '2026-11-20 10:15:30 192.0.2.1 POST /p 200',
    // an unencoded space in the user agent: the surplus is kept
    '2026-11-20 10:15:31 192.0.2.2 GET /q 404 12 my agent/1.0',
    // the date column does not hold a date: not this layout's line
    'not-a-date 10:15:32 192.0.2.3 GET /r 200 1 ua',
  ]);
  const [short, long, bad] = records as [LogRecord, LogRecord, LogRecord];
  assert.equal(short.format, 'w3c');
  assert.equal(short.tsUs, us('2026-11-20T10:15:30Z'));
  assert.equal(short.httpMethod, 'POST');
  assert.equal(short.httpPath, '/p');
  assert.equal(short.httpStatus, 200);
  assert.equal(short.durationMs, null);
  assert.equal(long.httpStatus, 404);
  assert.equal(long.durationMs, 12);
  assert.equal(long.attributes['user_agent'], 'my');
  assert.equal(long.attributes['w3c.extra'], 'agent/1.0');
  assert.equal(bad.format, 'plain');
  const rep = quality.report();
  assert.equal(rep.skippedByReason['w3c-short-line'], 1);
  assert.equal(rep.samples['w3c-short-line']?.[0]?.at, 'line 3');
  assert.equal(rep.samples['w3c-short-line']?.[0]?.detail, '6 values for 8 fields');
  assert.equal(rep.skippedByReason['w3c-long-line'], 1);
  assert.equal(rep.skippedByReason['unrecognised-line'], 1);
  assert.equal(quality.skipped, 0);
  assert.equal(quality.decoded + quality.skipped, quality.seen);
});

test('W3C: detection needs the directives; other formats are unaffected by # lines', () => {
  const iis = FIXTURES.find((x) => x.name.startsWith('W3C extended log (IIS)'))!;
  assert.equal(detectLogFormat(iis.lines).format, 'w3c');
  assert.equal(detectLogFormat(iis.lines.slice(0, 3)).format, 'w3c', 'a header alone');
  // the data lines without their header are no W3C
  assert.notEqual(detectLogFormat(iis.lines.slice(4, 6)).format, 'w3c');
  // a `#Version:` comment in another format's file is an ordinary line there
  const py = parse([
    '2025-03-04 12:00:00,123 - trainer - INFO - epoch 1 done',
    '#Version: 1.0',
    '2025-03-04 12:00:05,456 - trainer - INFO - epoch 2 done',
  ]);
  assert.equal(py.format, 'python-logging');
  assert.equal(py.quality.report().skippedByReason['w3c-directive'], undefined);
});

test('llama.cpp server: request lines, slot/task ids, one record per timing block', () => {
  const rs = byName('llama.cpp server (llama-server)');
  const [build, meta, kv, listening, idle, launch, progress, release, timing, request] = rs as [
    LogRecord,
    LogRecord,
    LogRecord,
    LogRecord,
    LogRecord,
    LogRecord,
    LogRecord,
    LogRecord,
    LogRecord,
    LogRecord,
  ];
  for (const r of rs) {
    assert.equal(r.format, 'llama-cpp');
    assert.equal(r.tsUs, null, 'the server writes no timestamps');
    assert.equal(r.severity, null, 'no level without --log-prefix');
  }
  assert.equal(build.attributes['llama.func'], 'build');
  assert.equal(
    build.body,
    '4524 (6171c9d2) with cc (Ubuntu 13.3.0-6ubuntu2~24.04) 13.3.0 for x86_64-linux-gnu',
  );
  assert.equal(meta.attributes['llama.func'], 'llama_model_loader');
  assert.equal(meta.attributes['model'], 'Llama-3.1-8B-Instruct-Q4_K_M.gguf');
  assert.equal(kv.attributes['llama.func'], 'llama_model_loader');
  assert.match(kv.body, /^- kv {3}0: +general\.architecture str += llama$/);
  assert.equal(listening.attributes['llama.func'], 'main');
  assert.equal(
    listening.body,
    'server is listening on http://127.0.0.1:8080 - starting the main loop',
  );
  assert.equal(idle.attributes['llama.component'], 'srv');
  assert.equal(idle.attributes['llama.func'], 'update_slots');
  assert.equal(idle.body, 'all slots are idle');
  assert.equal(launch.attributes['llama.component'], 'slot');
  assert.equal(launch.attributes['llama.func'], 'launch_slot_');
  assert.equal(launch.attributes['llama.slot'], 0);
  assert.equal(launch.attributes['llama.task'], 12);
  assert.equal(launch.body, 'processing task');
  assert.equal(progress.attributes['llama.n_past'], 512);
  assert.equal(progress.attributes['llama.n_tokens'], 512);
  assert.equal(progress.attributes['llama.progress'], 1);
  assert.equal(release.attributes['llama.func'], 'release', 'right-aligned name trimmed');
  assert.equal(release.attributes['llama.n_past'], 640);
  assert.equal(release.attributes['llama.truncated'], 0);
  // the header line and the three timing lines: one record
  const t = timing.attributes;
  assert.equal(timing.lineNo, 9);
  assert.equal(t['log.lines'], 4);
  assert.equal(t['llama.func'], 'print_timing');
  assert.equal(t['llama.slot'], 0);
  assert.equal(t['llama.task'], 12);
  assert.equal(t['llama.prompt_ms'], 120.5);
  assert.equal(t['llama.prompt_tokens'], 512);
  assert.equal(t['llama.prompt_ms_per_token'], 0.24);
  assert.equal(t['llama.prompt_throughput_tps'], 4249);
  assert.equal(t['llama.generation_ms'], 1500.2);
  assert.equal(t['llama.completion_tokens'], 128);
  assert.equal(t['llama.generation_ms_per_token'], 11.72);
  assert.equal(t['llama.generation_throughput_tps'], 85.32);
  assert.equal(t['llama.total_ms'], 1620.7);
  assert.equal(t['llama.total_tokens'], 640);
  assert.equal(timing.durationMs, 1620.7, 'total time');
  assert.equal(timing.body.split('\n').length, 3);
  assert.match(
    timing.body,
    /^prompt eval time = +120\.50 ms .*\neval time = .*\ntotal time = +1620\.70 ms \/ +640 tokens$/,
  );
  assert.equal(request.httpMethod, 'POST');
  assert.equal(request.httpPath, '/v1/chat/completions');
  assert.equal(request.httpStatus, 200);
  assert.equal(request.clientIp, '127.0.0.1');
  assert.equal(request.attributes['llama.func'], 'log_server_r');
  assert.equal(request.body, 'POST /v1/chat/completions 200');
});

test('llama.cpp --log-prefix --log-timestamps: level letters, elapsed time, per-line timings', () => {
  const [build, health, timing, exc, err] = byName('llama.cpp server with --log-prefix') as [
    LogRecord,
    LogRecord,
    LogRecord,
    LogRecord,
    LogRecord,
  ];
  assert.equal(build.severity, 'INFO');
  assert.equal(build.tsUs, null, 'time since start is no timestamp');
  assert.equal(build.attributes['llama.elapsed_ms'], 12.345);
  assert.equal(build.attributes['llama.func'], 'build');
  assert.equal(health.severity, 'INFO');
  assert.equal(health.attributes['llama.elapsed_ms'], 1234.567);
  assert.equal(health.httpMethod, 'GET');
  assert.equal(health.httpPath, '/health');
  assert.equal(health.httpStatus, 200);
  assert.equal(health.clientIp, '127.0.0.1');
  // newer servers: a header on every timing line; still one record
  assert.equal(timing.attributes['log.lines'], 4);
  assert.equal(timing.attributes['llama.elapsed_ms'], 62003.004, 'of the first line');
  assert.equal(timing.attributes['llama.slot'], 1);
  assert.equal(timing.attributes['llama.task'], 13);
  assert.equal(timing.attributes['llama.prompt_tokens'], 10);
  assert.equal(timing.attributes['llama.prompt_throughput_tps'], 1000);
  assert.equal(timing.attributes['llama.completion_tokens'], 2);
  assert.equal(timing.attributes['llama.generation_ms'], 20);
  assert.equal(timing.attributes['llama.generation_throughput_tps'], 100);
  assert.equal(timing.attributes['llama.total_tokens'], 12);
  assert.equal(timing.attributes['llama.graphs_reused'], 1);
  assert.equal(timing.durationMs, 30);
  assert.equal(timing.severity, 'INFO');
  assert.equal(exc.severity, 'WARN');
  assert.equal(exc.attributes['llama.func'], 'operator()', 'a lambda');
  assert.equal(exc.body, 'got exception: {"code":500,"message":"boom"}');
  assert.equal(err.severity, 'ERROR');
  assert.equal(err.attributes['llama.func'], 'send_error');
  assert.equal(err.attributes['llama.task'], 14, '`task id = 14`');
  assert.equal(err.attributes['llama.elapsed_ms'], 62004.2);
});

test('llama.cpp 2024 formats: text lines with epoch timestamps; JSON lines typed as JSON', () => {
  const [build, listening, timing, request, err] = byName('llama.cpp server, 2024 text') as [
    LogRecord,
    LogRecord,
    LogRecord,
    LogRecord,
    LogRecord,
  ];
  assert.equal(build.tsUs, 1710000000 * 1e6);
  assert.equal(build.severity, 'INFO');
  assert.equal(build.body, 'build info');
  assert.equal(build.attributes['llama.func'], 'main');
  assert.equal(build.attributes['build'], 2440);
  assert.equal(build.attributes['commit'], 'abcdef1');
  assert.equal(listening.body, 'HTTP server listening');
  assert.equal(listening.attributes['port'], 8080);
  assert.equal(listening.attributes['hostname'], '127.0.0.1');
  assert.equal(listening.host, null, 'the listen address is not the logging host');
  assert.equal(timing.tsUs, 1710000001 * 1e6);
  assert.equal(timing.attributes['log.lines'], 3);
  assert.equal(timing.attributes['llama.slot'], 0);
  assert.equal(timing.attributes['llama.task'], 12);
  assert.equal(timing.attributes['llama.prompt_tokens'], 512);
  assert.equal(timing.attributes['llama.prompt_ms'], 120.5);
  assert.equal(timing.attributes['llama.completion_tokens'], 128, '`runs` in old servers');
  assert.equal(timing.attributes['llama.generation_throughput_tps'], 85.32);
  assert.equal(timing.attributes['llama.total_ms'], 1620.7);
  assert.equal(timing.durationMs, 1620.7);
  assert.equal(request.tsUs, 1710000002 * 1e6);
  assert.equal(request.httpMethod, 'POST');
  assert.equal(request.httpPath, '/completion');
  assert.equal(request.httpStatus, 200);
  assert.equal(request.clientIp, '127.0.0.1');
  assert.equal(request.attributes['remote_port'], 51234);
  assert.equal(request.body, 'POST /completion 200');
  assert.equal(err.severity, 'ERROR', '` ERR` (%4s)');
  assert.equal(err.attributes['llama.task'], 13);
  assert.equal(err.attributes['error'], 'context size exceeded');
  // Ollama's build: no padding, keys sorted; a ` | ` inside the message
  const ollama = parse([
    'INFO [main] build info | build=3440 commit="d94c6e0c" tid="139" timestamp=1716000000',
    'WARN [main] a | b | tid="139" timestamp=1716000001 n=2',
  ]).records;
  assert.deepEqual(
    ollama.map((r) => [r.format, r.severity, r.tsUs, r.body, r.attributes['build'] ?? null]),
    [
      ['llama-cpp', 'INFO', 1716000000 * 1e6, 'build info', 3440],
      ['llama-cpp', 'WARN', 1716000001 * 1e6, 'a | b', null],
    ],
  );
  assert.equal(ollama[0]!.attributes['commit'], 'd94c6e0c');
  assert.equal(ollama[1]!.attributes['n'], 2);
  // the default (JSON) format of the same servers: JSON lines with the same typed fields
  const js = parse([
    '{"tid":"140234","timestamp":1710000000,"level":"INFO","function":"log_server_request","line":2741,"msg":"request","remote_addr":"127.0.0.1","remote_port":51234,"status":200,"method":"POST","path":"/completion","params":{}}',
    '{"tid":"140234","timestamp":1710000001,"level":"ERR","function":"send_error","line":1,"msg":"task error","id_task":13}',
  ]);
  assert.equal(js.format, 'json');
  const [j, e] = js.records as [LogRecord, LogRecord];
  assert.equal(j.tsUs, 1710000000 * 1e6);
  assert.equal(j.severity, 'INFO');
  assert.equal(j.httpMethod, 'POST');
  assert.equal(j.httpPath, '/completion');
  assert.equal(j.httpStatus, 200);
  assert.equal(j.clientIp, '127.0.0.1', 'remote_addr');
  assert.equal(j.attributes['remote_port'], 51234);
  assert.equal(j.body, 'request');
  assert.equal(e.severity, 'ERROR');
  assert.equal(e.tsUs, 1710000001 * 1e6);
  assert.equal(e.body, 'task error');
});

test('llama.cpp lines inside another format’s file (Ollama): the timing block still joins', () => {
  const { records, format, quality } = parse([
    'time=2026-11-20T10:15:29.000Z level=INFO source=server.go:400 msg="starting llama server" cmd="/usr/bin/ollama runner"',
    'time=2026-11-20T10:15:29.100Z level=INFO source=sched.go:450 msg="loaded runners" count=1',
    'time=2026-11-20T10:15:29.200Z level=INFO source=server.go:600 msg="waiting for server"',
    'time=2026-11-20T10:15:30.000Z level=INFO source=server.go:620 msg="llama runner started in 0.80 seconds"',
    'llama_model_loader: loaded meta data with 29 key-value pairs and 291 tensors from /root/.ollama/models/blobs/sha256-8eeb52df (version GGUF V3 (latest))',
    'slot print_timing: id  0 | task 7 | ',
    'prompt eval time =      50.00 ms /    20 tokens (    2.50 ms per token,   400.00 tokens per second)',
    '       eval time =     500.00 ms /    50 tokens (   10.00 ms per token,   100.00 tokens per second)',
    '      total time =     550.00 ms /    70 tokens',
    '[GIN] 2026/11/20 - 10:15:31 | 200 |  560.123ms |       127.0.0.1 | POST     "/api/chat"',
  ]);
  assert.equal(format, 'logfmt');
  assert.deepEqual(
    records.map((r) => r.format),
    ['logfmt', 'logfmt', 'logfmt', 'logfmt', 'llama-cpp', 'llama-cpp', 'gin'],
  );
  const meta = records[4]!;
  assert.equal(meta.attributes['model'], 'sha256-8eeb52df');
  const t = records[5]!;
  assert.equal(t.attributes['log.lines'], 4);
  assert.equal(t.attributes['llama.task'], 7);
  assert.equal(t.attributes['llama.prompt_tokens'], 20);
  assert.equal(
    t.attributes['llama.completion_tokens'],
    50,
    'an indented line joined with its fields',
  );
  assert.equal(t.attributes['llama.generation_throughput_tps'], 100);
  assert.equal(t.attributes['llama.total_tokens'], 70);
  assert.equal(t.durationMs, 550);
  assert.equal(records[6]!.durationMs, 560.123);
  assert.equal(quality.decoded + quality.skipped, quality.seen);
  assert.equal(quality.skipped, 0);
});

test('llama.cpp: timing blocks of different tasks stay apart; a stray timing line stands alone', () => {
  const { records } = parse([
    'slot print_timing: id  0 | task 1 | prompt eval time =       1.00 ms /     1 tokens (    1.00 ms per token,  1000.00 tokens per second)',
    'slot print_timing: id  1 | task 2 | prompt eval time =       2.00 ms /     2 tokens (    1.00 ms per token,  1000.00 tokens per second)',
    'slot print_timing: id  1 | task 2 |       total time =       4.00 ms /     2 tokens',
    'srv  update_slots: all slots are idle',
    '      total time =       9.00 ms /     9 tokens',
  ]);
  assert.deepEqual(
    records.map((r) => [
      r.attributes['llama.task'] ?? null,
      r.attributes['llama.prompt_ms'] ?? null,
      r.attributes['llama.total_ms'] ?? null,
      r.attributes['log.lines'] ?? 1,
    ]),
    [
      [1, 1, null, 1],
      [2, 2, 4, 2],
      [null, null, null, 1],
      [null, null, 9, 1],
    ],
  );
  assert.equal(records[3]!.durationMs, 9);
  assert.equal(records[3]!.format, 'llama-cpp');
});

test("Envoy's JSON access log (Istio) and Traefik's: client, upstream time and address, a start stamp", () => {
  const { records } = parse([
    '{"authority":"llm","bytes_received":154,"bytes_sent":2048,"downstream_remote_address":"10.0.35.28:51234","duration":1226,"method":"POST","path":"/v1/chat/completions","protocol":"HTTP/1.1","request_id":"cc21","response_code":200,"response_flags":"-","start_time":"2024-03-15T20:17:00.310Z","upstream_host":"10.0.2.1:8000","upstream_service_time":"1200","x_forwarded_for":"10.0.35.28"}',
    '{"StartUTC":"2024-03-15T20:17:01.512345Z","Duration":91000000,"OriginDuration":88000000,"RequestMethod":"POST","RequestPath":"/v1/completions","DownstreamStatus":502,"ClientHost":"10.0.0.9","time":"2024-03-15T20:17:01.603Z","level":"info","msg":""}',
  ]);
  const [istio, traefik] = records as [LogRecord, LogRecord];
  assert.equal(istio.tsUs, us('2024-03-15T20:17:00.310Z'));
  assert.equal(istio.attributes['log.time_is_start'], true);
  assert.equal(istio.clientIp, '10.0.35.28');
  assert.equal(istio.durationMs, 1226);
  assert.equal(istio.attributes['upstream_response_ms'], 1200);
  assert.equal(istio.attributes['upstream_addr'], '10.0.2.1:8000');
  assert.equal(istio.httpStatus, 200);
  // Traefik's `time` is when it logged (the end): not a start stamp
  assert.equal(traefik.tsUs, us('2024-03-15T20:17:01.603Z'));
  assert.equal(traefik.attributes['log.time_is_start'], undefined);
  assert.equal(traefik.clientIp, '10.0.0.9');
  assert.equal(traefik.attributes['upstream_response_ms'], 88);
});

test('timings appended to the combined format without keys: nginx $request_time $upstream_response_time, Apache %D', () => {
  const { records } = parse([
    '10.0.0.1 - - [15/Mar/2024:20:17:00 +0000] "POST /predict HTTP/1.1" 200 512 "-" "curl/8.0" "-" 0.123 0.120',
    '10.0.0.1 - - [15/Mar/2024:20:17:01 +0000] "POST /predict HTTP/1.1" 502 0 "-" "curl/8.0" 1.500 -',
    '10.0.0.1 - - [15/Mar/2024:20:17:02 +0000] "POST /predict HTTP/1.1" 200 512 "-" "curl/8.0" 1234567',
    '10.0.0.1 - - [15/Mar/2024:20:17:03 +0000] "POST /predict HTTP/1.1" 200 512 "-" "curl/8.0" rt=0.5 7',
  ]);
  const [nginx, failed, apache, keyed] = records as [LogRecord, LogRecord, LogRecord, LogRecord];
  assert.equal(nginx.durationMs, 123);
  assert.equal(nginx.attributes['upstream_response_ms'], 120);
  assert.equal(failed.durationMs, 1500);
  assert.equal(failed.attributes['upstream_response_ms'], undefined);
  assert.equal(apache.durationMs, 1234.567);
  // a key=value time wins; the lone integer after it stays an extra
  assert.equal(keyed.durationMs, 500);
  assert.equal(keyed.attributes['extra.2'], '7');
});

test("Apache's combined + %D + the request id (LogFormat … %D %{X-Request-ID}i): duration in µs, id, start time", () => {
  // lines written by Apache 2.4.62 (Debian) in `mlscope lab slow-endpoint --proxy apache`
  const { records, format } = parse([
    '10.10.0.5 - - [28/Nov/2026:20:25:53 +0000] "POST /lossy/predict HTTP/1.1" 200 85 "-" "ml-gateway-client/1.4" 14989 aws40X4-xovYpvBBSFmZmgAAACQ',
    '10.10.0.5 - - [28/Nov/2026:20:26:06 +0000] "POST /gen/predict HTTP/1.1" 502 381 "-" "ml-gateway-client/1.4" 2002842 cli-ff100316-6c68-4370-8283-cd53f3a8b002',
    '10.10.0.5 - - [28/Nov/2026:20:26:00 +0000] "POST /gen/predict HTTP/1.1" 502 - "-" "ml-gateway-client/1.4" 28089 -',
  ]);
  assert.match(format, /combined/);
  const [a, b, c] = records as [LogRecord, LogRecord, LogRecord];
  assert.equal(a.requestId, 'aws40X4-xovYpvBBSFmZmgAAACQ'); // mod_unique_id's UNIQUE_ID
  assert.equal(a.durationMs, 14.989);
  // Apache's %t is when the request was received: investigate adds the duration for its end
  assert.equal(a.attributes['log.time_is_start'], true);
  assert.equal(a.tsUs, us('2026-11-28T20:25:53Z'));
  assert.equal(b.requestId, 'cli-ff100316-6c68-4370-8283-cd53f3a8b002');
  assert.equal(b.durationMs, 2002.842);
  assert.equal(b.httpStatus, 502);
  assert.equal(c.requestId, null);
  assert.equal(c.durationMs, 28.089);
  for (const r of records) assert.equal(r.attributes['extra.3'], undefined);
});

test('a trailing token that is not id-shaped after a timing stays an extra', () => {
  const { records } = parse([
    '10.0.0.1 - - [28/Nov/2026:20:25:53 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8" 1234 frontend',
  ]);
  assert.equal(records[0]!.requestId, null);
  assert.equal(records[0]!.durationMs, null);
});

test("Apache's proxy error log: AH01102 / AH00898 lines with client, module and severity", () => {
  const { records, format } = parse([
    '[Sat Nov 28 20:26:08.687914 2026] [proxy_http:error] [pid 25822:tid 25871] (70007)The timeout specified has expired: [client 10.10.0.5:34586] AH01102: error reading status line from remote server 10.10.2.23:8004',
    '[Sat Nov 28 20:26:08.687970 2026] [proxy:error] [pid 25822:tid 25871] [client 10.10.0.5:34586] AH00898: Error reading from remote server returned by /gen/predict',
  ]);
  assert.equal(format, 'apache-error');
  const [a, b] = records as [LogRecord, LogRecord];
  assert.equal(a.severity, 'ERROR');
  assert.equal(a.tsUs, us('2026-11-28T20:26:08.687Z') + 914);
  assert.equal(
    a.body,
    '(70007)The timeout specified has expired: AH01102: error reading status line from remote server 10.10.2.23:8004',
  );
  assert.equal(a.clientIp, '10.10.0.5');
  assert.equal(a.attributes['client'], '10.10.0.5:34586'); // the connection, not just the host
  assert.equal(b.attributes['client'], '10.10.0.5:34586');
  assert.equal(b.clientIp, '10.10.0.5');
  assert.match(b.body, /returned by \/gen\/predict$/);
});
