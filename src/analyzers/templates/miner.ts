// Online log template mining in the Drain family (He et al., ICWS 2017), written for mlscope:
//   line → tokens (whitespace) → header dropped (header.ts) → tokens masked (tokenize.ts) →
//   interned to ints → fixed-depth prefix tree (message length, first two tokens) → best cluster
//   in the leaf by positional similarity; joined when similar enough (differing positions become
//   <*>), else a new cluster.
// After the stream ends, clusters of the same length whose templates differ only in positions
// that are already variable in one of them are merged, and every line is re-assigned to the id of
// its final template, so assignments always agree with the reported templates.
//
// Two ways to add lines: `add` keeps one assignment per line (4 bytes a line, for `templates
// --assignments`); `addKeyed` keeps nothing per line and returns a key — the line's signature (its
// distinct masked token sequence), or while its source's header is still being learned a pending
// slot — that `result().idOf(key)` turns into the final template id. A stream of any length costs
// memory per distinct signature only (plus HEADER_SAMPLE_LINES pending slots per source).

import {
  learnHeader,
  messageStart,
  HEADER_SAMPLE_LINES,
  NO_HEADER,
  type HeaderModel,
} from './header.js';
import { maskTokens, splitTokens, WILDCARD } from './tokenize.js';
import { templateId } from './hash.js';

/** Tokens kept per line (a longer line is mined on its first MAX_TOKENS tokens). */
export const MAX_TOKENS = 200;
/** Characters of a line considered (hostile inputs: megabyte-long lines). */
export const MAX_LINE_CHARS = 16 * 1024;
/** Children per prefix-tree node before new first tokens share the wildcard branch. */
const MAX_CHILDREN = 100;
/**
 * Share of a template's literal (non-<*>) positions a line must match to join it. Loghub-2k mean
 * GA is flat (±0.002) for 0.5–0.8 with the rest of this design; 0.7 is Drain's setting for the
 * systems with short messages.
 */
const SIMILARITY = 0.7;

export interface MinedTemplate {
  id: string;
  template: string;
  count: number;
  /** The first line (raw) that was assigned to the template. */
  example: string;
}

export interface MiningResult {
  /** Lines added (by `add` and `addKeyed`). */
  lines: number;
  /** Templates, most frequent first (ties by id). */
  templates: MinedTemplate[];
  /** Template id per line added with `add`, in the order the lines were added. */
  assignments: string[];
  /** The final template id of a key `addKeyed` returned (null for a key it never returned). */
  idOf(key: number): string | null;
}

interface Cluster {
  tokens: Int32Array;
  count: number;
  /** Signatures (distinct masked lines) in this cluster. */
  sigs: number[];
}

/** A distinct masked token sequence; lines with equal sequences share one. */
interface Signature {
  ids: Int32Array;
  count: number;
  cluster: number;
  example: string;
}

/** A line waiting for its source's header model: its assignment index (`add`) or pending slot (`addKeyed`), the other -1. */
interface PendingLine {
  lineIdx: number;
  slot: number;
  line: string;
  toks: string[];
}

interface Source {
  model: HeaderModel | null;
  pending: PendingLine[];
}

const WILD_ID = 0;
/** A merged position with at most this many distinct words splits its cluster (see result()). */
const MAX_SPLIT_VALUES = 4;

export class TemplateMiner {
  private readonly tokenIds = new Map<string, number>([[WILDCARD, WILD_ID]]);
  constructor() {
    this.hasWild[WILD_ID] = 1;
  }
  private readonly tokenText: string[] = [WILDCARD];
  /** Per token id: 1 when the token holds a wildcard ("uid=<*>"). */
  private hasWild = new Uint8Array(1024);
  private readonly clusters: Cluster[] = [];
  private readonly sigs: Signature[] = [];
  private readonly sigIndex = new Map<number, number | number[]>();
  /** length → first token → second token → cluster indexes. */
  private readonly tree = new Map<number, Map<number, Map<number, number[]>>>();
  private readonly sources = new Map<string, Source>();
  /** Signature per line added with `add` (-1 while pending). */
  private lineSig = new Int32Array(1024);
  /** Signature per pending slot of `addKeyed` (-1 while pending). */
  private slotSig = new Int32Array(64);
  private nSlots = 0;
  private readonly scratch: string[] = [];
  private nLines = 0;
  private nAssigned = 0;

