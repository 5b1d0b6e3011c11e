// The store conformance suite: every backend (duckdb/ now, clickhouse/ later) runs it from its own
// test file with `storeConformance('name', open)`. SQL here is kept portable (plain SELECTs, µs
// columns rather than TIMESTAMP text, whose rendering differs between engines).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Connection, Exchange, LogRecord } from '../model/records.js';
import type { MetricPoint, Span } from '../model/span.js';
import { emptyFlow, type FlowRecord } from '../model/flow.js';
import { QueryError, type Cell, type Store, type TailPosition } from './store.js';

export function makeLog(over: Partial<LogRecord> = {}): LogRecord {
  return {
    tsUs: 1_700_000_000_123_456,
    severity: 'INFO',
    body: 'GET /v1/chat/completions 200',
    requestId: 'req-1',
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    httpMethod: 'GET',
    httpPath: '/v1/chat/completions',
    httpStatus: 200,
    durationMs: 12.5,
    clientIp: '10.0.0.7',
    attributes: { model: 'llama-3', tokens: 42, cached: false, note: null },
    service: 'gateway',
    host: 'gw-1',
    file: 'access.log',
    lineNo: 1,
    format: 'json',
    templateId: null,
    ...over,
  };
}

export function makeSpan(over: Partial<Span> = {}): Span {
  return {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    parentSpanId: null,
    service: 'gateway',
    name: 'POST /v1/chat/completions',
    kind: 'server',
    startUs: 1_700_000_000_000_000,
    endUs: 1_700_000_000_250_000,
    status: 'ok',
    statusMessage: null,
    attributes: { 'http.status_code': 200, 'llm.model': 'llama-3' },
    events: [{ tsUs: 1_700_000_000_100_000, name: 'first-token', attributes: {} }],
    links: [],
    resource: { 'service.name': 'gateway' },
    scope: '@opentelemetry/instrumentation-http',
    format: 'otlp-json',
    ...over,
  };
}

export function makePoint(over: Partial<MetricPoint> = {}): MetricPoint {
  return {
    name: 'http_requests_total',
    labels: { 'service.name': 'gateway', code: '200' },
    tsUs: 1_700_000_000_000_000,
    value: 42,
    kind: 'sum',
    temporality: 'cumulative',
    unit: '1',
    ...over,
  };
}

export function makeConnection(over: Partial<Connection> = {}): Connection {
  return {
    id: 1,
    client: { ip: '10.0.0.7', port: 51234 },
    server: { ip: '10.0.0.1', port: 443 },
    roleBy: 'syn',
    firstUs: 1_700_000_000_000_000.5,
    lastUs: 1_700_000_001_000_000,
    firstFrame: 1,
    lastFrame: 20,
    handshake: true,
    handshakeRttMs: 0.42,
    synToSynAckMs: 0.2,
    synAckToAckMs: 0.22,
    synCount: 1,
    packets: [10, 10],
    bytes: [1000, 20000],
    payloadBytes: [600, 19000],
    retransmissions: [1, 0],
    fastRetransmissions: [0, 0],
    spuriousRetransmissions: [0, 0],
    duplicateAcks: [0, 2],
    zeroWindows: [0, 0],
    outOfOrder: [0, 0],
    lostSegments: [0, 0],
    resets: [0, 0],
    fins: [1, 1],
    maxRtoStallMs: 200,
    rtoStallMs: 200,
    retransmissionFrames: [7],
    appProtocol: 'http',
    close: 'fin',
    missingBytes: [0, 0],
    ...over,
  };
}

export function makeExchange(over: Partial<Exchange> = {}): Exchange {
  return {
    id: 1,
    connId: 1,
    client: { ip: '10.0.0.7', port: 51234 },
    server: { ip: '10.0.0.1', port: 8000 },
    protocol: 'HTTP/1.1',
    streamId: null,
    method: 'POST',
    host: 'api.local',
    path: '/v1/completions',
    status: 503,
    reason: 'Service Unavailable',
    requestHeaders: { 'x-request-id': 'abc' },
    responseHeaders: {},
    requestId: 'abc',
    traceparent: null,
    contentType: 'application/json',
    reqBodyBytes: 120,
    respBodyBytes: 0,
    reqFirstUs: 1_700_000_000_000_000,
    reqLastUs: 1_700_000_000_000_100,
    respFirstUs: 1_700_000_000_500_000,
    respLastUs: 1_700_000_000_500_100,
    reqFirstFrame: 4,
    respFirstFrame: 9,
    respLastFrame: 9,
    serverTimeMs: 499.9,
    totalMs: 500.1,
    reqBody: '{"prompt":"hi"}',
    respBody: null,
    state: 'complete',
    grpcStatus: null,
    grpcMessage: null,
    ...over,
  };
}

