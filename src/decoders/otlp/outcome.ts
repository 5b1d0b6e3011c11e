// What one OTLP export request decoded to, in the shape the receiver needs for its response
// (OTLP/HTTP: a malformed body is a 400; records dropped one by one are a partial success).

import type { Quality } from '../../model/quality.js';

export interface DecodeOutcome {
  /** Records decoded and handed out. */
  accepted: number;
  /** Records skipped one by one (bad ids, bad timestamps…): reported as `rejected_*`. */
  rejected: number;
  /** The first rejection reason, for the partial-success `error_message`. */
  rejectMessage: string | null;
  /** Set when the body itself is malformed (what decoded before it is still returned). */
  error: string | null;
  /** Byte offset (protobuf) or -1 where `error` was found. */
  errorAt: number;
}

/** Tracks accepted/rejected counts for one request on top of an input's Quality. */
export class OutcomeCounter {
  accepted = 0;
  rejected = 0;
  rejectMessage: string | null = null;
  constructor(readonly q: Quality) {}
  ok(): void {
    this.accepted++;
    this.q.ok();
  }
  reject(reason: string, at: string | number, detail: string): void {
    this.rejected++;
    if (this.rejectMessage === null) this.rejectMessage = `${reason}: ${detail}`;
    this.q.skip(reason, at, detail);
  }
  finish(error: string | null, errorAt: number): DecodeOutcome {
    if (error !== null) this.q.skip('malformed-request', errorAt, error);
    return {
      accepted: this.accepted,
      rejected: this.rejected,
      rejectMessage: this.rejectMessage,
      error,
      errorAt,
    };
  }
}