  /**
   * Add one line (without its terminator). `source` names the input it came from: header layouts
   * are learned per source. Returns the line's index in the assignments.
   */
  add(line: string, source = ''): number {
    const idx = this.nAssigned++;
    if (idx >= this.lineSig.length) this.lineSig = grow(this.lineSig);
    const si = this.addLine(line, source, idx, -1);
    this.lineSig[idx] = si;
    return idx;
  }

  /**
   * Add one line without keeping an assignment for it (streaming mode). Returns its key: the line's
   * signature (≥ 0), or a pending slot (< 0) while its source's header is being learned. Lines with
   * the same key always get the same final id; `result().idOf(key)` gives it.
   */
  addKeyed(line: string, source = ''): number {
    const slot = this.nSlots;
    const si = this.addLine(line, source, -1, slot);
    if (si >= 0) return si;
    this.nSlots++;
    if (slot >= this.slotSig.length) this.slotSig = grow(this.slotSig);
    this.slotSig[slot] = -1;
    return -1 - slot;
  }

  /** Mine a line now (returns its signature) or queue it for its source's header model (-1). */
  private addLine(line: string, source: string, lineIdx: number, slot: number): number {
    this.nLines++;
    const text = line.length > MAX_LINE_CHARS ? line.slice(0, MAX_LINE_CHARS) : line;
    const toks = splitTokens(text, MAX_TOKENS);
    let src = this.sources.get(source);
    if (!src) {
      src = { model: null, pending: [] };
      this.sources.set(source, src);
    }
    if (src.model === null) {
      src.pending.push({ lineIdx, slot, line: text, toks });
      if (src.pending.length >= HEADER_SAMPLE_LINES) {
        this.learn(src);
        // The line just queued was mined with the others: it needs no slot.
        return lineIdx >= 0 ? this.lineSig[lineIdx]! : this.slotSig[slot]!;
      }
      return -1;
    }
    return this.mine(text, toks, src.model);
  }

  private learn(src: Source): void {
    src.model = learnHeader(src.pending.map((p) => p.toks));
    const model = src.model;
    for (const p of src.pending) {
      const si = this.mine(p.line, p.toks, model);
      if (p.lineIdx >= 0) this.lineSig[p.lineIdx] = si;
      else {
        if (p.slot >= this.slotSig.length) this.slotSig = grow(this.slotSig);
        this.slotSig[p.slot] = si;
      }
    }
    src.pending = [];
  }

  private intern(tok: string): number {
    let id = this.tokenIds.get(tok);
    if (id === undefined) {
      id = this.tokenText.length;
      this.tokenIds.set(tok, id);
      this.tokenText.push(tok);
      if (id >= this.hasWild.length) {
        const a = new Uint8Array(this.hasWild.length * 2);
        a.set(this.hasWild);
        this.hasWild = a;
      }
      this.hasWild[id] = tok.includes(WILDCARD) ? 1 : 0;
    }
    return id;
  }

