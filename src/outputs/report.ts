// Incident reports from an investigation: Markdown, and a self-contained HTML file (inline CSS and
// SVG charts, no scripts, no network) with a summary, timeline, latency histogram, breakdown by
// cause, waterfalls of the slowest requests, evidence, a 5-Whys section prefilled from the findings
// and data quality. Everything that came from input is escaped. Pure.

import type { Investigation } from '../analyzers/investigate/investigate.js';

interface DocLike {
  dataQuality: {
    source: string;
    format: string;
    records: number;
    skipped: number;
    skippedByReason: Record<string, number>;
    error: string | null;
  }[];
}

const CAUSE_COLORS: Record<string, string> = {
  none: '#9aa5b1',
  network: '#2f80ed',
  queueing: '#f2994a',
  inference: '#9b51e0',
  'upstream-error': '#eb5757',
  client: '#27ae60',
  unknown: '#4f4f4f',
};
const PART_COLORS = {
  network: '#2f80ed',
  queueing: '#f2994a',
  inference: '#9b51e0',
  other: '#bdbdbd',
} as const;

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** Markdown-safe text: escapes characters with Markdown meaning and strips control characters. */
export function escapeMd(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '').replace(/([\\`*_{}[\]()#+!|<>])/g, '\\$1');
}

/** Axis label for a power of ten of milliseconds. */
const tick = (ms: number): string => (ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`);
const fmt = (ms: number | null): string =>
  ms === null ? '-' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;

function fiveWhys(inv: Investigation): string[] {
  const top = inv.findings[0];
  if (!top)
    return [
      'Why were requests slow or failing? No slow or failed requests were found in the data given.',
    ];
  const whys = [
    `Why did users see slow or failed requests? ${inv.requests.slow} were slower than ${inv.requests.slowMs} ms and ${inv.requests.failed} failed.`,
  ];
  whys.push(`Why? The largest group: ${top.title}.`);
  const ev = top.evidence[0];
  if (ev) whys.push(`Why did that happen? Evidence: ${ev}.`);
  const second = inv.findings[1];
  if (second) whys.push(`What else contributed? ${second.title}.`);
  whys.push('Why was it not caught earlier? (to fill in: alerting, capacity, change history)');
  return whys;
}

export function renderMarkdownReport(inv: Investigation, doc: DocLike): string {
  const r = inv.requests;
  const l = inv.latency;
  const out: string[] = [];
  out.push('# Incident report (mlscope investigate)', '');
  out.push('## Summary', '');
  out.push(
    `- ${r.total} requests; ${r.slow} slow (≥ ${r.slowMs} ms, ${r.slowMsSource}); ${r.failed} failed.`,
  );
  out.push(
    `- Latency p50 ${fmt(l.p50Ms)}, p90 ${fmt(l.p90Ms)}, p99 ${fmt(l.p99Ms)}, max ${fmt(l.maxMs)}.`,
  );
  const byCause = causeCounts(inv);
  out.push(
    `- Causes of slow and failed requests: ${[...byCause].map(([c, n]) => `${c} ${n}`).join(', ') || 'none'}.`,
    '',
  );
  out.push('## Findings', '');
  inv.findings.forEach((f, i) => {
    out.push(
      `${i + 1}. **${escapeMd(f.title)}** (${f.cause}, ${f.requests} requests, confidence ${f.confidence.toFixed(2)})`,
    );
    for (const e of f.evidence.slice(0, 5)) out.push(`   - ${escapeMd(e)}`);
  });
  out.push('', '## Slowest requests', '');
  out.push(
    '| request id | path | status | total | network | queueing | inference | other | cause |',
  );
  out.push('|---|---|---|---|---|---|---|---|---|');
  for (const s of inv.slowRequests.slice(0, 30)) {
    out.push(
      `| ${escapeMd(s.requestId)} | ${escapeMd(s.path)} | ${s.status || '-'} | ${fmt(s.totalMs)} | ${fmt(s.breakdownMs.network)} | ${fmt(s.breakdownMs.queueing)} | ${fmt(s.breakdownMs.inference)} | ${fmt(s.breakdownMs.other)} | ${s.cause} |`,
    );
  }
  out.push('', '## Evidence (slowest 10)', '');
  for (const s of inv.slowRequests.slice(0, 10)) {
    out.push(`- **${escapeMd(s.requestId)}** (${s.cause})`);
    for (const e of s.evidence) out.push(`  - ${escapeMd(e)}`);
  }
  out.push('', '## 5 Whys (prefilled from the findings)', '');
  fiveWhys(inv).forEach((w, i) => out.push(`${i + 1}. ${escapeMd(w)}`));
  out.push('', '## Clock offsets', '');
  if (inv.clockSkew.length === 0) out.push('No log source could be matched against a capture.');
  for (const s of inv.clockSkew)
    out.push(
      `- ${escapeMd(s.source)}: ${s.offsetMs} ms ± ${s.uncertaintyMs} (${s.pairs} pairs, resolution ${s.resolutionMs} ms)`,
    );
  if (inv.notes.length > 0) {
    out.push('', '## How partial evidence was read', '');
    for (const n of inv.notes) out.push(`- ${escapeMd(n)}`);
  }
  out.push('', '## Data quality', '');
  out.push('| input | format | records | skipped | reasons |', '|---|---|---|---|---|');
  for (const q of doc.dataQuality) {
    out.push(
      `| ${escapeMd(q.source)} | ${escapeMd(q.format)} | ${q.records} | ${q.skipped} | ${escapeMd(
        Object.entries(q.skippedByReason)
          .map(([k, v]) => `${k} ${v}`)
          .join(', '),
      )}${q.error ? ` — ${escapeMd(q.error)}` : ''} |`,
    );
  }
  const u = inv.unjoined;
  out.push(
    '',
    `Not joined: ${u.exchangesWithoutRequestId} exchanges without a request id, ${u.requestsWithoutLogs} requests without log lines, ${u.logLinesWithoutRequest} log lines whose request id matched no request.`,
    '',
  );
  return out.join('\n');
}

function causeCounts(inv: Investigation): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of inv.slowRequests) m.set(s.cause, (m.get(s.cause) ?? 0) + 1);
  return new Map([...m].sort((a, b) => b[1] - a[1]));
}

