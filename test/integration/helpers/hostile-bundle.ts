// A tiny log-only incident bundle whose attacker-controlled fields (request path, user agent,
// request id, an app error message) carry HTML/JS payloads, for checking that reports escape
// everything that came from input. Written the way the real producers write it: nginx's
// access log escapes `"` as `\x22` (escape=default), a JSON app log (one object per line) keeps
// the raw characters.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const SCRIPT = '<script>alert(1)</script>';
export const IMG = '"><img src=x onerror=alert(2)>';
/** A request id without spaces (nginx's `rid=` token ends at a space) that is itself markup. */
export const HOSTILE_RID = 'rid"><svg/onload=alert(3)>';

/** nginx escape=default: `"`, `\` and bytes outside 0x20–0x7e as \xHH. */
const nginxEscape = (s: string): string =>
  s.replace(
    // eslint-disable-next-line no-control-regex
    /["\\\x00-\x1f\x7f-\uffff]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );

export interface HostileBundle {
  dir: string;
  /** The request path as the access-log parser yields it (nginx-escaped quotes kept). */
  loggedPath: string;
  slowMs: number;
  /** Requests in the access log. */
  requests: number;
}

/** Writes DIR/logs/nginx-access.log and DIR/logs/app-8000.jsonl. */
export function writeHostileBundle(dir: string): HostileBundle {
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const t0 = Date.UTC(2026, 10, 28, 8, 52, 47);
  const path = `/predict?q=${SCRIPT}&next=${IMG}`;
  const ua = `${SCRIPT} ${IMG}`;
  const access: string[] = [];
  const app: string[] = [];
  const stamp = (ms: number): string => {
    const d = new Date(ms);
    const mon = 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' ')[d.getUTCMonth()]!;
    const p = (n: number): string => String(n).padStart(2, '0');
    return `${p(d.getUTCDate())}/${mon}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
  };
  const line = (o: {
    endMs: number;
    method: string;
    path: string;
    status: number;
    ua: string;
    rtMs: number;
    upstreamMs: number;
    rid: string;
  }): string =>
    `10.10.0.5 - - [${stamp(o.endMs)}] "${o.method} ${nginxEscape(o.path)} HTTP/1.1" ${o.status} 85 "-" "${nginxEscape(o.ua)}"` +
    ` rt=${(o.rtMs / 1000).toFixed(3)} uct="0.001" uht="${(o.upstreamMs / 1000).toFixed(3)}" urt="${(o.upstreamMs / 1000).toFixed(3)}"` +
    ` ua="10.10.2.20:8000" us="${o.status}" rid=${o.rid} msec=${(o.endMs / 1000).toFixed(3)}`;
  const appLine = (o: Record<string, unknown>): string => JSON.stringify(o);
  // A dozen ordinary fast requests, so the hostile ones stand out against a baseline.
  for (let i = 0; i < 12; i++) {
    const endMs = t0 + i * 200;
    const rid = `0000000000000000000000000000${String(i).padStart(4, '0')}`;
    access.push(
      line({
        endMs,
        method: 'POST',
        path: '/predict',
        status: 200,
        ua: 'ml-gateway-client/1.4',
        rtMs: 40,
        upstreamMs: 39,
        rid,
      }),
    );
    app.push(
      appLine({
        ts: new Date(endMs - 1).toISOString(),
        level: 'INFO',
        logger: 'model_server',
        event: 'prediction',
        request_id: rid,
        inference_ms: 37.5,
        status: 200,
      }),
    );
  }
  // Slow, served: the path and user agent carry the payloads.
  const slowEnd = t0 + 3000;
  const slowRid = 'hostile00000000000000000000000001';
  access.push(
    line({
      endMs: slowEnd,
      method: 'GET',
      path,
      status: 200,
      ua,
      rtMs: 1200,
      upstreamMs: 1195,
      rid: slowRid,
    }),
  );
  app.push(
    appLine({
      ts: new Date(slowEnd - 2).toISOString(),
      level: 'INFO',
      logger: 'model_server',
      event: 'prediction',
      request_id: slowRid,
      model: `${SCRIPT}${IMG}`,
      inference_ms: 1150.25,
      status: 200,
    }),
  );
  // Failed: a markup request id, and an app error message with raw quotes and tags.
  const failEnd = t0 + 3400;
  access.push(
    line({
      endMs: failEnd,
      method: 'POST',
      path: `/gen/predict#${IMG}`,
      status: 500,
      ua,
      rtMs: 420,
      upstreamMs: 418,
      rid: HOSTILE_RID,
    }),
  );
  app.push(
    appLine({
      ts: new Date(failEnd - 3).toISOString(),
      level: 'ERROR',
      logger: 'model_server',
      event: 'prediction_failed',
      message: `prediction failed: ${IMG} ${SCRIPT}`,
      request_id: HOSTILE_RID,
      inference_ms: 410,
      status: 500,
    }),
  );
  writeFileSync(join(dir, 'logs', 'nginx-access.log'), access.join('\n') + '\n');
  writeFileSync(join(dir, 'logs', 'app-8000.jsonl'), app.join('\n') + '\n');
  return {
    dir,
    loggedPath: `/predict?q=${SCRIPT}&next=${nginxEscape(IMG)}`,
    slowMs: 300,
    requests: access.length,
  };
}