  /** Mine one line; returns its signature. */
  private mine(line: string, toks: string[], model: HeaderModel): number {
    const start = messageStart(toks, model);
    const len = toks.length - start;
    const ids = new Int32Array(len);
    const masked = this.scratch;
    masked.length = 0;
    maskTokens(toks, start, masked);
    let h = len | 0;
    for (let i = 0; i < len; i++) {
      const id = this.intern(masked[i]!);
      ids[i] = id;
      h = Math.imul(h ^ id, 0x9e3779b1) ^ (h >>> 15);
    }
    // Exact signature first: most lines repeat a masked sequence seen before (no tree search).
    const hit = this.sigIndex.get(h);
    let si = -1;
    if (hit !== undefined) {
      if (typeof hit === 'number') {
        if (sameIds(this.sigs[hit]!.ids, ids)) si = hit;
      } else {
        for (const c of hit) if (sameIds(this.sigs[c]!.ids, ids)) si = c;
      }
    }
    if (si < 0) {
      si = this.sigs.length;
      const ci = this.place(ids);
      this.sigs.push({ ids, count: 0, cluster: ci, example: line });
      this.clusters[ci]!.sigs.push(si);
      if (hit === undefined) this.sigIndex.set(h, si);
      else if (typeof hit === 'number') this.sigIndex.set(h, [hit, si]);
      else hit.push(si);
    }
    const sig = this.sigs[si]!;
    sig.count++;
    this.clusters[sig.cluster]!.count++;
    return si;
  }

  /** Find or create the cluster of a new masked token sequence; returns its index. */
  private place(ids: Int32Array): number {
    const len = ids.length;
    let byFirst = this.tree.get(len);
    if (!byFirst) {
      byFirst = new Map();
      this.tree.set(len, byFirst);
    }
    let t0 = len > 0 ? ids[0]! : WILD_ID;
    if (t0 !== WILD_ID && !byFirst.has(t0) && byFirst.size >= MAX_CHILDREN) t0 = WILD_ID;
    let bySecond = byFirst.get(t0);
    if (!bySecond) {
      bySecond = new Map();
      byFirst.set(t0, bySecond);
    }
    let t1 = len > 1 ? ids[1]! : WILD_ID;
    if (t1 !== WILD_ID && !bySecond.has(t1) && bySecond.size >= MAX_CHILDREN) t1 = WILD_ID;
    let leaf = bySecond.get(t1);
    if (!leaf) {
      leaf = [];
      bySecond.set(t1, leaf);
    }
    let best = -1;
    let bestSim = -1;
    let bestWild = -1;
    for (const ci of leaf) {
      const tpl = this.clusters[ci]!.tokens;
      let same = 0;
      let wild = 0;
      let blocked = false;
      for (let i = 0; i < len; i++) {
        const t = tpl[i]!;
        if (t === WILD_ID) wild++;
        else if (t === ids[i]) same++;
        else if (this.hasWild[t] === 1 || this.hasWild[ids[i]!] === 1) blocked = true;
      }
      if (blocked) continue;
      const sim = len === 0 ? 1 : same / Math.max(1, len - wild);
      if (sim > bestSim || (sim === bestSim && wild > bestWild)) {
        best = ci;
        bestSim = sim;
        bestWild = wild;
      }
    }
    if (best >= 0 && bestSim >= SIMILARITY) {
      const tpl = this.clusters[best]!.tokens;
      for (let i = 0; i < len; i++) if (tpl[i] !== ids[i]) tpl[i] = WILD_ID;
      return best;
    }
    const ci = this.clusters.length;
    this.clusters.push({ tokens: ids.slice(), count: 0, sigs: [] });
    leaf.push(ci);
    return ci;
  }

  /**
   * Finish the stream (flushes sources still learning their header) and report.
   *
   * Final pass: a cluster position that became <*> by merging but holds only a few distinct
   * words (≤ MAX_SPLIT_VALUES, none masked) is treated as part of the message ("VM Started" /
   * "VM Paused"), and the cluster splits by it — unless the same words also fill a merged
   * position of another cluster, which marks them as an entity that recurs across messages
   * (user names: "session opened for user cyrus", "session closed for user cyrus").
   */
  result(): MiningResult {
    for (const src of this.sources.values()) if (src.model === null) this.learnOrRules(src);
    const groups = this.finalGroups();
    const byId = new Map<string, MinedTemplate>();
    const sigId = new Array<string>(this.sigs.length);
    for (const g of groups) {
      const t = this.render(templateOf(g.map((si) => this.sigs[si]!.ids)));
      const id = templateId(t);
      let count = 0;
      for (const si of g) {
        sigId[si] = id;
        count += this.sigs[si]!.count;
      }
      const m = byId.get(id);
      if (m) m.count += count;
      else byId.set(id, { id, template: t, count, example: this.sigs[g[0]!]!.example });
    }
    const assignments = new Array<string>(this.nAssigned);
    for (let i = 0; i < this.nAssigned; i++) assignments[i] = sigId[this.lineSig[i]!]!;
    const templates = [...byId.values()].sort((a, b) =>
      b.count !== a.count ? b.count - a.count : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
    );
    const slotSig = this.slotSig;
    const nSlots = this.nSlots;
    const idOf = (key: number): string | null => {
      const si = key >= 0 ? key : -1 - key < nSlots ? slotSig[-1 - key]! : -1;
      return sigId[si] ?? null;
    };
    return { lines: this.nLines, templates, assignments, idOf };
  }