// ---- SVG charts --------------------------------------------------------------------------------

function timelineSvg(inv: Investigation): string {
  const pts = inv.all;
  const W = 900;
  const H = 260;
  const P = 46;
  if (pts.length === 0) return '<p>No requests.</p>';
  const t0 = Math.min(...pts.map((p) => p.startUs));
  const t1 = Math.max(...pts.map((p) => p.startUs));
  const maxMs = Math.max(...pts.map((p) => p.totalMs), inv.requests.slowMs) * 1.05;
  const lmin = Math.log10(Math.max(1, Math.min(...pts.map((p) => Math.max(1, p.totalMs)))));
  const lmax = Math.log10(Math.max(10, maxMs));
  const x = (t: number): number => P + ((t - t0) / Math.max(1, t1 - t0)) * (W - P - 10);
  const y = (ms: number): number =>
    H - 30 - ((Math.log10(Math.max(1, ms)) - lmin) / Math.max(0.1, lmax - lmin)) * (H - 50);
  const dots = pts
    .map(
      (p) =>
        `<circle cx="${x(p.startUs).toFixed(1)}" cy="${y(p.totalMs).toFixed(1)}" r="3" fill="${CAUSE_COLORS[p.cause] ?? '#000'}"><title>${escapeHtml(`${p.path} ${p.status} ${fmt(p.totalMs)} ${p.cause}`)}</title></circle>`,
    )
    .join('');
  const ticks = [1, 10, 100, 1000, 10000, 100000].filter(
    (v) => Math.log10(v) >= lmin - 0.01 && Math.log10(v) <= lmax + 0.01,
  );
  const axis = ticks
    .map(
      (v) =>
        `<line x1="${P}" x2="${W - 10}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/><text x="${P - 6}" y="${y(v) + 4}" text-anchor="end">${tick(v)}</text>`,
    )
    .join('');
  const slow = `<line x1="${P}" x2="${W - 10}" y1="${y(inv.requests.slowMs)}" y2="${y(inv.requests.slowMs)}" stroke="#eb5757" stroke-dasharray="4 3"/><text x="${W - 12}" y="${y(inv.requests.slowMs) - 4}" text-anchor="end" fill="#eb5757">slow ≥ ${inv.requests.slowMs} ms</text>`;
  const span = (t1 - t0) / 1e6;
  return `<svg class="chart" id="timeline" viewBox="0 0 ${W} ${H}" role="img" aria-label="request latency over time">${axis}${slow}${dots}<text x="${P}" y="${H - 8}">0 s</text><text x="${W - 10}" y="${H - 8}" text-anchor="end">${span.toFixed(1)} s</text></svg>`;
}

