/**
 * The whole delivery story through the built CLI: prebuild writes the header, the "compiler"
 * embeds its key, postbuild signs, compresses and proves, publish makes the release, serve answers
 * a test ESP8266 that boots it and then hears 304.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { parseHeader } from '../src/header-gen/header.js';
import { makeImage } from '../src/image/image.js';
import { runCli, tempDir, VECTORS } from './helpers.js';
import { HttpUpdateDevice } from './devices/http-update-client.js';
import { startServe } from './devices/serve-process.js';

test('prebuild → postbuild --compress → publish → serve: a 3.1.2 device boots the signed gzip, then hears 304', async () => {
  const root = tempDir();
  const sketch = join(root, 'Door Sensor');
  const build = join(root, 'build');
  mkdirSync(sketch);
  mkdirSync(join(build, 'core'), { recursive: true });
  writeFileSync(join(sketch, 'Door Sensor.ino'), 'void setup() {}\nvoid loop() {}\n');
  writeFileSync(join(sketch, 'private.key'), readFileSync(join(VECTORS, 'keys', 'rsa2048.pkcs8.pem')));
  chmodSync(join(sketch, 'private.key'), 0o600);
  const pre = await runCli(['prebuild', '--sketch-dir', sketch, '--build-dir', build, '--core-version', '3.1.2']);
  expect(pre.exitCode, pre.stderr).toBe(0);
  const key = parseHeader(readFileSync(join(build, 'core', 'Updater_Signing.h'), 'latin1'))!;
  writeFileSync(join(build, 'Door Sensor.ino.bin'), makeImage({ size: 280_000, embed: key, label: 'door sensor 2.0.0', flashMode: 'dio' }));
  const post = await runCli(['postbuild', '--sketch-dir', sketch, '--build-dir', build, '--project-name', 'Door Sensor.ino', '--core-version', '3.1.2',
    '--flash-size', '4M', '--flash-mode', 'dio', '--fs-start', '0x200000', '--fs-end', '0x3FA000', '--compress']);
  expect(post.exitCode, post.stderr).toBe(0);

  const releases = join(root, 'releases');
  const pub = await runCli(['publish', '--build-dir', build, '--project-name', 'Door Sensor.ino', '--version', '2.0.0', '--to', releases, '--json']);
  expect(pub.exitCode, pub.stderr).toBe(0);
  const release = JSON.parse(pub.stdout);
  expect(release.artifacts.map((a: { kind: string }) => a.kind)).toContain('gzip-signed');

  const rules = join(root, 'rules.json');
  writeFileSync(rules, JSON.stringify({ default: { channel: 'stable', core: '3.1.2' } }));
  const s = await startServe(['--releases', releases, '--rules', rules, '--json']);
  try {
    const running = makeImage({ size: 250_000, embed: key, label: 'door sensor 1.9.0', flashMode: 'dio' });
    const device = new HttpUpdateDevice({ core: '3.1.2', layout: '4M2M', mode: 'dout', key, mac: '18:FE:34:DE:AD:01', running, version: '1.9.0', takesServerVersion: true });
    const first = await device.poll(`${s.url}/door/update`);
    expect(first.outcome, first.verdict?.cause ?? '').toBe('HTTP_UPDATE_OK');
    expect(first.headers['content-length']).toBe(String(release.artifacts.find((a: { kind: string }) => a.kind === 'gzip-signed').size));
    expect(device.version).toBe('2.0.0');
    const second = await device.poll(`${s.url}/door/update`);
    expect(second.outcome).toBe('HTTP_UPDATE_NO_UPDATES');
    const log = await s.jsonLines(2);
    expect(log.map((e) => [e.status, e.artifact])).toEqual([[200, 'Door Sensor.ino.bin.gz.signed'], [304, null]]);
  } finally {
    await s.stop();
  }
});
