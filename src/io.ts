import { closeSync, constants, fstatSync, openSync, readdirSync, readSync, renameSync, statSync, unlinkSync, writeSync, accessSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError, errnoCode } from './errors.js';
import { crypto } from './lazy.js';

/** What a command may touch of the outside world; tests pass their own. */
export interface Io {
  cwd: string;
  env: NodeJS.ProcessEnv;
  stderr: (text: string) => void;
  stdout: (text: string) => void;
}

export function processIo(): Io {
  // A reader that went away (`| head`, a closed IDE pane) must not turn into a crash or change the
  // exit code: the artifacts are complete before anything is reported, so a lost report loses nothing.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  return {
    cwd: process.cwd(),
    env: process.env,
    stderr: writeStderr,
    stdout: (text) => {
      try {
        process.stdout.write(text);
      } catch {
        // stdout is closed: the exit code still tells the outcome
      }
    },
  };
}

/**
 * Messages go straight to file descriptor 2: creating process.stderr costs about a millisecond,
 * a noticeable part of a build hook's run. Falls back to the stream if the descriptor refuses.
 */
function writeStderr(text: string): void {
  const bytes = Buffer.from(text);
  try {
    for (let off = 0; off < bytes.length; ) off += writeSync(2, bytes, off);
  } catch (err) {
    if (errnoCode(err) === 'EAGAIN') {
      try {
        process.stderr.write(text);
      } catch {
        // nowhere left to report to
      }
    }
  }
}

export function resolveFrom(io: Io, path: string): string {
  return resolve(io.cwd, path);
}

/** The largest ESP8266 flash chip: no firmware, filesystem image or key file a device can use is bigger. */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;

/** The most a key, passphrase or settings file can sensibly hold; anything larger is not one. */
export const MAX_KEY_BYTES = 1024 * 1024;

const NONBLOCK = constants.O_NONBLOCK ?? 0;

function describeNonRegular(st: Stats): string {
  if (st.isDirectory()) return 'is a folder, not a file';
  if (st.isFIFO()) return 'is a FIFO (named pipe), not a regular file';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'is a device, not a regular file';
  if (st.isSocket()) return 'is a socket, not a regular file';
  return 'is not a regular file';
}

/**
 * Reads a file the user named, turning the usual failures into messages that say which file,
 * what is wrong and what to do. `what` names the role of the file ("private key", "firmware").
 * Only regular files are read, and at most `maxBytes`: a FIFO, a device such as /dev/zero or a
 * file that keeps growing can neither hang the tool nor exhaust its memory.
 */
