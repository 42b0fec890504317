// npm run test:windows (after npm run package): the win-x64 executable under Debian's Wine, with
// no Node and no Python on the Windows side. Installs Wine when it is missing (as root, apt-get),
// boots a Windows 10 prefix in .cache/wine, unpacks the release zip where the Boards Manager puts a
// tool, then checks the golden vectors, keygen, a prebuild/postbuild --compress in folders whose
// names hold spaces, a quote and non-ASCII, emulate/inspect, and install into %LOCALAPPDATA%\Arduino15
// with the written recipe lines run the way arduino-cli splits and starts them.
// Wine writes nothing into a pipe from a Windows console program, so every run's stdout and
// stderr go to files.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseHeader } from '../dist/header-gen/header.js';
import { makeImage } from '../dist/image/image.js';

const started = Date.now();
const prefix = resolve('.cache', 'wine');
const wineEnv = { ...process.env, WINEPREFIX: prefix, WINEARCH: 'win64', WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' };
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
const zipFile = resolve('dist/release', `esp8266-sign-${version}-win-x64.zip`);
if (!existsSync(zipFile)) fail(`${zipFile} is missing: run npm run package first.`);

// ---- Wine ----
if (!hasCommand('wine') || !hasCommand('unzip')) {
  log('installing Wine (apt-get install wine wine64 unzip) ...');
  const apt = { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } };
  execFileSync('apt-get', ['update', '-qq'], apt);
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'wine', 'wine64', 'unzip'], apt);
}
const installedAt = Date.now();
if (!existsSync(join(prefix, 'system.reg'))) {
  log(`creating the Wine prefix ${prefix} ...`);
  execFileSync('wineboot', ['-i'], { env: wineEnv, stdio: 'ignore' });
}
// Node 22 wants Windows 10 APIs; a fresh prefix says Windows 7
execFileSync('winecfg', ['-v', 'win10'], { env: wineEnv, stdio: 'ignore' });
const user = process.env.USER ?? 'root';
const driveC = join(prefix, 'drive_c');
const localAppData = join(driveC, 'users', user, 'AppData', 'Local');
const bootedAt = Date.now();

/** A Linux path as the Windows side names it (C: is the prefix's drive_c, Z: is /). */
function win(path) {
  return path.startsWith(driveC + '/') ? `C:${path.slice(driveC.length).replaceAll('/', '\\')}` : `Z:${path.replaceAll('/', '\\')}`;
}

