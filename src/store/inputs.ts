// Deciding what to do with an input that may have been ingested before, from a content
// fingerprint: size plus SHA-256 of the first and last MiB of the bytes on disk (compressed bytes
// for .gz/.zst). Pure: the caller supplies a `hashRange` that reads the file.
//
// Policy (identity is content, not path, so log rotation never deletes rows):
//  - same size, head and tail hash as a recorded input → skip it, nothing is appended;
//  - a recorded input is a byte prefix of this one (the file grew) → replace: that input's rows are
//    deleted and the whole file is ingested again. Appending only the new tail would need the
//    decoders to restart mid-file (a multi-line record can straddle the old end; gzip members do
//    not align), and re-reading is cheap next to getting that wrong;
//  - otherwise → new.

export const FINGERPRINT_WINDOW_BYTES = 1 << 20;

export interface Fingerprint {
  path: string;
  sizeBytes: number;
  mtimeMs: number;
  headHash: string;
  tailHash: string;
  windowBytes: number;
}

/** What the store remembers of an input (a subset of schema.InputRow). */
export interface KnownInput {
  id: number;
  path: string;
  sizeBytes: number;
  headHash: string;
  tailHash: string;
  windowBytes: number;
  status: 'ingesting' | 'done';
}

/** SHA-256 hex of bytes [offset, offset+length) of the input being considered. */
export type HashRange = (offset: number, length: number) => Promise<string>;

export type InputDecision =
  | { action: 'new' }
  | { action: 'skip'; existing: KnownInput }
  | { action: 'replace'; existing: KnownInput };

/** The fingerprint of an input of `sizeBytes`, hashing head and tail windows through `hashRange`. */
export async function fingerprint(
  path: string,
  sizeBytes: number,
  mtimeMs: number,
  hashRange: HashRange,
  windowBytes = FINGERPRINT_WINDOW_BYTES,
): Promise<Fingerprint> {
  const w = Math.min(sizeBytes, windowBytes);
  const headHash = await hashRange(0, w);
  const tailHash = sizeBytes <= windowBytes ? headHash : await hashRange(sizeBytes - w, w);
  return { path, sizeBytes, mtimeMs, headHash, tailHash, windowBytes };
}

export async function decideInput(
  known: readonly KnownInput[],
  fp: Fingerprint,
  hashRange: HashRange,
): Promise<InputDecision> {
  const done = known.filter((k) => k.status === 'done' && k.windowBytes === fp.windowBytes);
  for (const k of done) {
    if (k.sizeBytes === fp.sizeBytes && k.headHash === fp.headHash && k.tailHash === fp.tailHash)
      return { action: 'skip', existing: k };
  }
  // Growth: prefer a recorded input at the same path, then any other.
  const candidates = done
    .filter((k) => k.sizeBytes > 0 && k.sizeBytes < fp.sizeBytes)
    .sort((a, b) => Number(b.path === fp.path) - Number(a.path === fp.path));
  for (const k of candidates) {
    if (await isPrefix(k, fp, hashRange)) return { action: 'replace', existing: k };
  }
  return { action: 'new' };
}

/** Is the recorded input `k` a byte prefix of the input fingerprinted as `fp`? */
async function isPrefix(k: KnownInput, fp: Fingerprint, hashRange: HashRange): Promise<boolean> {
  const w = k.windowBytes;
  if (k.sizeBytes <= w) {
    // k's head hash covers all of k: compare with the same number of leading bytes of fp.
    return (await hashRange(0, k.sizeBytes)) === k.headHash;
  }
  if (fp.headHash !== k.headHash) return false;
  return (await hashRange(k.sizeBytes - w, w)) === k.tailHash;
}
