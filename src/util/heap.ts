// A binary heap ordered by `before(a, b)` (true: a comes out first). Used for bounded "the N
// earliest" selections and for re-ordering streams (outputs/reorder.ts, `mlscope http`).

export class Heap<T> {
  private readonly a: T[] = [];
  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.a.length;
  }

  /** The item that comes out next (undefined when empty). */
  peek(): T | undefined {
    return this.a[0];
  }

  push(x: T): void {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(a[i]!, a[p]!)) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }

  pop(): T | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      this.down();
    }
    return top;
  }

  /** Replace the top item with `x` (cheaper than pop then push). */
  replaceTop(x: T): void {
    if (this.a.length === 0) this.a.push(x);
    else {
      this.a[0] = x;
      this.down();
    }
  }

  /** The items, in no particular order. */
  items(): readonly T[] {
    return this.a;
  }

  private down(): void {
    const a = this.a;
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      let m = i;
      if (l < a.length && this.before(a[l]!, a[m]!)) m = l;
      if (l + 1 < a.length && this.before(a[l + 1]!, a[m]!)) m = l + 1;
      if (m === i) return;
      [a[m], a[i]] = [a[i]!, a[m]!];
      i = m;
    }
  }
}
