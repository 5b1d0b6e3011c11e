// Error classes with stable codes, thrown only at boundaries (sources, cli). Decoders return skip
// reasons instead of throwing (see model/quality.ts).

export const ErrorCode = {
  USAGE: 'E_USAGE',
  INPUT_UNREADABLE: 'E_INPUT_UNREADABLE',
  INPUT_FORMAT: 'E_INPUT_FORMAT',
  INPUT_TRUNCATED: 'E_INPUT_TRUNCATED',
  LIMIT: 'E_LIMIT',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class MlscopeError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'MlscopeError';
  }
}

/** A usage error: one line, a hint, exit code 2. */
export class UsageError extends MlscopeError {
  constructor(message: string) {
    super(ErrorCode.USAGE, message);
    this.name = 'UsageError';
  }
}

/**
 * An input that cannot be read (further): names the file and the byte offset (or line) where
 * reading stopped. Whatever was decoded before that point stays valid.
 */
export class InputError extends MlscopeError {
  readonly file: string;
  readonly offset: number | null;
  readonly line: number | null;
  constructor(
    code: ErrorCode,
    file: string,
    message: string,
    where: { offset?: number; line?: number } = {},
  ) {
    const at =
      where.offset !== undefined
        ? ` at byte ${where.offset}`
        : where.line !== undefined
          ? ` at line ${where.line}`
          : '';
    super(code, `${file}${at}: ${message}`);
    this.name = 'InputError';
    this.file = file;
    this.offset = where.offset ?? null;
    this.line = where.line ?? null;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
