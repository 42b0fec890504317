// Each target's Node binary, from the npm packages that ship it (node-<os>-<arch>), fetched with
// the user's own npm (so its registry and proxy settings apply) and checked against the SHA-256
// committed in node-release.json before a byte of it is used.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileFromTgz } from './archive.js';

export const RELEASE = JSON.parse(readFileSync(new URL('./node-release.json', import.meta.url), 'utf8'));

const sha256 = (data) => createHash('sha256').update(data).digest('hex');

/** The verified package tarball of one target, downloaded into `cacheDir` on first use. */
export function nodeTarball(target, cacheDir) {
  const pin = RELEASE.targets[target];
  const file = join(cacheDir, `${pin.package}-${RELEASE.version}.tgz`);
  if (!existsSync(file)) {
    mkdirSync(cacheDir, { recursive: true });
    const partial = join(cacheDir, 'download');
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    execFileSync(npm, ['pack', `${pin.package}@${RELEASE.version}`, '--pack-destination', partial, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'], shell: process.platform === 'win32' });
    renameSync(join(partial, `${pin.package}-${RELEASE.version}.tgz`), file);
    rmSync(partial, { recursive: true, force: true });
  }
  const tgz = readFileSync(file);
  const got = sha256(tgz);
  if (got !== pin.sha256) {
    rmSync(file);
    throw new Error(`${pin.package}@${RELEASE.version} has SHA-256 ${got}, but scripts/release/node-release.json pins ${pin.sha256}; the download was deleted. Run again; if it persists, the registry serves other bytes than were pinned: check before trusting it.`);
  }
  return tgz;
}

/** The Node executable inside one target's verified tarball. */
export function nodeBinary(target, cacheDir) {
  return fileFromTgz(nodeTarball(target, cacheDir), RELEASE.targets[target].binary);
}

/** The target this machine runs, whose Node can write the SEA blob (and its code cache). */
export function hostTarget() {
  const target = `${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;
  if (!RELEASE.targets[target]) throw new Error(`no pinned Node for this machine (${target}); build on one of: ${Object.keys(RELEASE.targets).join(', ')}`);
  return target;
}