function histogramSvg(inv: Investigation): string {
  const W = 900;
  const H = 220;
  const P = 46;
  const vals = inv.all.map((p) => Math.max(1, p.totalMs));
  if (vals.length === 0) return '';
  const lo = Math.floor(Math.log10(Math.min(...vals)) * 4) / 4;
  const hi = Math.ceil(Math.log10(Math.max(...vals)) * 4) / 4 + 0.25;
  const nb = Math.max(1, Math.round((hi - lo) * 8));
  const bins = new Array<number>(nb).fill(0);
  const slowBins = new Array<number>(nb).fill(0);
  for (const p of inv.all) {
    const b = Math.min(
      nb - 1,
      Math.max(0, Math.floor(((Math.log10(Math.max(1, p.totalMs)) - lo) / (hi - lo)) * nb)),
    );
    bins[b]!++;
    if (p.cause !== 'none') slowBins[b]!++;
  }
  const maxC = Math.max(...bins);
  const bw = (W - P - 10) / nb;
  const bars = bins
    .map((c, i) => {
      const h = (c / maxC) * (H - 50);
      const hs = (slowBins[i]! / maxC) * (H - 50);
      const from = 10 ** (lo + ((hi - lo) * i) / nb);
      return (
        `<rect x="${(P + i * bw).toFixed(1)}" y="${(H - 30 - h).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="#9aa5b1"><title>${fmt(from)}: ${c} requests</title></rect>` +
        (hs > 0
          ? `<rect x="${(P + i * bw).toFixed(1)}" y="${(H - 30 - hs).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${hs.toFixed(1)}" fill="#eb5757"/>`
          : '')
      );
    })
    .join('');
  const labels = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const v = 10 ** (lo + (hi - lo) * f);
    return `<text x="${(P + f * (W - P - 10)).toFixed(1)}" y="${H - 10}" text-anchor="middle">${fmt(v)}</text>`;
  });
  return `<svg class="chart" id="histogram" viewBox="0 0 ${W} ${H}" role="img" aria-label="latency histogram">${bars}${labels.join('')}<text x="${P}" y="14">requests per latency bucket (log scale); red: slow or failed</text></svg>`;
}

