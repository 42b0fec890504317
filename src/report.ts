import { createHash } from 'node:crypto';

export interface FileReport {
  path: string;
  size: number;
  sha256: string;
}

export function describeFile(path: string, bytes: Uint8Array): FileReport {
  return { path, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

export function printJson(stdout: (text: string) => void, value: unknown): void {
  stdout(JSON.stringify(value, null, 2) + '\n');
}
