/** emulate, verify and inspect through the built CLI. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli, tempDir, VECTORS } from './helpers.js';
import { gzWithLengthMod4, image, signWith } from './device-helpers.js';

const dir = tempDir();
const PUB = join(VECTORS, 'keys', 'rsa2048.public.pem');
const img = image({ size: 250_000, flashMode: 'dio' });
writeFileSync(join(dir, 'fw.bin.signed'), signWith(img));
writeFileSync(join(dir, 'fw.bin.legacy_sig'), signWith(img, undefined, 'legacy'));
writeFileSync(join(dir, 'fw.bin.gz.signed'), signWith(gzWithLengthMod4(img, 1)));

describe('emulate', () => {
  test('a signed image boots on 3.1.2: exit 0, JSON verdict', async () => {
    const r = await runCli(['emulate', 'fw.bin.signed', '--core', '3.1.2', '--pubkey', PUB, '--flash-size', '4M', '--fs-start', '0x300000', '--fs-end', '0x3fa000', '--json'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const v = JSON.parse(r.stdout);
    expect(v).toMatchObject({ accepted: true, boots: true, bootloaderIntact: true, updaterError: null, eboot: { result: 0 }, stage: 'done', cause: null });
  });

  test('a flash-mode mismatch: exit 3 with the device error, the cause and the fix', async () => {
    const r = await runCli(['emulate', 'fw.bin.signed', '--core', '3.1.2', '--pubkey', PUB, '--layout', '4M2M', '--running-flash-mode', 'qio'], { cwd: dir });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/Verdict: REJECTED at end — ERROR\[12\]: Signature verification failed/);
    expect(r.stderr).toMatch(/cause: the image was built for flash mode dio but the device runs qio/);
    expect(r.stderr).toMatch(/fix: +build with Flash Mode QIO/);
  });

  test('signed gzip on 2.7.4: exit 3, the bootloader is not intact', async () => {
    const r = await runCli(['emulate', 'fw.bin.gz.signed', '--core', '2.7.4', '--pubkey', PUB, '--layout', '4M2M', '--json'], { cwd: dir });
    expect(r.exitCode).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ accepted: true, boots: false, bootloaderIntact: false });
  });

  test('bad arguments are usage errors', async () => {
    const r = await runCli(['emulate', 'fw.bin.signed', '--core', 'banana'], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--core banana is not a core version/);
    const m = await runCli(['emulate', 'missing.bin', '--core', '3.1.2'], { cwd: dir });
    expect(m.exitCode).toBe(1);
    expect(m.stderr).toMatch(/file .*missing\.bin does not exist/);
  });
});

describe('verify and inspect', () => {
  test('verify explains a legacy signature on a 3.x device', async () => {
    const r = await runCli(['verify', 'fw.bin.legacy_sig', '--pubkey', PUB, '--core', '3.0.2'], { cwd: dir });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/carries a legacy \(2\.5\.x\) signature/);
    const ok = await runCli(['verify', 'fw.bin.legacy_sig', '--pubkey', PUB, '--core', '2.5.2'], { cwd: dir });
    expect(ok.exitCode).toBe(0);
  });

  test('inspect reports the trailer, gzip alignment and per-core verdicts', async () => {
    const r = await runCli(['inspect', 'fw.bin.gz.signed', '--pubkey', PUB, '--json'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.kind).toBe('gzip-compressed ESP8266 image');
    expect(rep.signature.length).toBe(256);
    expect(rep.gzip.flags).toContain('FEXTRA');
    expect(rep.image.app.flashMode).toBe('dio');
    const byCore = Object.fromEntries(rep.verifiesOn.map((v: { core: string; accepted: boolean }) => [v.core, v.accepted]));
    expect(byCore['3.1.0–3.1.2']).toBe(false);
    expect(byCore['3.0.0–3.0.2']).toBe(true);
  });
});