/** Runs a Windows program under Wine; stdout and stderr are read back from files. */
function run(program, args, cwd) {
  const out = join(work, 'last-stdout.txt');
  const err = join(work, 'last-stderr.txt');
  const fds = [openSync(out, 'w'), openSync(err, 'w')];
  const r = spawnSync('wine', [program, ...args], { cwd, env: wineEnv, stdio: ['ignore', fds[0], fds[1]], timeout: 120_000 });
  fds.forEach(closeSync);
  return { code: r.status, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
}

// ---- the tool, unpacked where the Boards Manager installs tools ----
const work = join(driveC, 'users', user, 'Documents', "Zoë's sketches – ü");
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const toolDir = join(localAppData, 'Arduino15', 'packages', 'esp8266-sign', 'tools', 'esp8266-sign', version);
rmSync(toolDir, { recursive: true, force: true });
mkdirSync(toolDir, { recursive: true });
execFileSync('unzip', ['-q', '-j', zipFile, '-d', toolDir]);
const exe = join(toolDir, 'esp8266-sign.exe');
const tool = (args, cwd = work) => run(win(exe), args, cwd);

const checks = [];
function check(name, fn) {
  const t = Date.now();
  fn();
  checks.push(`${name} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  log(`ok: ${name}`);
}

check('no node and no python on the Windows side', () => {
  for (const cmd of ['node --version', 'python --version', 'python3 --version']) {
    const r = run('cmd', ['/c', cmd], work);
    expect(r.code !== 0, `"${cmd}" ran under Wine: ${r.stdout}${r.stderr}`);
  }
  const r = tool(['--version']);
  expect(r.code === 0 && `${r.stdout}${r.stderr}`.trim() === version, `--version: exit ${r.code}, ${r.stdout}${r.stderr}`);
});

check('header and sign byte-identical to the golden vectors', () => {
  const vectors = resolve('test/fixtures/vectors');
  const dir = join(work, 'vectors');
  cpSync(join(vectors, 'keys'), join(dir, 'keys'), { recursive: true });
  cpSync(join(vectors, 'bins'), join(dir, 'bins'), { recursive: true });
  const { cases } = JSON.parse(readFileSync(join(vectors, 'manifest.json'), 'utf8'));
  const chosen = cases.filter((c) => /^header\/rsa(1024|2048|4096)-spki$|^header\/rsa2048-(crlf|nonl)$|^sign\/firmware-e9_bin\//.test(c.id));
  expect(chosen.length === 11, `expected 11 vector cases, found ${chosen.length}`);
  for (const c of chosen) {
    for (const o of c.outputs) mkdirSync(dirname(join(dir, o.path)), { recursive: true });
    const r = tool(c.argv, dir);
    expect(r.code === 0, `${c.id}: exit ${r.code}: ${r.stderr}`);
    for (const o of c.outputs) expect(sha256(readFileSync(join(dir, o.path))) === o.sha256, `${c.id}: ${o.path} differs from the golden vector`);
  }
});

check('keygen into a folder with a space, a quote and non-ASCII; its public key makes a header', () => {
  const dir = join(work, "Zoë's keys");
  const r = tool(['keygen', '--dir', win(dir)]);
  expect(r.code === 0, `keygen: ${r.stderr}`);
  expect(readFileSync(join(dir, 'private.key'), 'utf8').startsWith('-----BEGIN PRIVATE KEY-----'), 'private.key is not PKCS#8 PEM');
  const h = tool(['header', '--publickey', win(join(dir, 'public.key')), '--out', win(join(dir, 'Updater_Signing.h'))]);
  expect(h.code === 0 && /#define ARDUINO_SIGNING 1/.test(readFileSync(join(dir, 'Updater_Signing.h'), 'latin1')), `header: ${h.stderr}`);
});

const sketch = join(work, "Zoë's Sketch");
check('prebuild + postbuild --compress: the same signed files as the Linux CLI writes', () => {
  const build = join(work, 'build – ü');
  const bin = buildLayout(sketch, build);
  const pre = tool(['prebuild', '--sketch-dir', win(sketch), '--build-dir', win(build), '--core-version', '3.1.2']);
  expect(pre.code === 0, `prebuild: ${pre.stderr}`);
  writeFileSync(join(build, 'sketch.ino.bin'), bin(readFileSync(join(build, 'core', 'Updater_Signing.h'), 'latin1')));
  const post = tool(['postbuild', ...postbuildArgs(win(sketch), win(build)), '--compress']);
  expect(post.code === 0, `postbuild: ${post.stderr}`);
  // the same inputs through the Linux CLI must give the same signed files
  const linux = join(work, 'linux build');
  cpSync(build, linux, { recursive: true });
  const ref = spawnSync(process.execPath, ['bin/esp8266-sign.js', 'postbuild', ...postbuildArgs(sketch, linux), '--compress'], { encoding: 'utf8' });
  expect(ref.status === 0, `Linux postbuild: ${ref.stderr}`);
  for (const f of ['sketch.ino.bin.signed', 'sketch.ino.bin.gz.signed']) {
    expect(existsSync(join(build, f)), `${f} was not written`);
    expect(sha256(readFileSync(join(build, f))) === sha256(readFileSync(join(linux, f))), `${f} differs from the Linux build`);
  }
});

check('emulate and inspect', () => {
  const file = win(join(work, 'build – ü', 'sketch.ino.bin.gz.signed'));
  const e = tool(['emulate', file, '--core', '3.1.2', '--pubkey', win(join(sketch, 'public.key')), '--layout', '4M2M', '--json']);
  expect(e.code === 0, `emulate: exit ${e.code}: ${e.stderr}`);
  const verdict = JSON.parse(e.stdout);
  expect(verdict.accepted === true && verdict.boots === true, `emulate: ${e.stdout}`);
  const i = tool(['inspect', file, '--json']);
  expect(i.code === 0 && /gzip/i.test(i.stdout), `inspect: ${i.stdout}${i.stderr}`);
});

check('install into %LOCALAPPDATA%\\Arduino15, then the recipe lines run as arduino-cli runs them', () => {
  const core = join(localAppData, 'Arduino15', 'packages', 'esp8266', 'hardware', 'esp8266', '3.1.2');
  rmSync(core, { recursive: true, force: true });
  mkdirSync(core, { recursive: true });
  cpSync(resolve('test/fixtures/fake-core/esp8266/platform.txt'), join(core, 'platform.txt'));
  for (const form of [[], ['--tool-path']]) {
    const r = tool(['install', ...form]);
    expect(r.code === 0, `install ${form.join(' ')}: ${r.stderr}`);
    const local = readFileSync(join(core, 'platform.local.txt'), 'utf8');
    expect(local.includes(form.length ? '"{runtime.tools.esp8266-sign.path}/esp8266-sign" prebuild' : `"${win(exe)}" prebuild`), `install ${form.join(' ')} wrote:\n${local}`);
    const props = new Map(local.split(/\r?\n/).filter((l) => l.startsWith('recipe.')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const build = join(work, `ide build${form.length ? ' tool' : ''}`);
    const bin = buildLayout(sketch, build);
    const values = {
      'build.source.path': win(sketch), 'build.path': win(build), version: '3.1.2', 'build.project_name': 'sketch.ino',
      'build.flash_size': '4M', 'build.flash_mode': 'dio', 'build.spiffs_start': '0x200000', 'build.spiffs_end': '0x3FA000',
      'runtime.tools.esp8266-sign.path': win(toolDir),
    };
    const recipe = (key) => splitQuotedString(props.get(key).replace(/\{([a-z0-9._-]+)\}/g, (m, k) => values[k] ?? m));
    const pre = startLikeArduinoCli(recipe('recipe.hooks.sketch.prebuild.pattern'));
    expect(pre.code === 0, `prebuild recipe: ${pre.stderr}`);
    writeFileSync(join(build, 'sketch.ino.bin'), bin(readFileSync(join(build, 'core', 'Updater_Signing.h'), 'latin1')));
    const post = startLikeArduinoCli(recipe('recipe.objcopy.hex.2.pattern'));
    expect(post.code === 0 && post.stderr.includes('Signed binary: '), `objcopy recipe: ${post.stderr}`);
    const d = tool(['doctor', '--json']);
    const reported = JSON.parse(d.stdout).cores.find((c) => c.version === '3.1.2');
    expect(reported?.installed && reported.current, `doctor after install ${form.join(' ')}: ${d.stdout}${d.stderr}`);
  }
});

stopWine();
const total = (Date.now() - started) / 1000;
log(`${checks.length} passed, 0 failed`);
log(`Wine install ${((installedAt - started) / 1000).toFixed(1)} s, prefix ${((bootedAt - installedAt) / 1000).toFixed(1)} s, checks ${((Date.now() - bootedAt) / 1000).toFixed(1)} s, total ${total.toFixed(1)} s`);

/** A sketch folder with the 2.048-bit pair and an empty build folder; returns the objcopy step. */
function buildLayout(sketchDir, buildDir) {
  mkdirSync(join(buildDir, 'core'), { recursive: true });
  mkdirSync(sketchDir, { recursive: true });
  cpSync(resolve('test/fixtures/vectors/keys/rsa2048.pkcs8.pem'), join(sketchDir, 'private.key'));
  cpSync(resolve('test/fixtures/vectors/keys/rsa2048.public.pem'), join(sketchDir, 'public.key'));
  return (header) => makeImage({ flashMode: 'dio', size: 300_000, embed: parseHeader(header) ?? undefined, label: 'windows test' });
}

function postbuildArgs(sketchDir, buildDir) {
  return ['postbuild', '--sketch-dir', sketchDir, '--build-dir', buildDir, '--project-name', 'sketch.ino', '--core-version', '3.1.2',
    '--flash-size', '4M', '--flash-mode', 'dio', '--fs-start', '0x200000', '--fs-end', '0x3FA000'].slice(1);
}

/**
 * arduino-cli's properties.SplitQuotedString(pattern, `"'`, false): the pattern is cut at every
 * space; a piece starting with a quote opens an argument that runs to the piece ending with it.
 */
function splitQuotedString(src) {
  const args = [];
  let open = null;
  for (const piece of src.split(' ')) {
    if (open === null) {
      if (piece === '') continue;
      if (piece[0] !== '"' && piece[0] !== "'") {
        args.push(piece);
        continue;
      }
      open = { quote: piece[0], text: '' };
      const rest = piece.slice(1);
      if (rest.length > 0 && rest.endsWith(open.quote)) {
        args.push(rest.slice(0, -1));
        open = null;
      } else open.text = rest;
      continue;
    }
    if (piece.endsWith(open.quote)) {
      args.push(`${open.text} ${piece.slice(0, -1)}`);
      open = null;
    } else open.text += ` ${piece}`;
  }
  if (open !== null) fail(`unterminated quote in recipe: ${src}`);
  return args;
}

/** Go's exec.Command on Windows adds .exe to a path that names no existing file (lookExtensions). */
function startLikeArduinoCli([program, ...args]) {
  return run(/\.[a-z]+$/i.test(program) ? program : `${program}.exe`, args, work);
}

function expect(ok, message) {
  if (!ok) fail(message);
}

function sha256(data) {
  return createHash('sha256').update(data).digest('hex');
}

function hasCommand(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

function log(message) {
  console.error(`esp8266-sign test:windows: ${message}`);
}

/** Ends the prefix's wineserver and the Windows processes it keeps, so nothing outlives the run. */
function stopWine() {
  spawnSync('wineserver', ['-k'], { env: wineEnv, stdio: 'ignore' });
}

function fail(message) {
  if (hasCommand('wineserver')) stopWine();
  log(`FAILED: ${message}`);
  process.exit(1);
}
