/**
 * Exit codes shared by every command (DESIGN.md): 0 success or nothing to do, 1 a user-facing
 * error, 2 a usage error, 3 the emulated device rejects an artifact, 4 a real device rejected an
 * upload (`upload`).
 */
export const ExitCode = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  DEVICE_REJECTED: 3,
  UPLOAD_REJECTED: 4,
} as const;

const BRAND = Symbol.for('esp8266-sign.UserError');

/** A mistake the user can fix: shown as its message, without a stack. Anything else is a bug. */
export class UserError extends Error {
  readonly exitCode: number;
  readonly [BRAND] = true;
  constructor(message: string, exitCode: number = ExitCode.ERROR) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }

  /** Recognises a UserError from any bundle chunk (the CLI entry and the commands are built apart). */
  static [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** Wrong or missing command-line arguments (exit 2). */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message, ExitCode.USAGE);
    this.name = 'UsageError';
  }
}

/** Node's fs errors carry a code; this keeps the checks readable. */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err
    ? String((err as { code: unknown }).code)
    : undefined;
}
