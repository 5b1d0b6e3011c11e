// HTTP/2 (h2c, cleartext) leg of the llm-stream lab, on Node's own http2 module.
//   node h2.mjs server ADDR PORT SEED TRUTH   OpenAI-style SSE chat completions over HTTP/2 DATA
//   node h2.mjs client ADDR PORT N SEED CONCURRENCY OUT
// The server draws its injected delays from (seed, x-request-id), records its own clock after the
// request body ended and right before writing each token chunk (TRUTH, JSON lines), exactly like
// server.py does for HTTP/1.1. The client multiplexes CONCURRENCY streams on one connection.
import http2 from 'node:http2';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { appendFileSync, writeFileSync } from 'node:fs';

const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;
const sleepUntil = (dueUs) =>
  new Promise((r) => setTimeout(r, Math.max(0, (dueUs - nowUs()) / 1000)));

function draw(seed, rid, salt) {
  const h = createHash('sha256').update(`${seed}:${salt}:${rid}`).digest();
  return Number(h.readBigUInt64BE(0)) / 2 ** 64;
}

function plan(seed, rid, maxTokens) {
  const n = Math.max(4, Math.min(maxTokens, 10 + Math.floor(draw(seed, rid, 'n') * 20)));
  const ttft = 70 + draw(seed, rid, 'ttft') * 200;
  const base = 15 + draw(seed, rid, 'base') * 20;
  const gaps = [];
  for (let i = 0; i < n - 1; i++) gaps.push(base + draw(seed, rid, `gap${i}`) * 25);
  let stallAt = null;
  if (draw(seed, rid, 'stall') < 0.4 && n > 6) {
    stallAt = 3 + Math.floor(draw(seed, rid, 'stall_at') * (n - 5));
    gaps[stallAt - 1] = 600 + draw(seed, rid, 'stall_ms') * 400;
  }
  return { tokens: n, ttft_ms: ttft, gaps_ms: gaps, stall_token: stallAt };
}

