// The self-contained HTML incident report in a real browser (headless Debian chromium through
// playwright-core): `mlscope investigate --out DIR` on the example bundle, then DIR/report.html
// must load without console or page errors and without a single network request beyond the file
// itself, and its SVG charts must render with one mark per request. A second, hand-made log-only
// bundle carries script/img payloads in the path, user agent, request id and an app error; the
// report must show them as text: no dialog, no injected elements. Skips (outside CI) without
// /usr/bin/chromium.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { investigateCommand, type InvestigationDoc } from '../../src/cli/commands/investigate.js';
import { runCommand } from './helpers/run-command.js';
import { chromiumSkipReason, launchChromium, type Browser } from './helpers/browser.js';
import { writeHostileBundle, SCRIPT, IMG, HOSTILE_RID } from './helpers/hostile-bundle.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/slow-endpoint/bundle', import.meta.url));

const skip = chromiumSkipReason();
let browser: Browser | undefined;
const dirs: string[] = [];

before(async () => {
  if (!skip) browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  // Keep the output (report, screenshot) when asked, for looking at by hand.
  if (!process.env['MLSCOPE_KEEP_TEST_OUTPUT'])
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tmp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

interface Opened {
  page: Page;
  url: string;
  requests: string[];
  consoleErrors: string[];
  pageErrors: string[];
  dialogs: string[];
}

/** Opens a report file in a new page, recording every request, console error, page error, dialog. */
async function open(file: string): Promise<Opened> {
  const context = browser!.context;
  const page = await context.newPage();
  const url = pathToFileURL(file).href;
  const o: Opened = { page, url, requests: [], consoleErrors: [], pageErrors: [], dialogs: [] };
  page.on('request', (r) => o.requests.push(`${r.method()} ${r.url()}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning')
      o.consoleErrors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => o.pageErrors.push(e.message));
  page.on('dialog', (d) => {
    o.dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
  // Image errors and deferred handlers fire after load: give them a moment.
  await page.waitForTimeout(300);
  return o;
}

/** Nothing but the report itself was requested, and nothing complained. */
function assertQuiet(o: Opened): void {
  assert.deepEqual(o.requests, [`GET ${o.url}`], 'the report requests nothing besides itself');
  assert.deepEqual(o.consoleErrors, [], 'no console errors or warnings');
  assert.deepEqual(o.pageErrors, [], 'no page errors');
  assert.deepEqual(o.dialogs, [], 'no dialogs');
}

async function box(page: Page, sel: string): Promise<{ width: number; height: number }> {
  const b = await page.locator(sel).boundingBox();
  assert.ok(b, `${sel} is laid out`);
  return b;
}

test('report.html of the example bundle renders in chromium, self-contained', async (t) => {
  if (skip) return t.skip(skip);
  const out = tmp('mlscope-report-');
  const r = await runCommand(investigateCommand, [EXAMPLE, '--out', out]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /Report written to/);
  const doc = JSON.parse(readFileSync(join(out, 'investigation.json'), 'utf8')) as InvestigationDoc;
  assert.ok(doc.requests.total > 0 && doc.slowRequests.length > 0 && doc.findings.length > 0);

  const o = await open(join(out, 'report.html'));
  const { page } = o;
  assert.equal(await page.title(), 'mlscope incident report');

  for (const id of ['timeline', 'histogram', 'breakdown']) {
    assert.equal(await page.locator(`svg#${id}`).count(), 1, `one svg#${id}`);
    const b = await box(page, `svg#${id}`);
    assert.ok(b.width > 100 && b.height > 50, `svg#${id} has a real size (${b.width}×${b.height})`);
  }
  // Timeline: one dot per request, each laid out inside the chart.
  const dots = page.locator('#timeline circle');
  assert.equal(await dots.count(), doc.requests.total, 'one circle per request');
  const chart = (await page.locator('#timeline').boundingBox())!;
  for (const i of [0, Math.floor(doc.requests.total / 2), doc.requests.total - 1]) {
    const d = await dots.nth(i).boundingBox();
    assert.ok(d && d.width > 0 && d.height > 0, `circle ${i} is drawn`);
    assert.ok(
      d.x >= chart.x - 1 &&
        d.x + d.width <= chart.x + chart.width + 1 &&
        d.y >= chart.y - 1 &&
        d.y + d.height <= chart.y + chart.height + 1,
      `circle ${i} lies inside the timeline`,
    );
  }
  // Histogram: bars whose counts add up to every request.
  const bars = await page.locator('#histogram rect > title').allTextContents();
  assert.ok(bars.length > 0, 'histogram has bars');
  const counted = bars.reduce((s, x) => s + Number(/: (\d+) requests$/.exec(x)?.[1] ?? NaN), 0);
  assert.equal(counted, doc.requests.total, 'histogram bars count every request');
  // Breakdown: one row per cause of the slow and failed requests, four parts each, plus a legend.
  const causes = new Set(doc.slowRequests.map((s) => s.cause));
  const segs = await page.locator('#breakdown rect').count();
  assert.ok(segs > 0, 'breakdown has rects');
  assert.equal(await page.locator('#breakdown rect:has(> title)').count(), causes.size * 4);
  const rowLabels = (await page.locator('#breakdown text').allTextContents()).join(' | ');
  for (const c of causes) assert.match(rowLabels, new RegExp(`\\b${c} \\(\\d+\\)`), `row for ${c}`);

  // Findings: every one listed, and every cause of a slow or failed request has one.
  const items = page.locator('#findings > ol > li');
  assert.equal(await items.count(), doc.findings.length, 'every finding is listed');
  const tags = new Set(
    (await page.locator('#findings > ol > li > .tag').allTextContents()).map((s) => s.trim()),
  );
  for (const c of causes)
    assert.ok(tags.has(c), `a finding names cause ${c} (have ${[...tags].join(', ')})`);
  const findingsText = await page.locator('#findings').innerText();
  for (const f of doc.findings)
    assert.ok(findingsText.includes(f.title), `finding shown: ${f.title}`);
  assert.equal(await page.locator('svg.waterfall').count(), Math.min(15, doc.slowRequests.length));

  const shot = join(out, 'report.png');
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(statSync(shot).size > 10_000, 'screenshot written');
  assert.deepEqual([...readFileSync(shot).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'a PNG');
  t.diagnostic(`screenshot ${shot} (${statSync(shot).size} B)`);
  assertQuiet(o);
  await page.close();
});

test('report.html shows hostile input as text: no dialog, no injected elements', async (t) => {
  if (skip) return t.skip(skip);
  const bundle = writeHostileBundle(tmp('mlscope-hostile-bundle-'));
  const out = tmp('mlscope-hostile-report-');
  const r = await runCommand(investigateCommand, [
    bundle.dir,
    '--out',
    out,
    '--slow-ms',
    String(bundle.slowMs),
  ]);
  assert.equal(r.code, 0, r.err);
  const doc = JSON.parse(readFileSync(join(out, 'investigation.json'), 'utf8')) as InvestigationDoc;
  // The bundle was read as intended: every request, the payloads intact, the app log joined.
  assert.equal(doc.requests.total, bundle.requests);
  const slow = doc.slowRequests.find((s) => s.path === bundle.loggedPath);
  assert.ok(
    slow,
    `slow request with the hostile path listed (have ${doc.slowRequests.map((s) => s.path).join(', ')})`,
  );
  assert.equal(slow.cause, 'inference', 'the app log (inference_ms) was joined by request id');
  const failed = doc.slowRequests.find((s) => s.requestId === HOSTILE_RID);
  assert.ok(failed, 'failed request with the hostile request id listed');
  assert.equal(failed.status, 500);
  assert.ok(
    failed.evidence.some((e) => e.includes(IMG) && e.includes(SCRIPT)),
    'app error text kept raw',
  );

  const html = readFileSync(join(out, 'report.html'), 'utf8');
  // The payloads' words may appear as text; their markup may not.
  const raw = (s: string): string[] =>
    [...s.matchAll(/<script|<img|<svg\/|onload=alert\(3\)>/gi)].map((m) => `${m[0]} @${m.index}`);
  assert.deepEqual(raw(html), [], 'no raw payload in the HTML report');
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'payload escaped in the HTML');
  const md = readFileSync(join(out, 'report.md'), 'utf8');
  // Markdown escapes with a backslash (`\<script\>` renders as text).
  const unescaped = [...md.matchAll(/(?<!\\)<(?:script|img|svg)/gi)].map(
    (m) => `${m[0]} @${m.index}`,
  );
  assert.deepEqual(unescaped, [], 'no unescaped payload in the Markdown report');
  assert.ok(
    md.includes('\\<script\\>alert\\(1\\)\\</script\\>'),
    'payload escaped in the Markdown',
  );

  const o = await open(join(out, 'report.html'));
  const { page } = o;
  assert.equal(
    await page
      .locator('script, img, iframe, object, embed, link, meta[http-equiv="refresh"]')
      .count(),
    0,
    'no injected elements',
  );
  assert.equal(
    await page.locator('[onerror], [onload], [onclick]').count(),
    0,
    'no event handlers',
  );
  const text = await page.locator('body').innerText();
  for (const s of [SCRIPT, IMG, HOSTILE_RID, bundle.loggedPath])
    assert.ok(text.includes(s), `the page shows ${JSON.stringify(s)} as text`);
  assert.ok((await page.locator('#findings').innerText()).includes(SCRIPT), 'findings show it too');
  const titles = (await page.locator('#timeline circle > title').allTextContents()).join('\n');
  assert.ok(titles.includes(bundle.loggedPath), 'timeline tooltips carry the literal path');
  assert.equal(await page.locator('#timeline circle').count(), bundle.requests);
  assertQuiet(o);
  await page.close();
});