export function readUserFile(path: string, what: string, hint = '', maxBytes = MAX_FILE_BYTES): Buffer {
  const fix = hint ? ` ${hint}` : '';
  let fd: number | undefined;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new UserError(`${what} ${path} ${describeNonRegular(st)}.${fix}`);
    // O_NONBLOCK: should the path be swapped for a FIFO after the check, opening it does not block
    fd = openSync(path, constants.O_RDONLY | NONBLOCK);
    const fst = fstatSync(fd);
    if (!fst.isFile()) throw new UserError(`${what} ${path} ${describeNonRegular(fst)}.${fix}`);
    if (fst.size > maxBytes) throw new UserError(`${what} ${path} is ${fst.size} bytes, more than the ${maxBytes}-byte limit (${limitName(maxBytes)}).${fix}`);
    const buf = Buffer.alloc(fst.size);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return got === buf.length ? buf : buf.subarray(0, got);
  } catch (err) {
    if (err instanceof UserError) throw err;
    const code = errnoCode(err);
    if (code === 'ENOENT') throw new UserError(`${what} ${path} does not exist.${fix}`);
    if (code === 'ENOTDIR') throw new UserError(`${what} ${path} does not exist (a part of the path is a file, not a folder).${fix}`);
    if (code === 'EISDIR') throw new UserError(`${what} ${path} is a folder, not a file.${fix}`);
    if (code === 'ELOOP') throw new UserError(`${what} ${path} is a symbolic link that loops back on itself. Point it at a real file.`);
    if (code === 'EACCES' || code === 'EPERM') {
      throw new UserError(`${what} ${path} cannot be read (permission denied). Check its permissions.`);
    }
    throw new UserError(`${what} ${path} cannot be read: ${(err as Error).message}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function limitName(bytes: number): string {
  return bytes === MAX_FILE_BYTES ? 'the largest ESP8266 flash chip' : `${Math.round(bytes / 1024)} KiB is plenty for this kind of file`;
}

/** Like readUserFile, but a file that does not exist is `undefined` (optional inputs: settings, an old header). */
export function readOptionalFile(path: string, what: string, maxBytes = MAX_FILE_BYTES): Buffer | undefined {
  try {
    statSync(path);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
  }
  return readUserFile(path, what, '', maxBytes);
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
 * and is writable, and `path` itself is not a folder, a FIFO or a device. Lets a command fail with
 * nothing written.
 */
export function assertWritable(path: string, what: string): void {
  const dir = dirname(path);
  let st;
  try {
    st = statSync(dir);
  } catch (err) {
    if (errnoCode(err) === 'ELOOP') throw new UserError(`cannot write ${what} ${path}: the folder ${dir} is reached through a symbolic link that loops back on itself.`);
    throw new UserError(`cannot write ${what} ${path}: the folder ${dir} does not exist. Create it first or choose another output path.`);
  }
  if (!st.isDirectory()) throw new UserError(`cannot write ${what} ${path}: ${dir} is not a folder.`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new UserError(`cannot write ${what} ${path}: the folder ${dir} is not writable. Check its permissions or choose another output path.`);
  }
  let existing;
  try {
    existing = statSync(path, { throwIfNoEntry: false });
  } catch (err) {
    if (errnoCode(err) === 'ELOOP') throw new UserError(`cannot write ${what} ${path}: it is a symbolic link that loops back on itself. Remove the link or choose another output path.`);
    throw new UserError(`cannot write ${what} ${path}: ${(err as Error).message}`);
  }
  if (existing && !existing.isFile()) throw new UserError(`cannot write ${what} ${path}: it ${describeNonRegular(existing)}. Choose another output path.`);
}

/** Our temporary files: `.esp8266-sign-<name>.<12 hex>.tmp` beside the file being written. */
const TEMP_PREFIX = '.esp8266-sign-';
const TEMP_PATTERN = /^\.esp8266-sign-.+\.[0-9a-f]{12}\.tmp$/;
/** A temporary file this old belongs to a run that was killed: no live write takes a minute. */
const STALE_TEMP_MS = 60_000;
const sweptDirs = new Set<string>();

/** Removes temporaries that killed runs left in `dir` (once per folder per run). */
function sweepStaleTemps(dir: string): void {
  if (sweptDirs.has(dir)) return;
  sweptDirs.add(dir);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const now = Date.now();
  for (const name of names) {
    if (!TEMP_PATTERN.test(name)) continue;
    const p = join(dir, name);
    try {
      const st = statSync(p);
      if (st.isFile() && now - st.mtimeMs > STALE_TEMP_MS) unlinkSync(p);
    } catch {
      // gone already, or not ours to remove
    }
  }
}

/**
 * Writes through a temporary file in the same folder and renames it into place, so an uploader
 * never sees a half-written artifact and a failure leaves the previous state (DESIGN.md: Atomic).
 */
export function writeFileAtomic(path: string, data: Uint8Array | string | readonly Uint8Array[], mode = 0o666): void {
  const dir = dirname(path);
  sweepStaleTemps(dir);
  const tmp = join(dir, `${TEMP_PREFIX}${basename(path)}.${crypto().randomBytes(6).toString('hex')}.tmp`);
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
    if (code === 'ENOSPC') throw new UserError(`cannot write ${path}: the disk is full. Free some space and build again.`);
    throw new UserError(`cannot write ${path}: ${(err as Error).message}`);
  }
}