  /** Signature groups after splitting clusters on few-valued merged positions. */
  private finalGroups(): number[][] {
    // Candidate positions per cluster: merged (<*>) positions holding ≤ K unmasked values.
    const cands: { ci: number; pos: number; values: Set<number> }[] = [];
    const valueClusters = new Map<number, Set<number>>();
    for (let ci = 0; ci < this.clusters.length; ci++) {
      const c = this.clusters[ci]!;
      if (c.sigs.length < 2) continue;
      const tpl = c.tokens;
      for (let p = 0; p < tpl.length; p++) {
        if (tpl[p] !== WILD_ID) continue;
        const values = new Set<number>();
        let ok = true;
        for (const si of c.sigs) {
          const v = this.sigs[si]!.ids[p]!;
          if (v === WILD_ID || this.hasWild[v] === 1) {
            ok = false;
            break;
          }
          values.add(v);
          if (values.size > MAX_SPLIT_VALUES) {
            ok = false;
            break;
          }
        }
        if (!ok) continue;
        cands.push({ ci, pos: p, values });
        for (const v of values) {
          let s = valueClusters.get(v);
          if (!s) valueClusters.set(v, (s = new Set()));
          s.add(ci);
        }
      }
    }
    const splitPos = new Map<number, number[]>();
    for (const cd of cands) {
      let shared = 0;
      for (const v of cd.values) if (valueClusters.get(v)!.size > 1) shared++;
      if (shared >= 2) continue;
      let l = splitPos.get(cd.ci);
      if (!l) splitPos.set(cd.ci, (l = []));
      l.push(cd.pos);
    }
    const groups: number[][] = [];
    for (let ci = 0; ci < this.clusters.length; ci++) {
      const c = this.clusters[ci]!;
      if (c.sigs.length === 0) continue;
      const ps = splitPos.get(ci);
      if (!ps) {
        groups.push(c.sigs);
        continue;
      }
      const parts = new Map<string, number[]>();
      for (const si of c.sigs) {
        const ids = this.sigs[si]!.ids;
        const key = ps.map((p) => ids[p]).join(',');
        let g = parts.get(key);
        if (!g) parts.set(key, (g = []));
        g.push(si);
      }
      for (const g of parts.values()) groups.push(g);
    }
    return groups;
  }

  private learnOrRules(src: Source): void {
    if (src.pending.length === 0) {
      src.model = NO_HEADER;
      return;
    }
    this.learn(src);
  }

  private render(tokens: Int32Array): string {
    let s = '';
    for (let i = 0; i < tokens.length; i++) {
      if (i > 0) s += ' ';
      s += this.tokenText[tokens[i]!]!;
    }
    return s;
  }
}

function grow(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

function sameIds(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The template of a group of equal-length sequences: agreeing positions kept, others <*>. */
function templateOf(seqs: Int32Array[]): Int32Array {
  const t = seqs[0]!.slice();
  for (let k = 1; k < seqs.length; k++) {
    const s = seqs[k]!;
    for (let i = 0; i < t.length; i++) if (t[i] !== s[i]) t[i] = WILD_ID;
  }
  return t;
}
