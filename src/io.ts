import { closeSync, constants, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync, accessSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError, errnoCode } from './errors.js';

/** What a command may touch of the outside world; tests pass their own. */
export interface Io {
  cwd: string;
  env: NodeJS.ProcessEnv;
  stderr: (text: string) => void;
  stdout: (text: string) => void;
}

export function processIo(): Io {
  return {
    cwd: process.cwd(),
    env: process.env,
    stderr: writeStderr,
    stdout: (text) => process.stdout.write(text),
  };
}

/**
 * Messages go straight to file descriptor 2: creating process.stderr costs about a millisecond,
 * a noticeable part of a build hook's run. Falls back to the stream if the descriptor refuses.
 */
function writeStderr(text: string): void {
  try {
    const bytes = Buffer.from(text);
    for (let off = 0; off < bytes.length; ) off += writeSync(2, bytes, off);
  } catch {
    process.stderr.write(text);
  }
}

export function resolveFrom(io: Io, path: string): string {
  return resolve(io.cwd, path);
}

/**
 * Reads a file the user named, turning the usual failures into messages that say which file,
 * what is wrong and what to do. `what` names the role of the file ("private key", "firmware").
 */
export function readUserFile(path: string, what: string, hint = ''): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = errnoCode(err);
    const fix = hint ? ` ${hint}` : '';
    if (code === 'ENOENT') throw new UserError(`${what} ${path} does not exist.${fix}`);
    if (code === 'EISDIR') throw new UserError(`${what} ${path} is a directory, not a file.${fix}`);
    if (code === 'EACCES' || code === 'EPERM') {
      throw new UserError(`${what} ${path} cannot be read (permission denied). Check its permissions.`);
    }
    throw new UserError(`${what} ${path} cannot be read: ${(err as Error).message}`);
  }
}

/** True when `path` names an existing regular file (as Python's os.path.isfile). */
export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Checks, before anything is written, that `path` can be created: its folder exists, is a folder
 * and is writable, and `path` itself is not a folder. Lets a command fail with nothing written.
 */
export function assertWritable(path: string, what: string): void {
  const dir = dirname(path);
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new UserError(`cannot write ${what} ${path}: the folder ${dir} does not exist. Create it first or choose another output path.`);
  }
  if (!st.isDirectory()) throw new UserError(`cannot write ${what} ${path}: ${dir} is not a folder.`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new UserError(`cannot write ${what} ${path}: the folder ${dir} is not writable. Check its permissions or choose another output path.`);
  }
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw new UserError(`cannot write ${what} ${path}: a folder of that name exists.`);
}

/**
 * Writes through a temporary file in the same folder and renames it into place, so an uploader
 * never sees a half-written artifact and a failure leaves the previous state (DESIGN.md: Atomic).
 */
export function writeFileAtomic(path: string, data: Uint8Array | string | readonly Uint8Array[], mode = 0o666): void {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', mode);
    const pieces = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data;
    for (const bytes of pieces) {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    }
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // the temporary file was never created or is already gone
    }
    const code = errnoCode(err);
    if (code === 'ENOENT') throw new UserError(`cannot write ${path}: its folder does not exist.`);
    if (code === 'EACCES' || code === 'EPERM') throw new UserError(`cannot write ${path}: permission denied.`);
    if (code === 'EISDIR') throw new UserError(`cannot write ${path}: a folder of that name exists.`);
    throw new UserError(`cannot write ${path}: ${(err as Error).message}`);
  }
}
