/** The IDE / arduino-cli path: install's network_pattern, expanded as the IDE does, uploads through the test device. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { NETWORK_KEY, networkLines, parseProperties, renderBlock } from '../src/arduino/recipes.js';
import { runDoctor, runInstall, runUninstall } from '../src/commands/arduino.js';
import { PUB2048 } from './device-helpers.js';
import { captureIo, ROOT, runCli, tempDir } from './helpers.js';
import { ArduinoOtaDevice } from './devices/arduino-ota-device.js';
import { buildDir } from './devices/build-dir.js';

const LAUNCHER = { node: '/opt/node/bin/node', cli: '/opt/esp8266 sign/bin/esp8266-sign.js' };
/** The network line of each core's platform.txt, as shipped (2.5.2–2.7.4 without -I, 3.x with). */
const ESPOTA_LINE: Record<string, string> = {
  '2.5.2': 'tools.esptool.upload.network_pattern="{network_cmd}" "{runtime.platform.path}/tools/espota.py" -i "{serial.port}" -p "{network.port}" "--auth={network.password}" -f "{build.path}/{build.project_name}.bin"',
  '3.1.2': 'tools.esptool.upload.network_pattern="{network_cmd}" -I "{runtime.platform.path}/tools/espota.py" -i "{serial.port}" -p "{network.port}" "--auth={network.password}" -f "{build.path}/{build.project_name}.bin"',
};
const core = (version: string) => ({ version, properties: parseProperties(`version=${version}\n${ESPOTA_LINE[version]}\n`) });

