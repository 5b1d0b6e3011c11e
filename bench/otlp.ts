// OTLP/HTTP load generator: sends pre-encoded ExportTraceServiceRequest protobuf batches (written
// with this file's own small encoder) to a spawned receiver (server/server.ts in a child process,
// loopback, in-memory DuckDB unless --db) for a bounded time, then stops it gracefully and prints
// spans/s sustained, acknowledged vs stored counts (must be equal) and the server's peak RSS.
//
//   node --import tsx bench/otlp.ts [--seconds 10] [--batch 1000] [--clients 4] [--db FILE] [--gzip]

import { fork } from 'node:child_process';
import { request, Agent } from 'node:http';
import { gzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';

// ---- a small protobuf encoder (field numbers from trace.proto / common.proto) ---------------------

class Enc {
  buf = new Uint8Array(1 << 16);
  len = 0;
  private grow(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  varint(v: number): this {
    this.grow(10);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
    return this;
  }
  bytes(field: number, b: Uint8Array): this {
    this.varint((field << 3) | 2).varint(b.length);
    this.grow(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }
  str(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s));
  }
  msg(field: number, e: Enc): this {
    return this.bytes(field, e.done());
  }
  fixed64(field: number, v: bigint): this {
    this.varint((field << 3) | 1);
    this.grow(8);
    new DataView(this.buf.buffer).setBigUint64(this.len, v, true);
    this.len += 8;
    return this;
  }
  uint(field: number, v: number): this {
    return this.varint(field << 3).varint(v);
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function kvString(k: string, v: string): Enc {
  return new Enc().str(1, k).msg(2, new Enc().str(1, v));
}
function kvInt(k: string, v: number): Enc {
  return new Enc().str(1, k).msg(2, new Enc().uint(3, v));
}

const ROUTES = ['/v1/chat/completions', '/v1/embeddings', '/v1/completions', '/healthz'];

/** One request: `n` spans in traces of 5 spans (1 server root + 4 children). */
function encodeBatch(seed: number, n: number): Uint8Array {
  const scope = new Enc().msg(1, new Enc().str(1, 'bench').str(2, '1.0'));
  const t0 = BigInt(Date.now()) * 1_000_000n;
  const id = Buffer.alloc(16);
  const sid = Buffer.alloc(8);
  const parent = Buffer.alloc(8);
  for (let i = 0; i < n; i++) {
    const trace = Math.floor(i / 5);
    id.writeUInt32BE(seed, 0);
    id.writeUInt32BE(trace + 1, 12);
    sid.writeUInt32BE(seed, 0);
    sid.writeUInt32BE(i + 1, 4);
    const root = i % 5 === 0;
    const s = new Enc().bytes(1, id).bytes(2, sid);
    if (!root) {
      parent.writeUInt32BE(seed, 0);
      parent.writeUInt32BE(trace * 5 + 1, 4);
      s.bytes(4, parent);
    }
    const start = t0 + BigInt(i) * 1000n;
    s.str(5, root ? 'POST /v1/chat/completions' : `step-${i % 5}`)
      .uint(6, root ? 2 : 1)
      .fixed64(7, start)
      .fixed64(8, start + BigInt(1_000_000 + (i % 7) * 100_000));
    s.msg(9, kvString('http.route', ROUTES[trace % ROUTES.length]!));
    s.msg(9, kvInt('http.response.status_code', trace % 50 === 0 ? 503 : 200));
    s.msg(9, kvString('gen_ai.request.model', 'llama-3-8b'));
    s.msg(9, kvInt('gen_ai.usage.output_tokens', 100 + (i % 50)));
    scope.msg(2, s);
  }
  const resource = new Enc()
    .msg(1, kvString('service.name', 'bench-svc'))
    .msg(1, kvString('host.name', 'h1'));
  return new Enc().msg(1, new Enc().msg(1, resource).msg(2, scope)).done();
}

// ---- server child ---------------------------------------------------------------------------------

async function serverChild(db: string): Promise<void> {
  const { startServer } = await import('../src/server/server.js');
  const { openTelemetryStore } = await import('../src/server/telemetry-store.js');
  const store = await openTelemetryStore(db);
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 50);
  const srv = await startServer({ store, port: 0, otlpPort: null, maxBodyBytes: 64 << 20 });
  const counts = store.counts.bind(store);
  const close = store.close.bind(store);
  let stored = -1;
  store.close = async () => {
    stored = (await counts()).spans;
    await close();
  };
  process.send!({ port: srv.port });
  process.on('message', (m: { stop?: boolean }) => {
    if (!m.stop) return;
    const t0 = performance.now();
    void srv.close().then(() => {
      const drainMs = performance.now() - t0;
      clearInterval(sampler);
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
      process.send!({ acknowledged: srv.acknowledged.spans, stored, peakRss, drainMs }, () =>
        process.exit(0),
      );
    });
  });
}

// ---- load generator -------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      batch: { type: 'string', default: '1000' },
      clients: { type: 'string', default: '4' },
      db: { type: 'string', default: ':memory:' },
      gzip: { type: 'boolean', default: false },
      server: { type: 'boolean', default: false },
    },
  });
  if (values.server) return serverChild(values.db);
  const seconds = Number(values.seconds);
  const batch = Number(values.batch);
  const clients = Number(values.clients);
  const bodies = Array.from({ length: 32 }, (_, i) => {
    const b = encodeBatch(i + 1, batch);
    return values.gzip ? gzipSync(b) : b;
  });
  const child = fork(new URL(import.meta.url).pathname, ['--server', '--db', values.db], {
    execArgv: ['--import', 'tsx'],
  });
  const port = await new Promise<number>((resolve) =>
    child.once('message', (m: { port: number }) => resolve(m.port)),
  );
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const send = (body: Uint8Array): Promise<number> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = {
        'content-type': 'application/x-protobuf',
        'content-length': String(body.length),
      };
      if (values.gzip) headers['content-encoding'] = 'gzip';
      const req = request(
        { host: '127.0.0.1', port, method: 'POST', path: '/v1/traces', agent, headers },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  let sent = 0;
  let okSpans = 0;
  const statuses: Record<number, number> = {};
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      let i = c;
      while (performance.now() < deadline) {
        const st = await send(bodies[i % bodies.length]!);
        statuses[st] = (statuses[st] ?? 0) + 1;
        sent++;
        if (st === 200) okSpans += batch;
        i += clients;
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  agent.destroy();
  child.send({ stop: true });
  const res = await new Promise<{
    acknowledged: number;
    stored: number;
    peakRss: number;
    drainMs: number;
  }>((resolve) =>
    child.once(
      'message',
      (m: { acknowledged: number; stored: number; peakRss: number; drainMs: number }) => resolve(m),
    ),
  );
  // Sustained = stored by the end of the shutdown drain, so a queue that only grew does not count.
  const rate = res.stored / (elapsed + res.drainMs / 1000);
  process.stdout.write(
    [
      `requests ${sent} (${JSON.stringify(statuses)}) of ${batch} spans, ${clients} clients, ${elapsed.toFixed(1)} s${values.gzip ? ', gzip' : ''}, store ${values.db}`,
      `spans/s sustained (acknowledged and stored, incl. ${(res.drainMs / 1000).toFixed(2)} s shutdown drain): ${Math.round(rate)}   (target ≥ 50000: ${rate >= 50_000 ? 'met' : 'NOT met'})`,
      `acknowledged ${res.acknowledged}   stored ${res.stored}   client-counted ${okSpans}   ${res.acknowledged === res.stored && res.stored === okSpans ? 'equal' : 'MISMATCH'}`,
      `server peak RSS ${(res.peakRss / 2 ** 20).toFixed(0)} MiB`,
    ].join('\n') + '\n',
  );
  if (res.acknowledged !== res.stored) process.exitCode = 1;
}

await main();
