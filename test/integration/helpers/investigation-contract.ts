// The `mlscope investigate --json` fields DESIGN.md promises the acceptance checks (other fields
// are free): checks a parsed document against them, naming the first field that is off.

import assert from 'node:assert/strict';

export const CAUSES = ['network', 'inference', 'queueing', 'upstream-error', 'client', 'unknown'];

export interface ContractDoc {
  requests: { total: number; slow: number; slowMs: number };
  clockSkew: { source: string; offsetMs: number }[];
  slowRequests: {
    requestId: string;
    path: string;
    status: number;
    totalMs: number;
    cause: string;
    breakdownMs: { network: number; queueing: number; inference: number; other: number };
    evidence: string[];
  }[];
  findings: {
    title: string;
    cause: string;
    requests: number;
    confidence: number;
    evidence: string[];
  }[];
  dataQuality: { source: string; format: string; records: number; skipped: number }[];
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function num(o: Record<string, unknown>, k: string, where: string, min = 0): void {
  const v = o[k];
  assert.ok(
    typeof v === 'number' && Number.isFinite(v),
    `${where}.${k} is a finite number (got ${JSON.stringify(v)})`,
  );
  assert.ok(v >= min, `${where}.${k} ≥ ${min} (got ${v})`);
}
function str(o: Record<string, unknown>, k: string, where: string): void {
  assert.equal(typeof o[k], 'string', `${where}.${k} is a string (got ${JSON.stringify(o[k])})`);
}
function strings(o: Record<string, unknown>, k: string, where: string): void {
  const v = o[k];
  assert.ok(
    Array.isArray(v) && v.every((x) => typeof x === 'string'),
    `${where}.${k} is a string[]`,
  );
}
function list(o: Record<string, unknown>, k: string, where: string): Record<string, unknown>[] {
  const v = o[k];
  assert.ok(Array.isArray(v), `${where}.${k} is an array`);
  return v.map((x, i) => {
    assert.ok(isObj(x), `${where}.${k}[${i}] is an object`);
    return x;
  });
}

export function assertInvestigationContract(doc: unknown): asserts doc is ContractDoc {
  assert.ok(isObj(doc), 'the document is an object');
  const r = doc['requests'];
  assert.ok(isObj(r), 'requests is an object');
  num(r, 'total', 'requests');
  num(r, 'slow', 'requests');
  num(r, 'slowMs', 'requests');
  assert.ok((r['slow'] as number) <= (r['total'] as number), 'requests.slow ≤ requests.total');
  list(doc, 'clockSkew', '').forEach((s, i) => {
    str(s, 'source', `clockSkew[${i}]`);
    num(s, 'offsetMs', `clockSkew[${i}]`, -Infinity);
  });
  list(doc, 'slowRequests', '').forEach((s, i) => {
    const w = `slowRequests[${i}]`;
    str(s, 'requestId', w);
    str(s, 'path', w);
    num(s, 'status', w);
    num(s, 'totalMs', w);
    assert.ok(
      CAUSES.includes(s['cause'] as string),
      `${w}.cause is one of ${CAUSES.join('|')} (got ${JSON.stringify(s['cause'])})`,
    );
    const b = s['breakdownMs'];
    assert.ok(isObj(b), `${w}.breakdownMs is an object`);
    for (const k of ['network', 'queueing', 'inference', 'other']) num(b, k, `${w}.breakdownMs`);
    strings(s, 'evidence', w);
    assert.ok((s['evidence'] as string[]).length > 0, `${w}.evidence is not empty`);
  });
  list(doc, 'findings', '').forEach((f, i) => {
    const w = `findings[${i}]`;
    str(f, 'title', w);
    assert.ok(CAUSES.includes(f['cause'] as string), `${w}.cause is one of ${CAUSES.join('|')}`);
    num(f, 'requests', w);
    num(f, 'confidence', w);
    assert.ok((f['confidence'] as number) <= 1, `${w}.confidence ≤ 1`);
    strings(f, 'evidence', w);
  });
  list(doc, 'dataQuality', '').forEach((q, i) => {
    const w = `dataQuality[${i}]`;
    str(q, 'source', w);
    str(q, 'format', w);
    num(q, 'records', w);
    num(q, 'skipped', w);
  });
}