/** Splits a pattern into arguments the way the IDE's command-line parser does: double quotes group. */
function splitPattern(text: string): string[] {
  return [...text.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

const devices: ArduinoOtaDevice[] = [];
afterEach(async () => {
  for (const d of devices.splice(0)) await d.stop();
});

describe('tools.esptool.upload.network_pattern', () => {
  test.each(['2.5.2', '3.1.2'])('core %s: overridden with the same placeholders espota gets, the build folder instead of the .bin', (v) => {
    expect(renderBlock(core(v), LAUNCHER)).toContain(`\n${NETWORK_KEY}=`);
    const line = Object.fromEntries(networkLines(LAUNCHER))[NETWORK_KEY]!;
    expect(line.startsWith(`"${LAUNCHER.node}" "${LAUNCHER.cli}" upload `)).toBe(true);
    for (const placeholder of ['"{serial.port}"', '"{network.port}"', '"--auth={network.password}"', '"{build.path}"', '"{build.project_name}"']) expect(line).toContain(placeholder);
    const theirs = ESPOTA_LINE[v]!.match(/\{[a-z_.]+\}/g)!.filter((p) => !['{network_cmd}', '{runtime.platform.path}'].includes(p));
    for (const p of theirs) expect(line).toContain(p);
  });

  test('the reference platform.local.txt carries the same line for esp8266-sign on PATH', () => {
    const local = parseProperties(readFileSync(join(ROOT, 'platform.local.txt'), 'utf8'));
    expect(local.get(NETWORK_KEY)).toBe(Object.fromEntries(networkLines('path'))[NETWORK_KEY]);
  });

  test('as the IDE expands it (address, port, password, build folder), it uploads the proven artifact', async () => {
    const b = buildDir();
    const d = new ArduinoOtaDevice({ key: PUB2048, runningSketchSize: 120_000, password: 'ide secret' });
    await d.start();
    devices.push(d);
    const pattern = Object.fromEntries(networkLines('path'))[NETWORK_KEY]!;
    const expanded = pattern
      .replaceAll('{serial.port}', '127.0.0.1')
      .replaceAll('{network.port}', String(d.port))
      .replaceAll('{network.password}', 'ide secret')
      .replaceAll('{build.path}', b.dir)
      .replaceAll('{build.project_name}', b.project);
    const [tool, ...args] = splitPattern(expanded);
    expect(tool).toBe('esp8266-sign');
    // loopback-only test flags after the pattern's own
    const r = await runCli([...args, '--host-ip', '127.0.0.1', '--host-port', '0', '--timeout', '2']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(b.signedPath);
    expect(r.stderr).not.toContain('ide secret');
    expect(d.flashHead(b.bin.length).equals(b.bin)).toBe(true);
  });
});

test('a device without a password: the IDE passes "--auth=" empty, and the upload goes ahead', async () => {
  const b = buildDir();
  const d = new ArduinoOtaDevice({ key: PUB2048, runningSketchSize: 120_000 });
  await d.start();
  devices.push(d);
  const r = await runCli(['upload', '--host', '127.0.0.1', '--port', String(d.port), '--auth=', '--build-dir', b.dir, '--project-name', b.project, '--host-ip', '127.0.0.1', '--host-port', '0', '--timeout', '2']);
  expect(r.exitCode, r.stderr).toBe(0);
});

test('placeholders the builder left unexpanded ({network.password}, {network.port}) count as not given', async () => {
  const b = buildDir();
  const d = new ArduinoOtaDevice({ key: PUB2048, runningSketchSize: 120_000 });
  await d.start();
  devices.push(d);
  const r = await runCli(['upload', '--host', '127.0.0.1', '--port', String(d.port), '--auth={network.password}', '--build-dir', b.dir, '--project-name', b.project, '--host-ip', '127.0.0.1', '--host-port', '0', '--timeout', '2']);
  expect(r.exitCode, r.stderr).toBe(0);
  const secret = new ArduinoOtaDevice({ key: PUB2048, runningSketchSize: 120_000, password: 'p' });
  await secret.start();
  devices.push(secret);
  const asks = await runCli(['upload', '--host', '127.0.0.1', '--port', String(secret.port), '--auth={network.password}', '--build-dir', b.dir, '--project-name', b.project, '--host-ip', '127.0.0.1', '--host-port', '0', '--timeout', '2']);
  expect(asks.stderr).toContain('auth: the device asks for a password');
  const noPort = await runCli(['upload', '--host', '127.0.0.1', '--port', '{network.port}', '--build-dir', b.dir, '--project-name', b.project, '--json', '--no-check', '--host-ip', '127.0.0.1', '--host-port', '0', '--timeout', '0.2', '--retries', '0']);
  expect(JSON.parse(noPort.stdout).port).toBe(8266);
});

describe('install, uninstall and doctor', () => {
  test('install writes the network line, doctor shows it, uninstall removes it', () => {
    const home = tempDir();
    const dir = join(home, 'esp8266 core');
    mkdirSync(dir);
    writeFileSync(join(dir, 'platform.txt'), `name=ESP8266 Boards (3.1.2)\nversion=3.1.2\n${ESPOTA_LINE['3.1.2']}\n`);
    const io = captureIo(home, { HOME: home });
    const before = captureIo(home, { HOME: home });
    runDoctor({ coreDir: dir, json: true }, before, LAUNCHER);
    expect(JSON.parse(before.out).cores[0].networkUpload).toBe('espota.py');
    expect(runInstall({ coreDir: dir }, io, LAUNCHER)).toBe(0);
    const local = readFileSync(join(dir, 'platform.local.txt'), 'utf8');
    expect(local).toContain(`${NETWORK_KEY}="${LAUNCHER.node}" "${LAUNCHER.cli}" upload --host "{serial.port}"`);
    expect(local).toBe(renderBlock(core('3.1.2'), LAUNCHER));
    const after = captureIo(home, { HOME: home });
    runDoctor({ coreDir: dir }, after, LAUNCHER);
    expect(after.err).toContain('installed, current; network uploads: esp8266-sign upload');
    expect(runUninstall({ coreDir: dir }, captureIo(home, { HOME: home }))).toBe(0);
    const gone = captureIo(home, { HOME: home });
    runDoctor({ coreDir: dir, json: true }, gone, LAUNCHER);
    expect(JSON.parse(gone.out).cores[0]).toMatchObject({ installed: false, networkUpload: 'espota.py' });
  });
});
