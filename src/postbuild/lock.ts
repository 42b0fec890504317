/**
 * One postbuild at a time per project and build folder. Two builds of one sketch can run together
 * (the IDE's build and an arduino-cli in a terminal); without the lock their removals and writes
 * interleave and the folder could hold one build's .bin.signed beside the other's manifest.
 */
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { errnoCode, UserError } from '../errors.js';

export interface LockTimes {
  /** How long to wait for another postbuild of the same project to finish. */
  waitMs: number;
  /** A lock older than this belongs to a run that died without removing it. */
  staleMs: number;
  pollMs: number;
}

export const LOCK_TIMES: LockTimes = { waitMs: 60_000, staleMs: 10 * 60_000, pollMs: 25 };

export function lockPath(buildDir: string, project: string): string {
  return join(buildDir, `.esp8266-sign-${project}.lock`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

/** Null when the lock can be broken (its process is gone, or it is older than `staleMs`), else its pid. */
function holder(path: string, times: LockTimes): number | null {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    const age = Date.now() - statSync(path).mtimeMs;
    if (!Number.isInteger(pid) || pid <= 0 || !alive(pid) || age > times.staleMs) return null;
    return pid;
  } catch {
    return null;
  }
}

export async function withBuildLock<T>(buildDir: string, project: string, fn: () => Promise<T>, times: LockTimes = LOCK_TIMES): Promise<T> {
  const path = lockPath(buildDir, project);
  const deadline = Date.now() + times.waitMs;
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new UserError(`build folder ${buildDir} does not exist. Pass the folder the build writes into ({build.path}).`);
      if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') throw new UserError(`build folder ${buildDir} is not writable. Check its permissions.`);
      if (code !== 'EEXIST') throw new UserError(`cannot create ${path}: ${(err as Error).message}`);
    }
    const pid = holder(path, times);
    if (pid === null) {
      try {
        unlinkSync(path);
      } catch {
        // another run broke it first
      }
      continue;
    }
    if (Date.now() > deadline) {
      throw new UserError(`another esp8266-sign postbuild of ${project} (process ${pid}) has been running in ${buildDir} for over ${Math.round(times.waitMs / 1000)} s. Wait for it to finish; if no build is running, delete ${path}.`);
    }
    await sleep(times.pollMs);
  }
  try {
    return await fn();
  } finally {
    try {
      if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
    } catch {
      // already gone
    }
  }
}
