// serve against the OTA documentation's PHP sample under `php -S`, on the same release, side by side.
// Two measurements per server:
// - capacity: 500 devices poll back to back (a closed loop; every device already runs the release,
//   so every answer is a 304): requests per second. The load comes from ApacheBench (`ab`, HTTP/1.0
//   like the device, written in C) when it is there or can be installed, because a Node client costs
//   about as much CPU per request as the server and would measure itself; otherwise from the Node
//   devices below, with a note.
// - fleet: 500 emulated devices (own MACs, the device's header set and order, one HTTP/1.0 request
//   per connection) each polling every FLEET_PERIOD_MS from a random phase, 1 in 20 still on an
//   older version and downloading the 1 MiB signed image: latency p50/p99 of the 304s and of the
//   200s (to the last byte), and the server's peak memory (VmHWM) over both measurements.
//
// The PHP script is upstream text and never part of this project: OTA_README names a copy of
// esp8266/Arduino's doc/ota_updates/readme.rst after 3.1.2 (git show master:doc/ota_updates/readme.rst);
// the script is cut out of it at run time and only its device table is replaced (the one in the
// docs is not valid JSON). The script in the 3.1.2 and older docs reads request headers from
// $_SERVER under their raw names, which PHP never sets, so it cannot answer a device as written. php-cli (and ab) are
// installed with apt-get when missing and we run as root; otherwise that side is skipped with a note.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';

const DEVICES = Number(process.env.BENCH_SERVE_DEVICES ?? 500);
/** Capacity: requests in the closed loop. */
const CAPACITY_REQUESTS = Number(process.env.BENCH_SERVE_REQUESTS ?? 5000);
/** Fleet: each device polls this often, for FLEET_MS. */
const FLEET_PERIOD_MS = 2000;
const FLEET_MS = Number(process.env.BENCH_SERVE_FLEET_MS ?? 8000);
const OUTDATED_EVERY = 20;
/** Every poll is bounded, like the device's HTTP client timeout (8 s in 3.1.x), but generous for a loaded machine. */
const POLL_TIMEOUT_MS = 30_000;
const VERSION = '1.0.0';

const mac = (i) => `18:FE:34:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`.toUpperCase();

