// Node's Single Executable Applications: a preparation blob written by the pinned Node itself (the
// blob format belongs to the Node version that reads it), injected into each target's binary by
// postject, the tool Node's documentation uses.
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';

const POSTJECT = createRequire(import.meta.url).resolve('postject');

/** The fuse Node 22 looks for to know a blob was injected (node/src/node_sea.cc). */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/**
 * The blob for `main`, a path relative to `root`: the blob records it, so an absolute path would
 * make every checkout's executables differ. With `codeCache`, V8's compiled code is included:
 * faster start-up, but only for the platform of `hostNode`, and different bytes on every run.
 */
export function seaBlob(hostNode, root, main, workDir, codeCache) {
  const output = join(workDir, codeCache ? 'sea-cached.blob' : 'sea.blob');
  const config = join(workDir, codeCache ? 'sea-cached.json' : 'sea.json');
  writeFileSync(config, JSON.stringify({ main, output, disableExperimentalSEAWarning: true, useCodeCache: codeCache, useSnapshot: false }));
  execFileSync(hostNode, ['--experimental-sea-config', config], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  return output;
}

/**
 * Injects the blob into `executable` in a child process: postject's LIEF prints harmless section
 * warnings, shown only when the injection fails.
 */
export async function injectBlob(executable, blobFile, macho) {
  const script = `
    const { inject } = require(${JSON.stringify(POSTJECT)});
    const blob = require('node:fs').readFileSync(process.argv[2]);
    inject(process.argv[1], 'NODE_SEA_BLOB', blob, { sentinelFuse: '${SEA_FUSE}', ${macho ? "machoSegmentName: 'NODE_SEA'" : ''} })
      .catch((err) => { console.error(err.message); process.exit(1); });`;
  try {
    await promisify(execFile)(process.execPath, ['-e', script, executable, blobFile], { maxBuffer: 1 << 24 });
  } catch (err) {
    throw new Error(`postject could not inject into ${executable}:\n${String(err.stderr ?? err.message)}`);
  }
  if (!readFileSync(executable).includes(`${SEA_FUSE}:1`)) throw new Error(`postject left ${executable} without the SEA fuse set`);
}
