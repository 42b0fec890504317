import { crypto } from './lazy.js';

export interface FileReport {
  path: string;
  size: number;
  sha256: string;
}

/** Path, size and SHA-256; `digest` is the SHA-256 when the caller already has it (no second pass). */
export function describeFile(path: string, bytes: Uint8Array, digest?: Uint8Array): FileReport {
  const sha256 = digest ? Buffer.from(digest).toString('hex') : crypto().createHash('sha256').update(bytes).digest('hex');
  return { path, size: bytes.length, sha256 };
}

export function printJson(stdout: (text: string) => void, value: unknown): void {
  stdout(JSON.stringify(value, null, 2) + '\n');
}