function head(port, i, { version, md5 }) {
  return [
    'GET /update.php HTTP/1.0',
    `Host: 127.0.0.1:${port}`,
    'User-Agent: ESP8266-http-Update',
    'Connection: close',
    `x-ESP8266-Chip-ID: ${1000 + i}`,
    `x-ESP8266-STA-MAC: ${mac(i)}`,
    `x-ESP8266-AP-MAC: ${mac(i + 0x800000)}`,
    'x-ESP8266-free-space: 2097152',
    'x-ESP8266-sketch-size: 1048576',
    `x-ESP8266-sketch-md5: ${md5}`,
    'x-ESP8266-chip-size: 4194304',
    'x-ESP8266-sdk-version: 2.2.2-dev(38a443e)',
    'x-ESP8266-mode: sketch',
    `x-ESP8266-version: ${version}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** One poll: connect, send, read to the end; status and bytes of body. */
function poll(port, text) {
  return new Promise((resolve) => {
    const start = performance.now();
    const sock = connect(port, '127.0.0.1');
    let first = null;
    let bytes = 0;
    const timer = setTimeout(() => sock.destroy(new Error('timeout')), POLL_TIMEOUT_MS);
    sock.on('connect', () => sock.write(text));
    sock.on('data', (c) => {
      if (first === null) first = c.subarray(0, 16).toString('latin1');
      bytes += c.length;
    });
    const done = (error) => {
      clearTimeout(timer);
      const status = first ? Number(/^HTTP\/1\.[01] (\d{3})/.exec(first)?.[1] ?? 0) : 0;
      resolve({ status, bytes, ms: performance.now() - start, error: error ? error.code ?? error.message : null });
    };
    sock.on('error', done);
    sock.on('end', () => {
      done(null);
      sock.destroy();
    });
  });
}

const pct = (xs, q) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] : NaN);
const sorted = (results, status) => results.filter((r) => r.status === status).map((r) => r.ms).sort((a, b) => a - b);

function deviceHead(port, i, installedMd5) {
  const old = i % OUTDATED_EVERY === 0;
  return head(port, i, old ? { version: '0.9.0', md5: '0'.repeat(32) } : { version: VERSION, md5: installedMd5 });
}

/** Closed loop with Node devices: each polls again as soon as it has its answer. */
async function capacityNode(port, installedMd5) {
  let left = CAPACITY_REQUESTS;
  const results = [];
  const start = performance.now();
  await Promise.all(Array.from({ length: DEVICES }, async (_, i) => {
    const text = head(port, i, { version: VERSION, md5: installedMd5 });
    while (left-- > 0) results.push(await poll(port, text));
  }));
  const ok = results.filter((r) => r.status === 304).length;
  return { rps: results.length / ((performance.now() - start) / 1000), errors: results.length - ok };
}

/** Closed loop with ApacheBench: the same request a 304-device sends. */
function capacityAb(port, installedMd5) {
  const lines = head(port, 1, { version: VERSION, md5: installedMd5 }).split('\r\n').slice(2, -3).filter((l) => !l.startsWith('Connection'));
  const args = ['-q', '-n', String(CAPACITY_REQUESTS), '-c', String(DEVICES), '-s', '30', ...lines.flatMap((l) => ['-H', l]), `http://127.0.0.1:${port}/update.php`];
  const r = spawnSync('ab', args, { encoding: 'utf8' });
  const rps = Number(/Requests per second:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? NaN);
  const non304 = Number(/Non-2xx responses:\s+(\d+)/.exec(r.stdout)?.[1] ?? 0);
  const failed = Number(/Failed requests:\s+(\d+)/.exec(r.stdout)?.[1] ?? 0);
  // every answer must be a 304 ("Non-2xx"); anything else counts as an error
  return { rps, errors: failed + (CAPACITY_REQUESTS - non304) };
}

/** Open loop: every device polls every FLEET_PERIOD_MS from its own random phase. */
async function fleet(port, installedMd5) {
  const results = [];
  const until = performance.now() + FLEET_MS;
  await Promise.all(Array.from({ length: DEVICES }, async (_, i) => {
    const text = deviceHead(port, i, installedMd5);
    let next = performance.now() + Math.random() * FLEET_PERIOD_MS;
    while (next < until) {
      await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
      results.push(await poll(port, text));
      next += FLEET_PERIOD_MS;
    }
  }));
  const l304 = sorted(results, 304);
  const l200 = sorted(results, 200);
  return {
    requests: results.length,
    n200: l200.length,
    errors: results.filter((r) => r.error || (r.status !== 304 && r.status !== 200)).length,
    p50: pct(l304, 0.5),
    p99: pct(l304, 0.99),
    p50200: pct(l200, 0.5),
    p99200: pct(l200, 0.99),
  };
}

/** User + system CPU seconds the process has used so far (Linux: /proc/<pid>/stat), NaN elsewhere. */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
/** USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK). */
const CLOCK_TICKS = 100;

function peakMiB(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, ms = 15000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const ok = await new Promise((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

/** A published 1 MiB release: prebuild, a firmware embedding the key, postbuild, publish, all through the CLI. */
async function makeRelease(root, work, cli) {
  const { renderHeader, parseHeader } = await import('../dist/header-gen/header.js');
  const { makeImage } = await import('../dist/image/image.js');
  const sketch = join(work, 'ServeBench');
  const build = join(work, 'serve-build');
  mkdirSync(join(build, 'core'), { recursive: true });
  mkdirSync(sketch, { recursive: true });
  for (const f of ['private.key', 'public.key']) copyFileSync(join(root, 'sample', 'Blink', f), join(sketch, f));
  chmodSync(join(sketch, 'private.key'), 0o600);
  writeFileSync(join(sketch, 'ServeBench.ino'), 'void setup() {}\nvoid loop() {}\n');
  const run = (args) => {
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${args[0]} failed: ${r.stderr}`);
    return r;
  };
  run(['prebuild', '--sketch-dir', sketch, '--build-dir', build, '--core-version', '3.1.2']);
  const embed = parseHeader(readFileSync(join(build, 'core', 'Updater_Signing.h'), 'latin1'));
  writeFileSync(join(build, 'ServeBench.ino.bin'), makeImage({ size: 1 << 20, embed, label: 'serve bench', flashMode: 'dio' }));
  run(['postbuild', '--sketch-dir', sketch, '--build-dir', build, '--project-name', 'ServeBench.ino', '--core-version', '3.1.2', '--flash-size', '4M', '--flash-mode', 'dio', '--fs-start', '0x300000', '--fs-end', '0x3FA000', '--no-legacy']);
  const releases = join(work, 'releases');
  run(['publish', '--build-dir', build, '--project-name', 'ServeBench.ino', '--version', VERSION, '--to', releases]);
  const manifest = JSON.parse(readFileSync(join(releases, 'stable', VERSION, 'release.json'), 'utf8'));
  const signed = manifest.artifacts.find((a) => a.kind === 'signed');
  return { releases, file: join(releases, 'stable', VERSION, signed.name), installedMd5: signed.sketchMd5.dio };
}

/** The docs' PHP script with its device table replaced by ours; null and a note when it cannot be had. */
function phpScript(dir, file) {
  const docs = process.env.OTA_README;
  if (!docs) return { note: 'OTA_README (a copy of esp8266/Arduino doc/ota_updates/readme.rst) is not set' };
  let text;
  try {
    text = readFileSync(docs, 'utf8');
  } catch {
    return { note: `OTA_README=${docs} cannot be read` };
  }
  const lines = text.split('\n');
  const at = lines.findIndex((l, i) => /^\.\. code:: php/.test(l) && /<\?PHP/i.test(lines.slice(i, i + 4).join('\n')));
  if (at < 0) return { note: `${docs} has no PHP code block` };
  const body = [];
  for (const l of lines.slice(at + 1)) {
    if (l.trim() !== '' && !/^\s/.test(l)) break;
    body.push(l.replace(/^ {4}/, ''));
  }
  const db = Object.fromEntries(Array.from({ length: DEVICES }, (_, i) => [mac(i), { file: 'release.bin', version: VERSION }]));
  const script = body.join('\n').replace(/\$db_string = '[\s\S]*?';/, () => `$db_string = '${JSON.stringify(db)}';`);
  if (!script.includes('release.bin')) return { note: `the PHP block in ${docs} has no $db_string to replace (use the readme after 3.1.2; older ones read headers from $_SERVER)` };
  copyFileSync(file, join(dir, 'release.bin'));
  writeFileSync(join(dir, 'update.php'), script);
  if (spawnSync('php', ['-v'], { stdio: 'ignore' }).status !== 0) {
    if (process.getuid?.() === 0) spawnSync('sh', ['-c', 'apt-get install -y php-cli >/dev/null 2>&1 || (apt-get update >/dev/null 2>&1 && apt-get install -y php-cli >/dev/null 2>&1)'], { stdio: 'ignore' });
    if (spawnSync('php', ['-v'], { stdio: 'ignore' }).status !== 0) return { note: 'php-cli is not installed and could not be installed (needs root and apt-get)' };
  }
  return { script: join(dir, 'update.php') };
}

/** Capacity runs per server, interleaved across the servers so that a burst of load from elsewhere hits them all alike; the median is reported. */
const CAPACITY_ROUNDS = Number(process.env.BENCH_SERVE_ROUNDS ?? 3);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Every server started at once, warmed up, measured in interleaved capacity rounds, then each one's fleet run. */
async function measureAll(servers, installedMd5, useAb) {
  const running = [];
  try {
    for (const s of servers) {
      const port = await freePort();
      running.push({ ...s, port, proc: s.start(port), runs: [] });
      await waitForPort(port);
    }
    for (const r of running) await fleet(r.port, installedMd5); // warm-up: the first run of every code path
    for (let round = 0; round < CAPACITY_ROUNDS; round++) {
      for (const r of running) {
        const cpuBefore = cpuSeconds(r.proc.pid);
        const run = useAb ? capacityAb(r.port, installedMd5) : await capacityNode(r.port, installedMd5);
        // the server's CPU per answer: steadier than req/s on a shared machine, and what the rate is bounded by
        run.cpuUs = ((cpuSeconds(r.proc.pid) - cpuBefore) * 1e6) / CAPACITY_REQUESTS;
        r.runs.push(run);
      }
    }
    const rows = [];
    for (const r of running) {
      const capacity = { rps: median(r.runs.map((x) => x.rps)), cpuUs: median(r.runs.map((x) => x.cpuUs)), errors: r.runs.reduce((n, x) => n + x.errors, 0), all: r.runs.map((x) => x.rps) };
      rows.push({ name: r.name, capacity, fleet: await fleet(r.port, installedMd5), peak: peakMiB(r.proc.pid) });
    }
    return rows;
  } finally {
    for (const r of running) {
      r.proc.kill('SIGTERM');
      await new Promise((resolve) => (r.proc.exitCode !== null ? resolve() : r.proc.once('exit', resolve)));
    }
  }
}

function haveAb() {
  if (spawnSync('ab', ['-V'], { stdio: 'ignore' }).status === 0) return true;
  if (process.getuid?.() === 0) spawnSync('sh', ['-c', 'apt-get install -y apache2-utils >/dev/null 2>&1'], { stdio: 'ignore' });
  return spawnSync('ab', ['-V'], { stdio: 'ignore' }).status === 0;
}

export async function serveSection({ root, work, cli }) {
  const { releases, file, installedMd5 } = await makeRelease(root, work, cli);
  const useAb = process.env.BENCH_SERVE_AB !== '0' && haveAb();
  const phpDir = join(work, 'php');
  mkdirSync(phpDir, { recursive: true });
  const php = phpScript(phpDir, file);
  const servers = [{ name: 'esp8266-sign serve', start: (port) => spawn(process.execPath, [cli, 'serve', '--releases', releases, '--listen', `127.0.0.1:${port}`], { stdio: 'ignore' }) }];
  if (php.script) servers.push({ name: 'OTA docs PHP script, php -S', start: (port) => spawn('php', ['-S', `127.0.0.1:${port}`, php.script], { cwd: phpDir, stdio: 'ignore' }) });
  // What this machine can do at all, measured the same way: servers that answer 304 and nothing else.
  servers.push({ name: 'bare Node: fixed 304', bare: true, start: (port) => spawn(process.execPath, [join(root, 'bench', 'bare-304.cjs'), String(port)], { stdio: 'ignore' }) });
  if (php.script) {
    writeFileSync(join(phpDir, 'bare.php'), '<?php http_response_code(304);\n');
    servers.push({ name: 'bare PHP: http_response_code', bare: true, start: (port) => spawn('php', ['-S', `127.0.0.1:${port}`, join(phpDir, 'bare.php')], { cwd: phpDir, stdio: 'ignore' }) });
  }
  const measured = await measureAll(servers, installedMd5, useAb);
  const rows = measured.filter((_, i) => !servers[i].bare);
  const bare = measured.filter((_, i) => servers[i].bare);

  const f = (n) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
  console.log(`\n  serve: ${DEVICES} devices, one 1 MiB signed release (${process.platform} ${process.arch}, node ${process.version})`);
  console.log(`    capacity: ${CAPACITY_REQUESTS} polls back to back, all 304, from ${useAb ? 'ApacheBench (ab)' : 'Node devices (no ab: the client may be what is measured)'}`);
  console.log(`    fleet: each device polls every ${FLEET_PERIOD_MS / 1000} s for ${FLEET_MS / 1000} s, 1 in ${OUTDATED_EVERY} downloads the image each time`);
  console.log(`    ${'server'.padEnd(30)} ${'304 req/s'.padStart(10)} │ ${'fleet reqs'.padStart(10)} ${'304 p50'.padStart(8)} ${'304 p99'.padStart(8)} ${'200 p50'.padStart(8)} ${'200 p99'.padStart(8)} ${'errors'.padStart(6)} │ ${'peak MiB'.padStart(8)}`);
  for (const r of [...rows, ...bare]) {
    console.log(`    ${r.name.padEnd(30)} ${f(r.capacity.rps).padStart(10)} │ ${String(r.fleet.requests).padStart(10)} ${f(r.fleet.p50).padStart(8)} ${f(r.fleet.p99).padStart(8)} ${f(r.fleet.p50200).padStart(8)} ${f(r.fleet.p99200).padStart(8)} ${String(r.capacity.errors + r.fleet.errors).padStart(6)} │ ${f(r.peak).padStart(8)}`);
  }
  const ours = rows[0];
  const ratio = rows.length === 2 ? `serve / PHP, 304 req/s: ${(ours.capacity.rps / rows[1].capacity.rps).toFixed(1)}× (target ≥ 5×); ` : `PHP side skipped: ${php.note}. `;
  console.log(`    ${ratio}serve 304 p99 ${f(ours.fleet.p99)} ms (target < 50 ms), peak ${f(ours.peak)} MiB (target < 100 MiB)`);
  // the bare servers answer the outdated devices 304 too: their fleet columns have no 200s
  console.log(`    server CPU per 304 in the capacity runs (median): ${[...rows, ...bare].map((r) => `${r.name} ${f(r.capacity.cpuUs)} µs`).join(', ')}`);
  console.log(`    every capacity run, req/s: ${[...rows, ...bare].map((r) => `${r.name} ${r.capacity.all.map((x) => x.toFixed(0)).join(' / ')}`).join('; ')}`);
  const share = (a, b) => (b ? `${Math.round((a.capacity.rps / b.capacity.rps) * 100)}%` : 'n/a');
  console.log(`    of the bare servers' 304 rate: serve ${share(ours, bare[0])} of bare Node${php.script ? `, the PHP script ${share(rows[1], bare[1])} of bare PHP; 5× the PHP script would be ${share({ capacity: { rps: 5 * rows[1].capacity.rps } }, bare[0])} of bare Node` : ''}`);
}

// `node bench/serve.js` runs this section alone (after npm run build)
if (process.argv[1] && import.meta.url === (await import('node:url')).pathToFileURL(process.argv[1]).href) {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { dirname } = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const work = mkdtempSync(join(tmpdir(), 'esp8266-sign-serve-bench-'));
  try {
    await serveSection({ root, work, cli: join(root, 'bin', 'esp8266-sign.js') });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
