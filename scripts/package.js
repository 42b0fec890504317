// npm run package: single executables of the built CLI for every target in
// scripts/release/node-release.json, their archives with SHA-256 files, and the Boards Manager
// index fragment, all in dist/release/. Options:
//   --targets a,b     only these targets (default: all five)
//   --base-url URL    where the archives will be downloadable (the index fragment's urls)
//   --code-cache      include V8's code cache in the host's own executable: starts faster, but
//                     its bytes differ on every build (README "Standalone executables")
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { tarGz, zip } from './release/archive.js';
import { indexFragment } from './release/index-fragment.js';
import { hostTarget, nodeBinary, RELEASE } from './release/node-binaries.js';
import { injectBlob, seaBlob } from './release/sea.js';

const { values } = parseArgs({ options: { targets: { type: 'string' }, 'base-url': { type: 'string' }, 'code-cache': { type: 'boolean' } } });
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
const targets = values.targets ? values.targets.split(',') : Object.keys(RELEASE.targets);
for (const t of targets) if (!RELEASE.targets[t]) fail(`unknown target ${t}; known: ${Object.keys(RELEASE.targets).join(', ')}`);
const main = 'dist/sea/esp8266-sign.cjs';
if (!existsSync(main)) fail('dist/sea/esp8266-sign.cjs is missing: run npm run build first (npm run package does).');

const cacheDir = resolve('.cache', 'node');
const workDir = resolve('dist', 'executables');
const releaseDir = resolve('dist', 'release');
rmSync(workDir, { recursive: true, force: true });
rmSync(releaseDir, { recursive: true, force: true });
mkdirSync(workDir, { recursive: true });
mkdirSync(releaseDir, { recursive: true });

// a failed download, a checksum that does not match or a failed injection ends with its message,
// and leaves no half-made release behind
build().catch((err) => {
  rmSync(workDir, { recursive: true, force: true });
  rmSync(releaseDir, { recursive: true, force: true });
  fail(err.message);
});

async function build() {
  // the blob is written by the pinned Node of this machine; its format is the same for every target
  const host = hostTarget();
  const hostNode = join(workDir, host === 'win-x64' ? 'host-node.exe' : 'host-node');
  writeFileSync(hostNode, nodeBinary(host, cacheDir), { mode: 0o755 });
  const blob = seaBlob(hostNode, process.cwd(), main, workDir, false);
  const cachedBlob = values['code-cache'] ? seaBlob(hostNode, process.cwd(), main, workDir, true) : blob;

  const mtime = Number(process.env.SOURCE_DATE_EPOCH ?? commitTime());
  const started = Date.now();
  const archives = [];
  // two injections at a time: postject is single-threaded WebAssembly, and each holds ~100 MB
  const queue = [...targets];
  await Promise.all([worker(), worker()]);
  rmSync(hostNode);

  archives.sort((a, b) => targets.indexOf(a.target) - targets.indexOf(b.target));
  const baseUrl = values['base-url'] ?? pathToFileURL(releaseDir + '/').href;
  if (!values['base-url']) console.error('esp8266-sign package: warning: no --base-url, so the index fragment points at file:// URLs in dist/release (fine for a local test, not for publishing)');
  const fragment = indexFragment(version, archives, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  writeFileSync(join(releaseDir, 'package_esp8266-sign_index.json'), JSON.stringify(fragment, null, 2) + '\n');

  for (const a of archives) console.error(`${a.fileName}  ${mb(a.size)} (executable ${mb(a.executableSize)})`);
  console.error(`esp8266-sign package: ${archives.length} archives in ${Math.round((Date.now() - started) / 1000)} s, Node ${RELEASE.version}, in ${releaseDir}`);

  async function worker() {
    for (let target = queue.shift(); target; target = queue.shift()) archives.push(await buildTarget(target));
  }

  async function buildTarget(target) {
    const windows = target.startsWith('win-');
    const exeName = windows ? 'esp8266-sign.exe' : 'esp8266-sign';
    const dir = join(workDir, target);
    mkdirSync(dir);
    const exe = join(dir, exeName);
    writeFileSync(exe, nodeBinary(target, cacheDir));
    await injectBlob(exe, target === host ? cachedBlob : blob, target.startsWith('darwin-'));
    chmodSync(exe, 0o755);
    const data = readFileSync(exe);
    const root = `esp8266-sign-${version}`;
    const entries = [{ name: `${root}/`, mode: 0o755 }, { name: `${root}/${exeName}`, data, mode: 0o755 }];
    const fileName = `esp8266-sign-${version}-${target}.${windows ? 'zip' : 'tar.gz'}`;
    const archive = windows ? zip(entries, mtime) : tarGz(entries, mtime);
    const sha256 = createHash('sha256').update(archive).digest('hex');
    writeFileSync(join(releaseDir, fileName), archive);
    writeFileSync(join(releaseDir, `${fileName}.sha256`), `${sha256}  ${fileName}\n`);
    return { target, host: RELEASE.targets[target].host, fileName, sha256, size: archive.length, executableSize: data.length };
  }
}

/** The last commit's time, so archives of one commit carry the same dates; 0 outside git. */
function commitTime() {
  try {
    return execFileSync('git', ['log', '-1', '--format=%ct'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || 0;
  } catch {
    return 0;
  }
}

function mb(bytes) {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

function fail(message) {
  console.error(`esp8266-sign package: ${message}`);
  process.exit(1);
}
