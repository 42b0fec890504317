// Start-up of the single executable (npm run package) against Node running bin/esp8266-sign.js:
// the host's Node, the pinned Node the executable is made of, the executable, and the executable
// with V8's code cache (built here into bench/.cache, as `npm run package -- --code-cache` would).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostTarget, nodeBinary, RELEASE } from '../scripts/release/node-binaries.js';
import { injectBlob, seaBlob } from '../scripts/release/sea.js';

export async function executableSection({ root, work, median, cli, rounds }) {
  const target = hostTarget();
  const exe = join(root, 'dist', 'executables', target, target.startsWith('win-') ? 'esp8266-sign.exe' : 'esp8266-sign');
  if (!existsSync(exe)) {
    console.log('\n  single executable: skipped, run npm run package first.');
    return;
  }
  const cache = join(root, 'bench', '.cache', 'executable');
  mkdirSync(cache, { recursive: true });
  const pinned = join(cache, 'node');
  if (!existsSync(pinned)) writeFileSync(pinned, nodeBinary(target, join(root, '.cache', 'node')), { mode: 0o755 });
  const cached = join(cache, 'esp8266-sign-code-cache');
  copyFileSync(pinned, cached);
  await injectBlob(cached, seaBlob(pinned, root, 'dist/sea/esp8266-sign.cjs', cache, true), target.startsWith('darwin-'));

  const pub = join(root, 'sample', 'Blink', 'public.key');
  const key = join(root, 'sample', 'Blink', 'private.key');
  const commands = {
    '--version': ['--version'],
    '--mode header': ['--mode', 'header', '--publickey', pub, '--out', 'core/exe.h'],
    '--mode sign --legacy': ['--mode', 'sign', '--privatekey', key, '--bin', 'fw.bin', '--out', 'exe.signed', '--legacy', 'exe.legacy_sig'],
  };
  const runners = [
    { name: `node ${process.version} bin/esp8266-sign.js`, run: (args) => [process.execPath, [cli, ...args]] },
    { name: `node v${RELEASE.version} bin/esp8266-sign.js`, run: (args) => [pinned, [cli, ...args]] },
    { name: 'executable', run: (args) => [exe, args] },
    { name: 'executable + code cache', run: (args) => [cached, args] },
  ];
  const tasks = Object.entries(commands).flatMap(([c, args]) => runners.map((r) => ({ id: `${r.name}: ${c}`, c, r: r.name, spawn: r.run(args) })));
  const times = new Map(tasks.map((t) => [t.id, []]));
  for (let round = 0; round < rounds + 2; round++) {
    for (let i = 0; i < tasks.length; i++) {
      const t = tasks[(i + round) % tasks.length];
      const start = process.hrtime.bigint();
      const res = spawnSync(t.spawn[0], t.spawn[1], { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });
      if (res.status !== 0) throw new Error(`${t.id} failed: ${res.stderr}`);
      if (round >= 2) times.get(t.id).push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  }
  console.log(`\n  single executable (${target}), medians of wall time (ms):`);
  for (const t of tasks) console.log(`    ${t.id.padEnd(58)} ${median(times.get(t.id)).toFixed(1).padStart(7)}`);
}