function server(addr, port, seed, truth) {
  const srv = http2.createServer();
  srv.on('connection', (sock) => sock.setNoDelay(true));
  srv.on('stream', (stream, headers) => {
    const chunks = [];
    stream.on('data', (b) => chunks.push(b));
    stream.on('end', () => {
      const tReq = nowUs();
      if (headers[':path'] === '/healthz') {
        stream.respond({ ':status': 200, 'content-type': 'text/plain' });
        stream.end('ok\n');
        return;
      }
      void handle(stream, headers, Buffer.concat(chunks), tReq).catch(() => stream.close());
    });
  });
  async function handle(stream, headers, raw, tReq) {
    const rid = String(headers['x-request-id'] ?? '');
    let body;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      stream.respond({ ':status': 400, 'content-type': 'application/json' });
      stream.end('{"error":{"message":"invalid JSON"}}');
      return;
    }
    const model = String(body.model ?? '');
    const p = plan(seed, rid, Number(body.max_tokens ?? 64));
    const id = `chatcmpl-h2-${rid}`;
    const created = Math.floor(Date.now() / 1000);
    const ev = (delta, finish = null) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    stream.respond({
      ':status': 200,
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'x-request-id': rid,
    });
    stream.write(ev({ role: 'assistant', content: '' }));
    const delays = [p.ttft_ms, ...p.gaps_ms];
    const sent = [];
    const after = [];
    let due = tReq;
    for (let i = 0; i < p.tokens; i++) {
      due += delays[i] * 1000;
      await sleepUntil(due);
      // Stamped right before the write: Node hands the DATA frame to the socket on this tick
      // (the write callback fires later and less regularly).
      sent.push(nowUs());
      stream.write(ev({ content: `${i ? ' ' : ''}tok${i}` }), () => {
        after[i] = nowUs();
      });
    }
    stream.write(ev({}, 'stop'));
    const u = { prompt_tokens: 9, completion_tokens: p.tokens, total_tokens: 9 + p.tokens };
    stream.write(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: u })}\n\n`,
    );
    await new Promise((r) => stream.end('data: [DONE]\n\n', r));
    appendFileSync(
      truth,
      JSON.stringify({
        request_id: rid,
        protocol: 'HTTP/2',
        model,
        stream: true,
        status: 200,
        t_request_us: tReq,
        t_tokens_us: sent,
        // Each token left between these two stamps: before the write, and its flush callback.
        t_tokens_before_us: sent,
        t_tokens_after_us: sent.map((t, i) => after[i] ?? t),
        t_done_us: nowUs(),
        tokens: p.tokens,
        injected: p,
        ttft_ms: (sent[0] - tReq) / 1000,
        gaps_ms: sent.slice(1).map((t, i) => (t - sent[i]) / 1000),
      }) + '\n',
    );
  }
  srv.listen(port, addr, () => process.stdout.write(`listening on ${addr}:${port}\n`));
  process.on('SIGTERM', () => srv.close(() => process.exit(0)));
}

async function client(addr, port, n, seed, conc, out) {
  writeFileSync(out, '');
  const session = http2.connect(`http://${addr}:${port}`, {
    createConnection: () => net.connect({ host: addr, port, noDelay: true }),
  });
  // Connected before the first stamp: t_sent_us is the request, not the handshake.
  await new Promise((resolve, reject) => {
    session.once('connect', resolve);
    session.once('error', reject);
  });
  // One health check first (not an ML request, not in the truth): Node's first request and
  // response on a session run cold code paths that would skew the first stamps by 2-5 ms.
  await new Promise((resolve) => {
    const req = session.request({ ':method': 'GET', ':path': '/healthz' });
    req.on('data', () => undefined);
    req.on('end', resolve);
    req.on('error', resolve);
    req.end();
  });
  const one = (i) =>
    new Promise((resolve) => {
      const rid = `h2-${seed}-${String(i).padStart(4, '0')}`;
      const body = JSON.stringify({
        model: i % 3 === 0 ? 'lab-llm-large' : 'lab-llm-small',
        messages: [{ role: 'user', content: `question ${i} about HTTP/2 flow control` }],
        stream: true,
        max_tokens: 40,
      });
      const rec = { request_id: rid, protocol: 'HTTP/2', t_sent_us: nowUs() };
      const req = session.request({
        ':method': 'POST',
        ':path': '/v1/chat/completions',
        'content-type': 'application/json',
        'x-request-id': rid,
      });
      req.on('response', (h) => (rec.status = h[':status']));
      let bytes = 0;
      req.on('data', (b) => {
        rec.t_first_byte_us ??= nowUs();
        bytes += b.length;
      });
      req.on('end', () => {
        rec.t_last_us = nowUs();
        rec.bytes = bytes;
        appendFileSync(out, JSON.stringify(rec) + '\n');
        resolve();
      });
      req.on('error', (e) => {
        rec.error = String(e);
        appendFileSync(out, JSON.stringify(rec) + '\n');
        resolve();
      });
      // The request left between t_sent_us and this flush callback.
      req.end(body, () => {
        rec.t_sent_after_us = nowUs();
      });
    });
  let next = 0;
  // Lanes start 40 ms apart: streams still overlap on the connection, but no two requests are
  // stamped in the same tick (the later ones would leave only after the earlier ones' writes).
  const lane = async (_, k) => {
    await new Promise((r) => setTimeout(r, 40 * k));
    while (next < n) await one(next++);
  };
  await Promise.all(Array.from({ length: conc }, lane));
  session.close();
}

const [mode, ...a] = process.argv.slice(2);
if (mode === 'server') server(a[0], Number(a[1]), Number(a[2]), a[3]);
else if (mode === 'client')
  await client(a[0], Number(a[1]), Number(a[2]), Number(a[3]), Number(a[4]), a[5]);
else {
  process.stderr.write('usage: h2.mjs server|client …\n');
  process.exit(2);
}
