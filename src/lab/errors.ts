// Errors of the lab runner. E_LAB_ENV: the machine lacks a tool or privilege (exit 2 with the
// list of packages to install); E_LAB_RUN: a step of the scenario failed (exit 1).

export const LabErrorCode = { ENV: 'E_LAB_ENV', RUN: 'E_LAB_RUN' } as const;
export type LabErrorCode = (typeof LabErrorCode)[keyof typeof LabErrorCode];

export class LabError extends Error {
  readonly code: LabErrorCode;
  constructor(code: LabErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'LabError';
  }
}