/** Strings a hostile log line can carry; each must come back byte-for-byte. */
export const HOSTILE_STRINGS: readonly string[] = [
  `it's a "quote"`,
  "'; DROP TABLE logs; --",
  'nul\u0000inside\u0000',
  'back\\slash and \\u0000 escape text',
  'line\nbreak\r\nand\ttab',
  '\u001b[31mred\u001b[0m\u0007bell',
  'emoji 🦆 and 中文 and \u202eRTL',
  '',
  'x'.repeat(4 * 1024 * 1024),
];

/** A JSON text cell (the `attributes`/header columns) as a string, for JSON.parse. */
function asText(v: Cell | undefined): string {
  return typeof v === 'string' ? v : JSON.stringify(v ?? null);
}

export function storeConformance(backend: string, open: () => Promise<Store>): void {
  void describe(`store conformance: ${backend}`, () => {
    async function withStore(fn: (s: Store) => Promise<void>): Promise<void> {
      const s = await open();
      try {
        await fn(s);
      } finally {
        await s.close();
      }
    }

    void it('starts with the record tables, empty', () =>
      withStore(async (s) => {
        const t = await s.tables();
        const names = t.map((x) => x.name);
        for (const n of [
          'connections',
          'exchanges',
          'flows',
          'inputs',
          'logs',
          'points',
          'spans',
          'tail_positions',
          'templates',
        ])
          assert.ok(names.includes(n), n);
        assert.ok(t.every((x) => x.rows === 0));
      }));

    void it('round-trips log records across chunk boundaries, visible without an explicit flush', () =>
      withStore(async (s) => {
        const n = 5000; // > 2 chunks of 2048
        const batch = Array.from({ length: n }, (_, i) =>
          makeLog({
            lineNo: i + 1,
            tsUs: 1_700_000_000_000_000 + i,
            httpStatus: i % 7 === 0 ? 500 : 200,
          }),
        );
        await s.appendLogs(batch.slice(0, 1234));
        await s.appendLogs(batch.slice(1234));
        const c = await s.query('SELECT count(*) AS n, sum(line_no) AS total FROM logs');
        assert.deepEqual(
          c.columns.map((x) => x.name),
          ['n', 'total'],
        );
        assert.deepEqual(c.rows, [[n, (n * (n + 1)) / 2]]);
        const e = await s.query('SELECT count(*) FROM logs WHERE http_status >= 500');
        assert.equal(e.rows[0]![0], Math.ceil(n / 7));
        const r = await s.query(
          `SELECT ts_us, severity, body, request_id, trace_id, span_id, http_method, http_path,
                  http_status, duration_ms, client_ip, service, host, file, line_no, format,
                  template_id, attributes
           FROM logs WHERE line_no = 3`,
        );
        const row = r.rows[0]!;
        assert.deepEqual(row.slice(0, 17), [
          1_700_000_000_000_002,
          'INFO',
          'GET /v1/chat/completions 200',
          'req-1',
          '4bf92f3577b34da6a3ce929d0e0e4736',
          '00f067aa0ba902b7',
          'GET',
          '/v1/chat/completions',
          200,
          12.5,
          '10.0.0.7',
          'gateway',
          'gw-1',
          'access.log',
          3,
          'json',
          null,
        ]);
        assert.deepEqual(JSON.parse(asText(row[17])), {
          model: 'llama-3',
          tokens: 42,
          cached: false,
          note: null,
        });
      }));

    void it('stores nulls and drops values that do not fit their column', () =>
      withStore(async (s) => {
        await s.appendLogs([
          makeLog({
            tsUs: null,
            severity: null,
            requestId: null,
            traceId: null,
            spanId: null,
            httpMethod: null,
            httpPath: null,
            httpStatus: 1e12, // not an INTEGER
            durationMs: null,
            clientIp: null,
            service: null,
            host: null,
            attributes: {},
          }),
        ]);
        const r = await s.query(
          'SELECT ts_us, severity, request_id, http_status, duration_ms, attributes, body FROM logs',
        );
        assert.deepEqual(r.rows, [
          [null, null, null, null, null, null, 'GET /v1/chat/completions 200'],
        ]);
      }));

    void it('returns hostile strings intact (quotes, NUL, control characters, 4 MiB)', () =>
      withStore(async (s) => {
        await s.appendLogs(
          HOSTILE_STRINGS.map((body, i) =>
            makeLog({
              body,
              lineNo: i + 1,
              requestId: body.slice(0, 100),
              attributes: { v: body.slice(0, 1000) },
            }),
          ),
        );
        const r = await s.query('SELECT body, request_id, attributes FROM logs ORDER BY line_no');
        assert.equal(r.rows.length, HOSTILE_STRINGS.length);
        r.rows.forEach((row, i) => {
          const want = HOSTILE_STRINGS[i]!;
          assert.equal(row[0], want, `body ${i}`);
          assert.equal(row[1], want.slice(0, 100), `request_id ${i}`);
          assert.deepEqual(JSON.parse(asText(row[2])), { v: want.slice(0, 1000) });
        });
      }));

    void it('round-trips connections and exchanges', () =>
      withStore(async (s) => {
        await s.appendConnections([
          makeConnection(),
          makeConnection({ id: 2, close: 'rst', resets: [0, 1] }),
        ]);
        await s.appendExchanges([
          makeExchange(),
          makeExchange({ id: 2, streamId: 3, protocol: 'HTTP/2', status: null }),
        ]);
        const c = await s.query(
          'SELECT id, client_ip, client_port, server_port, handshake, handshake_rtt_ms, bytes_s2c, retransmissions_c2s, resets_s2c, close, retransmission_frames FROM connections ORDER BY id',
        );
        assert.deepEqual(c.rows[0]!.slice(0, 10), [
          1,
          '10.0.0.7',
          51234,
          443,
          true,
          0.42,
          20000,
          1,
          0,
          'fin',
        ]);
        assert.deepEqual(JSON.parse(asText(c.rows[0]![10])), [7]);
        assert.deepEqual(c.rows[1]!.slice(8, 10), [1, 'rst']);
        const f = await s.query('SELECT first_us FROM connections WHERE id = 1');
        assert.equal(f.rows[0]![0], 1_700_000_000_000_000.5);
        const e = await s.query(
          'SELECT id, stream_id, method, path, status, request_id, total_ms, req_body, resp_body, state, request_headers FROM exchanges ORDER BY id',
        );
        assert.deepEqual(e.rows[0]!.slice(0, 10), [
          1,
          null,
          'POST',
          '/v1/completions',
          503,
          'abc',
          500.1,
          '{"prompt":"hi"}',
          null,
          'complete',
        ]);
        assert.deepEqual(JSON.parse(asText(e.rows[0]![10])), { 'x-request-id': 'abc' });
        assert.deepEqual(e.rows[1]!.slice(0, 5), [2, 3, 'POST', '/v1/completions', null]);
      }));

    void it('round-trips flow records (NetFlow and flow-log fields, unknown protocol as NULL)', () =>
      withStore(async (s) => {
        const f: FlowRecord = {
          ...emptyFlow('ipfix'),
          src: '10.0.0.7',
          dst: '2001:db8::1',
          srcPort: 51234,
          dstPort: 443,
          proto: 6,
          bytes: 2 ** 40,
          packets: 12,
          startUs: 1_700_000_000_000_000,
          endUs: 1_700_000_001_000_000,
          exporter: '127.0.0.1',
          tcpFlags: 0x1b,
          samplingRate: 1,
          inIf: 4_000_000_000,
          domainId: 7,
        };
        const g: FlowRecord = { ...emptyFlow('aws-vpc'), action: 'REJECT', detail: "it's" };
        await s.appendFlows([f, g], null);
        const r = await s.query(
          'SELECT source, src, dst, src_port, dst_port, proto, proto_number, bytes, packets, start_us, end_us, exporter, tcp_flags, in_if, domain_id, action, detail FROM flows ORDER BY source DESC',
        );
        assert.deepEqual(r.rows[0], [
          'ipfix',
          '10.0.0.7',
          '2001:db8::1',
          51234,
          443,
          'tcp',
          6,
          2 ** 40,
          12,
          1_700_000_000_000_000,
          1_700_000_001_000_000,
          '127.0.0.1',
          0x1b,
          4_000_000_000,
          7,
          null,
          null,
        ]);
        assert.deepEqual(r.rows[1]!.slice(5, 7), [null, null]);
        assert.deepEqual(r.rows[1]!.slice(15), ['REJECT', "it's"]);
      }));

    void it('tracks inputs and removes an input with its rows', () =>
      withStore(async (s) => {
        const base = {
          sizeBytes: 10,
          mtimeMs: 1_700_000_000_000,
          headHash: 'h',
          tailHash: 't',
          windowBytes: 1 << 20,
          kind: 'logs',
          format: 'json',
        };
        const a = await s.beginInput({ ...base, path: 'a.log' });
        await s.appendLogs([makeLog(), makeLog({ lineNo: 2 })], a);
        await s.finishInput(a, { records: 2, skipped: 1, error: null, format: 'nginx-combined' });
        const b = await s.beginInput({ ...base, path: "b'.log", headHash: 'h2' });
        await s.appendLogs([makeLog({ file: "b'.log" })], b);
        assert.notEqual(a, b);
        const rows = await s.inputs();
        assert.deepEqual(
          rows.map((r) => [
            r.id,
            r.path,
            r.status,
            r.records,
            r.skipped,
            r.headHash,
            r.mtimeMs,
            r.format,
          ]),
          [
            [a, 'a.log', 'done', 2, 1, 'h', 1_700_000_000_000, 'nginx-combined'],
            [b, "b'.log", 'ingesting', 0, 0, 'h2', 1_700_000_000_000, 'json'],
          ],
        );
        const deleted = await s.removeInput(a);
        assert.equal(deleted, 2);
        const left = await s.query('SELECT file, input_id FROM logs');
        assert.deepEqual(left.rows, [["b'.log", b]]);
        assert.deepEqual(
          (await s.inputs()).map((r) => r.id),
          [b],
        );
      }));

    void it('sets final template ids with finishInput and keeps the templates table in step', () =>
      withStore(async (s) => {
        const input = (path: string): Parameters<Store['beginInput']>[0] => ({
          path,
          sizeBytes: 10,
          mtimeMs: 0,
          headHash: path,
          tailHash: 't',
          windowBytes: 1 << 20,
          kind: 'logs',
          format: null,
        });
        const T1 = { id: 'aaaaaaaaaaa1', template: 'GET <*>', example: 'GET /a' };
        const T2 = { id: 'aaaaaaaaaaa2', template: 'boot ok', example: 'boot ok' };
        const T3 = { id: 'aaaaaaaaaaa3', template: "it's <*>", example: "it's 1" };
        const a = await s.beginInput(input('a.log'));
        await s.appendLogs(
          [
            makeLog({ lineNo: 1, templateId: '~0' }),
            makeLog({ lineNo: 2, templateId: '~-1' }),
            makeLog({ lineNo: 3, templateId: '~0' }),
            makeLog({ lineNo: 4, templateId: '~7' }), // a key the map does not know
            makeLog({ lineNo: 5, templateId: null }),
          ],
          a,
        );
        // Another input's rows with the same provisional key are not touched.
        const b = await s.beginInput(input('b.log'));
        await s.appendLogs([makeLog({ lineNo: 1, templateId: '~0' })], b);
        await s.finishInput(
          a,
          { records: 5, skipped: 0, error: null },
          {
            keys: [
              { key: '~0', id: T1.id },
              { key: '~-1', id: T2.id },
            ],
            templates: [T1, T2],
          },
        );
        const ids = async (id: number) =>
          (
            await s.query(`SELECT template_id FROM logs WHERE input_id = ${id} ORDER BY line_no`)
          ).rows.map((r) => r[0]);
        assert.deepEqual(await ids(a), [T1.id, T2.id, T1.id, null, null]);
        assert.deepEqual(await ids(b), ['~0']);
        const templates = async () =>
          (
            await s.query(
              'SELECT template_id, template, count, example, first_input_id FROM templates ORDER BY template_id',
            )
          ).rows;
        assert.deepEqual(await templates(), [
          [T1.id, T1.template, 2, T1.example, a],
          [T2.id, T2.template, 1, T2.example, a],
        ]);

        await s.finishInput(
          b,
          { records: 1, skipped: 0, error: null },
          {
            keys: [{ key: '~0', id: T1.id }],
            templates: [{ ...T1, example: 'GET /b' }],
          },
        );
        // An id seen before keeps its text, example and first input; its count grows.
        assert.deepEqual(await templates(), [
          [T1.id, T1.template, 3, T1.example, a],
          [T2.id, T2.template, 1, T2.example, a],
        ]);
        const joined = await s.query(
          'SELECT t.template, count(*) FROM logs l JOIN templates t USING (template_id) GROUP BY t.template ORDER BY t.template',
        );
        assert.deepEqual(joined.rows, [
          ['GET <*>', 3],
          ['boot ok', 1],
        ]);

        // Rows without an input (`mlscope logs`): resolveTemplates.
        await s.appendLogs([makeLog({ lineNo: 9, templateId: '~3' })]);
        await s.resolveTemplates(null, {
          keys: [{ key: '~3', id: T3.id }],
          templates: [T3],
        });
        assert.deepEqual(
          (await s.query('SELECT template_id FROM logs WHERE input_id IS NULL')).rows,
          [[T3.id]],
        );

        // Removing an input takes its rows out of the counts; the template first seen there
        // moves to the input still holding it, one left without rows goes.
        await s.removeInput(a);
        assert.deepEqual(await templates(), [
          [T1.id, T1.template, 1, T1.example, b],
          [T3.id, T3.template, 1, T3.example, null],
        ]);
      }));

    void it('commits rows with tail positions, and neither when the commit fails', () =>
      withStore(async (s) => {
        const pos = (over: Partial<TailPosition> = {}): TailPosition => ({
          path: 'app.log',
          dev: '2049',
          ino: '18446744073709551557',
          headBytes: 1024,
          headHash: 'ab'.repeat(32),
          offset: 4096,
          lineNo: 40,
          updatedMs: 1_700_000_000_000,
          ...over,
        });
        await s.commitWithPositions(
          () => s.appendLogs([makeLog(), makeLog({ lineNo: 2 })]),
          new Map([
            ['app.log', [pos()]],
            ['b.log', [pos({ path: 'b.log', ino: '7' }), pos({ path: 'b.log', ino: '8' })]],
          ]),
        );
        // a path's rows are replaced; other paths are kept
        await s.commitWithPositions(
          () => s.appendLogs([makeLog({ lineNo: 3 })]),
          new Map([['b.log', [pos({ path: 'b.log', ino: '9', offset: 5000, lineNo: 50 })]]]),
        );
        // a failing commit keeps neither its rows nor its positions
        await assert.rejects(
          s.commitWithPositions(
            () => s.appendLogs([makeLog({ lineNo: 4 })]),
            new Map([['app.log', [pos({ headBytes: 2 ** 40 })]]]),
          ),
        );
        await assert.rejects(
          s.commitWithPositions(async () => {
            await s.appendLogs([makeLog({ lineNo: 5 })]);
            throw new Error('append failed');
          }, new Map()),
        );
        const logs = await s.query('SELECT line_no FROM logs ORDER BY line_no');
        assert.deepEqual(logs.rows, [[1], [2], [3]]);
        const saved = await s.tailPositions();
        assert.deepEqual(
          saved.map((p) => [p.path, p.ino, p.offset, p.lineNo, p.headBytes, p.updatedMs]),
          [
            ['app.log', '18446744073709551557', 4096, 40, 1024, 1_700_000_000_000],
            ['b.log', '9', 5000, 50, 1024, 1_700_000_000_000],
          ],
        );
        assert.equal(saved[0]!.headHash, 'ab'.repeat(32));
      }));

    void it('surfaces SQL errors as one-line QueryErrors', () =>
      withStore(async (s) => {
        for (const bad of ['SELEC 1', 'SELECT nope FROM logs', 'SELECT * FROM no_such_table']) {
          await assert.rejects(s.query(bad), (err: unknown) => {
            assert.ok(err instanceof QueryError, String(err));
            assert.ok(!err.message.includes('\n'), err.message);
            assert.equal(err.sql, bad);
            return true;
          });
        }
        // The store is still usable after an error.
        assert.deepEqual((await s.query('SELECT 1 + 1')).rows, [[2]]);
      }));

    void it('validates without running, and refuses more than one statement', () =>
      withStore(async (s) => {
        await s.appendLogs([makeLog()]);
        await s.validate('DELETE FROM logs');
        assert.deepEqual((await s.query('SELECT count(*) FROM logs')).rows, [[1]]);
        await assert.rejects(s.validate('SELECT 1; SELECT 2'), QueryError);
        await assert.rejects(s.validate('SELECT * FROM logs WHERE nope = 1'), QueryError);
      }));

    void it('cuts results at maxRows and says so', () =>
      withStore(async (s) => {
        await s.appendLogs(Array.from({ length: 3000 }, (_, i) => makeLog({ lineNo: i })));
        const r = await s.query('SELECT line_no FROM logs ORDER BY line_no', { maxRows: 10 });
        assert.equal(r.rows.length, 10);
        assert.equal(r.truncated, true);
        const all = await s.query('SELECT line_no FROM logs', { maxRows: 3000 });
        assert.equal(all.rows.length, 3000);
        assert.equal(all.truncated, false);
      }));

    void it('round-trips spans and points; reads one trace back in start order', () =>
      withStore(async (s) => {
        const root = makeSpan();
        const child = makeSpan({
          spanId: '1111111111111111',
          parentSpanId: root.spanId,
          service: null,
          name: 'inference',
          kind: 'internal',
          startUs: root.startUs + 1000,
          endUs: root.startUs + 200_000,
          status: 'error',
          statusMessage: 'CUDA out of memory',
          attributes: {},
          events: [],
          links: [{ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), attributes: { n: 1 } }],
          resource: {},
          scope: null,
        });
        const other = makeSpan({ traceId: 'ff'.repeat(16), spanId: '2222222222222222' });
        await s.appendSpans([child, other, root]);
        assert.deepEqual(await s.traceSpans(root.traceId), [root, child]);
        assert.deepEqual(await s.traceSpans('00'.repeat(16)), []);
        const d = await s.query(
          `SELECT span_id, duration_ms, start_us FROM spans WHERE trace_id = '${root.traceId}' ORDER BY start_us`,
        );
        assert.deepEqual(d.rows, [
          [root.spanId, 250, root.startUs],
          [child.spanId, 199, child.startUs],
        ]);

        await s.appendPoints([
          makePoint(),
          makePoint({
            name: 'latency_ms',
            labels: {},
            value: 0.25,
            kind: 'gauge',
            temporality: null,
            unit: null,
          }),
        ]);
        const p = await s.query(
          'SELECT name, ts_us, value, kind, temporality, unit, labels FROM points ORDER BY name',
        );
        assert.deepEqual(
          p.rows.map((r) => r.slice(0, 6)),
          [
            ['http_requests_total', 1_700_000_000_000_000, 42, 'sum', 'cumulative', '1'],
            ['latency_ms', 1_700_000_000_000_000, 0.25, 'gauge', null, null],
          ],
        );
        assert.deepEqual(JSON.parse(asText(p.rows[0]![6])), {
          'service.name': 'gateway',
          code: '200',
        });
        assert.equal(p.rows[1]![6], null);
      }));

    void it('removes spans and points with their input', () =>
      withStore(async (s) => {
        const id = await s.beginInput({
          path: 'trace.json',
          sizeBytes: 1,
          mtimeMs: 0,
          headHash: 'h',
          tailHash: 't',
          windowBytes: 1,
          kind: 'traces',
          format: 'otlp-json',
        });
        await s.appendSpans([makeSpan(), makeSpan({ spanId: '3333333333333333' })], id);
        await s.appendPoints([makePoint()], id);
        await s.appendSpans([makeSpan({ spanId: '4444444444444444' })]);
        assert.equal(await s.removeInput(id), 3);
        const left = await s.query(
          'SELECT (SELECT count(*) FROM spans), (SELECT count(*) FROM points)',
        );
        assert.deepEqual(left.rows, [[1, 0]]);
      }));

    void it('round-trips long strings: all-ASCII chunks, and chunks with one non-ASCII string or lone surrogate', () =>
      withStore(async (s) => {
        // Chunk 1 (rows 0–2047): every long string ASCII; chunk 2: one long non-ASCII body and one
        // lone surrogate; chunk 3: long strings of 13 bytes exactly, NULLs and short ones between.
        const n = 5000;
        const body = (i: number): string | null =>
          i === 3000
            ? `naïve ${'é'.repeat(40)} ${i}`
            : i === 3001
              ? `lone \ud800 surrogate ${i}`
              : i >= 4096
                ? i % 3 === 0
                  ? null
                  : i % 3 === 1
                    ? `s${i % 10}`
                    : `abcdefghi${String(i).padStart(4, '0')}`
                : `GET /v1/chat/completions?page=${i} ${'x'.repeat(i % 300)}`;
        const logs = Array.from({ length: n }, (_, i) =>
          makeLog({
            lineNo: i,
            body: body(i) ?? '',
            requestId: i % 2 ? `request-${i}-${'r'.repeat(i % 17)}` : null,
            attributes: { i, ua: 'openai-python/1.30.1', path: `/v1/x/${i}` },
          }),
        );
        for (let i = 4096; i < n; i++) if (body(i) === null) logs[i]!.body = null as never;
        await s.appendLogs(logs);
        const r = await s.query(
          'SELECT line_no, body, request_id, attributes FROM logs ORDER BY line_no',
        );
        assert.equal(r.rows.length, n);
        for (let i = 0; i < n; i++) {
          const want = i === 3001 ? `lone \ufffd surrogate ${i}` : body(i);
          assert.deepEqual(r.rows[i]!.slice(0, 3), [i, want, logs[i]!.requestId], `line ${i}`);
          assert.deepEqual(JSON.parse(asText(r.rows[i]![3])), logs[i]!.attributes);
        }
      }));

    void it('keeps every value of every column type across chunks (nulls, edges, constants)', () =>
      withStore(async (s) => {
        // Mixed inline (≤ 12 bytes) and long strings, non-ASCII short strings, NULLs at word
        // boundaries of the validity mask, negative and > 2^32 integers, a column constant in all
        // rows but one.
        const n = 4500;
        const logs = Array.from({ length: n }, (_, i) =>
          makeLog({
            lineNo: i,
            tsUs: i % 31 === 0 ? null : -5_000_000_000 + i * 1_000_003,
            severity: i % 64 === 63 ? null : 'INFO',
            body: i % 3 === 0 ? `b${i}` : i % 3 === 1 ? 'x'.repeat(12) + i : `é${i}`,
            requestId: i % 32 === 0 ? null : `r-${i}`.padEnd(12, '0'),
            httpStatus: i % 5 === 0 ? null : 100 + (i % 500),
            durationMs: i % 7 === 0 ? null : i / 8,
            file: i === 4000 ? 'other.log' : 'access.log',
            attributes: i % 2 ? {} : { i },
          }),
        );
        await s.appendLogs(logs);
        const r = await s.query(
          'SELECT line_no, ts_us, severity, body, request_id, http_status, duration_ms, file, attributes FROM logs ORDER BY line_no',
        );
        assert.equal(r.rows.length, n);
        for (let i = 0; i < n; i++) {
          const l = logs[i]!;
          const row = r.rows[i]!;
          const want = [
            i,
            l.tsUs,
            l.severity,
            l.body,
            l.requestId,
            l.httpStatus,
            l.durationMs,
            l.file,
          ];
          assert.deepEqual(row.slice(0, 8), want, `line ${i}`);
          if (i % 2) assert.equal(row[8], null);
          else assert.deepEqual(JSON.parse(asText(row[8])), { i });
        }
      }));
  });
}