function breakdownSvg(inv: Investigation): string {
  const groups = new Map<
    string,
    { network: number; queueing: number; inference: number; other: number; n: number }
  >();
  for (const s of inv.slowRequests) {
    let g = groups.get(s.cause);
    if (!g) groups.set(s.cause, (g = { network: 0, queueing: 0, inference: 0, other: 0, n: 0 }));
    g.network += s.breakdownMs.network;
    g.queueing += s.breakdownMs.queueing;
    g.inference += s.breakdownMs.inference;
    g.other += s.breakdownMs.other;
    g.n++;
  }
  if (groups.size === 0) return '<p>No slow or failed requests.</p>';
  const W = 900;
  const rowH = 28;
  const H = groups.size * rowH + 40;
  const L = 140;
  const rows = [...groups.entries()].sort((a, b) => b[1].n - a[1].n);
  const maxT = Math.max(...rows.map(([, g]) => g.network + g.queueing + g.inference + g.other));
  const out = rows.map(([cause, g], i) => {
    let xx = L;
    const segs = (['network', 'queueing', 'inference', 'other'] as const)
      .map((k) => {
        const w = (g[k] / maxT) * (W - L - 20);
        const r = `<rect x="${xx.toFixed(1)}" y="${10 + i * rowH}" width="${Math.max(0, w).toFixed(1)}" height="${rowH - 8}" fill="${PART_COLORS[k]}"><title>${k}: ${fmt(g[k] / g.n)} per request</title></rect>`;
        xx += w;
        return r;
      })
      .join('');
    return `<text x="${L - 8}" y="${10 + i * rowH + 15}" text-anchor="end">${escapeHtml(cause)} (${g.n})</text>${segs}`;
  });
  const legend = (['network', 'queueing', 'inference', 'other'] as const)
    .map(
      (k, i) =>
        `<rect x="${L + i * 120}" y="${H - 20}" width="12" height="12" fill="${PART_COLORS[k]}"/><text x="${L + i * 120 + 16}" y="${H - 10}">${k}</text>`,
    )
    .join('');
  return `<svg class="chart" id="breakdown" viewBox="0 0 ${W} ${H}" role="img" aria-label="time by part, per cause">${out.join('')}${legend}</svg>`;
}

function waterfallSvg(s: Investigation['slowRequests'][number]): string {
  const W = 860;
  const H = 26;
  const parts = (['network', 'queueing', 'inference', 'other'] as const).filter(
    (k) => s.breakdownMs[k] > 0,
  );
  const total = Math.max(
    1e-9,
    parts.reduce((a, k) => a + s.breakdownMs[k], 0),
  );
  let xx = 0;
  const rects = parts
    .map((k) => {
      const w = (s.breakdownMs[k] / total) * W;
      const r =
        `<rect x="${xx.toFixed(1)}" y="2" width="${w.toFixed(1)}" height="${H - 4}" fill="${PART_COLORS[k]}"><title>${k}: ${fmt(s.breakdownMs[k])}</title></rect>` +
        (w > 70
          ? `<text x="${(xx + 4).toFixed(1)}" y="${H - 9}" fill="#fff">${k} ${fmt(s.breakdownMs[k])}</text>`
          : '');
      xx += w;
      return r;
    })
    .join('');
  return `<svg class="waterfall" viewBox="0 0 ${W} ${H}" role="img" aria-label="latency breakdown">${rects}</svg>`;
}

