/**
 * The build folder upload tests start from: writeBuild's folder with only the signed artifact
 * (no legacy or gzip), under a name with a space, and the paths the tests send.
 */
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';
import { writeBuild } from './build-folder.js';

export interface BuildDir {
  dir: string;
  project: string;
  bin: Buffer;
  signed: Buffer;
  binPath: string;
  signedPath: string;
}

export function buildDir(o: { size?: number; signWith?: KeyObject; core?: string; project?: string } = {}): BuildDir {
  const dir = join(tempDir(), 'build folder');
  const project = o.project ?? 'Blink.ino';
  const b = writeBuild(dir, { project, core: o.core, size: o.size ?? 120_000, label: `upload ${project}`, legacy: false, signWith: o.signWith });
  const signedName = `${project}.bin.signed`;
  return { dir, project, bin: b.bin, signed: b.files[signedName]!, binPath: join(dir, `${project}.bin`), signedPath: join(dir, signedName) };
}
