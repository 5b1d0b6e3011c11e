// Data quality accounting: every decoder counts what it saw, decoded and skipped (by reason, with
// the first few samples), so every output can say what was left out and why.

export const MAX_SKIP_SAMPLES = 3;
export const MAX_SAMPLE_CHARS = 200;

export interface SkipSample {
  /** Where: byte offset or line number (whichever the source has), or frame number. */
  at: string;
  detail: string;
}

export interface QualityReport {
  source: string;
  format: string;
  seen: number;
  decoded: number;
  skipped: number;
  skippedByReason: Record<string, number>;
  samples: Record<string, SkipSample[]>;
  /** Set when the input stopped early (unreadable/truncated): the one-line error. */
  error: string | null;
}

/** Counts records for one input. Invariant: decoded + skipped === seen. */
export class Quality {
  source: string;
  format: string;
  seen = 0;
  decoded = 0;
  skipped = 0;
  error: string | null = null;
  private readonly byReason = new Map<string, number>();
  private readonly sampleMap = new Map<string, SkipSample[]>();

  constructor(source: string, format: string) {
    this.source = source;
    this.format = format;
  }

  ok(): void {
    this.seen++;
    this.decoded++;
  }

  /** Count one skipped record. `at`/`detail` are only kept for the first few of each reason. */
  skip(reason: string, at?: string | number, detail?: string): void {
    this.seen++;
    this.skipped++;
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + 1);
    let s = this.sampleMap.get(reason);
    if (!s) {
      s = [];
      this.sampleMap.set(reason, s);
    }
    if (s.length < MAX_SKIP_SAMPLES && at !== undefined) {
      s.push({ at: String(at), detail: (detail ?? '').slice(0, MAX_SAMPLE_CHARS) });
    }
  }

  /** Count a problem that is not a whole record (e.g. a packet decoded partially). */
  note(reason: string, at?: string | number, detail?: string): void {
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + 1);
    let s = this.sampleMap.get(reason);
    if (!s) {
      s = [];
      this.sampleMap.set(reason, s);
    }
    if (s.length < MAX_SKIP_SAMPLES && at !== undefined) {
      s.push({ at: String(at), detail: (detail ?? '').slice(0, MAX_SAMPLE_CHARS) });
    }
  }

  report(): QualityReport {
    return {
      source: this.source,
      format: this.format,
      seen: this.seen,
      decoded: this.decoded,
      skipped: this.skipped,
      skippedByReason: Object.fromEntries(this.byReason),
      samples: Object.fromEntries(this.sampleMap),
      error: this.error,
    };
  }
}