export function renderHtmlReport(inv: Investigation, doc: DocLike): string {
  const r = inv.requests;
  const l = inv.latency;
  const e = escapeHtml;
  const causes = [...causeCounts(inv)];
  const findings = inv.findings
    .map(
      (f) =>
        `<li><b>${e(f.title)}</b> <span class="tag" style="background:${CAUSE_COLORS[f.cause] ?? '#333'}">${e(f.cause)}</span> <span class="muted">${f.requests} requests, confidence ${f.confidence.toFixed(2)}</span><ul>${f.evidence
          .slice(0, 5)
          .map((x) => `<li>${e(x)}</li>`)
          .join('')}</ul></li>`,
    )
    .join('');
  const slowest = inv.slowRequests
    .slice(0, 15)
    .map(
      (s) =>
        `<tr><td><code>${e(s.requestId)}</code></td><td>${e(s.path)}</td><td>${s.status || '-'}</td><td class="num">${fmt(s.totalMs)}</td><td><span class="tag" style="background:${CAUSE_COLORS[s.cause] ?? '#333'}">${e(s.cause)}</span></td><td>${waterfallSvg(s)}</td></tr>`,
    )
    .join('');
  const evidence = inv.slowRequests
    .slice(0, 15)
    .map(
      (s) =>
        `<tr><td><code>${e(s.requestId)}</code></td><td><ul>${s.evidence.map((x) => `<li>${e(x)}</li>`).join('')}</ul></td></tr>`,
    )
    .join('');
  const dq = doc.dataQuality
    .map(
      (q) =>
        `<tr><td>${e(q.source)}</td><td>${e(q.format)}</td><td class="num">${q.records}</td><td class="num">${q.skipped}</td><td>${e(
          Object.entries(q.skippedByReason)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
        )}${q.error ? ` — ${e(q.error)}` : ''}</td></tr>`,
    )
    .join('');
  const skew = inv.clockSkew
    .map(
      (s) =>
        `<li>${e(s.source)}: ${s.offsetMs} ms ± ${s.uncertaintyMs} (${s.pairs} pairs, ${s.resolutionMs} ms resolution)</li>`,
    )
    .join('');
  const u = inv.unjoined;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>mlscope incident report</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:980px;color:#1f2933;padding:0 12px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #e4e7eb;padding-bottom:4px}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid #e4e7eb;border-radius:8px;padding:10px 14px;min-width:120px}
.card b{display:block;font-size:20px}.muted{color:#7b8794}.num{text-align:right;white-space:nowrap}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #f0f2f5;padding:4px 6px;vertical-align:top;text-align:left}
.tag{color:#fff;border-radius:4px;padding:1px 6px;font-size:12px}svg.chart{width:100%;height:auto;font-size:11px;fill:#52606d}
svg.waterfall{width:360px;height:18px;font-size:11px}code{font-size:12px;word-break:break-all}ul{margin:4px 0 8px 18px;padding:0}
</style></head><body>
<h1>Incident report</h1>
<p class="muted">Generated by mlscope investigate. Slow means ≥ ${r.slowMs} ms (${e(r.slowMsSource)}).</p>
<section id="summary"><h2>Summary</h2><div class="cards">
<div class="card"><b>${r.total}</b>requests</div><div class="card"><b>${r.slow}</b>slow</div><div class="card"><b>${r.failed}</b>failed</div>
<div class="card"><b>${fmt(l.p50Ms)}</b>p50</div><div class="card"><b>${fmt(l.p99Ms)}</b>p99</div></div>
<p>Causes of slow and failed requests: ${causes.map(([c, n]) => `<span class="tag" style="background:${CAUSE_COLORS[c] ?? '#333'}">${e(c)} ${n}</span>`).join(' ') || 'none'}</p></section>
<section id="findings"><h2>Findings</h2><ol>${findings || '<li>No slow or failed requests.</li>'}</ol></section>
<section><h2>Timeline</h2>${timelineSvg(inv)}</section>
<section><h2>Latency histogram</h2>${histogramSvg(inv)}</section>
<section><h2>Where the time went, by cause</h2>${breakdownSvg(inv)}</section>
<section><h2>Slowest requests</h2><table><tr><th>request id</th><th>path</th><th>status</th><th>total</th><th>cause</th><th>breakdown</th></tr>${slowest}</table></section>
<section><h2>Evidence</h2><table>${evidence}</table></section>
<section><h2>5 Whys</h2><ol>${fiveWhys(inv)
    .map((w) => `<li>${e(w)}</li>`)
    .join('')}</ol></section>
<section><h2>Clock offsets</h2><ul>${skew || '<li>No log source could be matched against a capture.</li>'}</ul></section>
${inv.notes.length > 0 ? `<section><h2>How partial evidence was read</h2><ul>${inv.notes.map((n) => `<li>${e(n)}</li>`).join('')}</ul></section>` : ''}
<section><h2>Data quality</h2><table><tr><th>input</th><th>format</th><th>records</th><th>skipped</th><th>reasons</th></tr>${dq}</table>
<p class="muted">Not joined: ${u.exchangesWithoutRequestId} exchanges without a request id, ${u.requestsWithoutLogs} requests without log lines, ${u.logLinesWithoutRequest} log lines whose request id matched no request.</p></section>
</body></html>
`;
}
