import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecordTemplates } from './log-templates.js';
import { TemplateMiner } from '../analyzers/templates/index.js';
import { makeLog } from '../store/store.case.js';
import type { Line } from '../util/lines.js';

const line = (lineNo: number, text: string): Line => ({
  lineNo,
  offset: 0,
  text,
  truncated: false,
  invalidUtf8: false,
});

test('records get provisional keys that finish() maps to the ids `templates` assigns', () => {
  const texts = Array.from({ length: 1500 }, (_, i) =>
    i % 3
      ? `svc: request ${i} took ${i % 50} ms`
      : `svc: cache ${['hit', 'miss'][i % 2]} for k${i}`,
  );
  const rt = new RecordTemplates('f');
  const miner = new TemplateMiner();
  const recs = texts.map((t, i) => makeLog({ lineNo: i + 1, body: t }));
  texts.forEach((t, i) => {
    rt.line(line(i + 1, t));
    miner.add(t, 'f');
    rt.tag(recs[i]!);
  });
  const want = miner.result().assignments;
  const fix = rt.finish();
  const ids = new Map(fix.keys.map((k) => [k.key, k.id]));
  assert.ok(recs.every((r) => r.templateId!.startsWith('~')));
  assert.deepEqual(
    recs.map((r) => ids.get(r.templateId!)),
    want,
  );
  assert.deepEqual(new Set(fix.templates.map((t) => t.id)), new Set(want));
});

test('a record held across many lines keeps its first line; the queue stays bounded', () => {
  const rt = new RecordTemplates('f');
  rt.line(line(1, 'first line of a long record 1'));
  let held = 1;
  const parser = { heldFrom: () => held };
  for (let n = 2; n < 200_000; n++) {
    rt.line(line(n, `fragment ${n}`));
    rt.prune(parser);
    assert.ok(rt.queued <= 65_536 + 4096);
  }
  const r = makeLog({ lineNo: 1 });
  rt.tag(r);
  assert.match(r.templateId!, /^~/);
  held = 200_000;
  rt.line(line(200_000, 'next record'));
  rt.prune(parser);
  const next = makeLog({ lineNo: 200_000 });
  rt.tag(next);
  assert.match(next.templateId!, /^~/);
  assert.equal(rt.untagged, 0);
  const fix = rt.finish();
  assert.equal(fix.keys.length, 2);
});

test('blank lines are not mined; a record whose line is unknown stays untagged, counted', () => {
  const rt = new RecordTemplates('f');
  rt.line(line(1, '   '));
  rt.line(line(2, '\u00a0'));
  assert.equal(rt.queued, 0);
  const r = makeLog({ lineNo: 1 });
  rt.tag(r);
  assert.equal(r.templateId, null);
  assert.equal(rt.untagged, 1);
  assert.deepEqual(rt.finish(), { keys: [], templates: [] });
});
