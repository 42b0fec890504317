/** emulate, verify and inspect answer for any file a device can receive (issue 9 §3, §4, §7; issue 14), through the built CLI. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { makeImage, makeRunningImage } from '../src/image/image.js';
import { gzWithLengthMod4, image, signWith } from './device-helpers.js';
import { runCli, tempDir, VECTORS } from './helpers.js';

const dir = tempDir();
const KEYS = join(VECTORS, 'keys');
const PUB = join(KEYS, 'rsa2048.public.pem');
const img = image({ size: 250_000, flashMode: 'dio' });
const fs = Buffer.alloc(64 * 1024);
for (let i = 0; i < fs.length; i++) fs[i] = (i * 131) & 0xff;
fs[2] = 2;
const files: Record<string, Uint8Array> = {
  'empty.bin': new Uint8Array(0),
  'one.bin': Uint8Array.of(0xe9),
  'fw.bin': img,
  'fw.bin.signed': signWith(img),
  'fw.bin.gz.signed': signWith(gzWithLengthMod4(img, 0)),
  // 20 MiB of zeros: more than any flash; ISIZE (mod 2^32) says so too
  'bomb.bin.gz': gzipSync(Buffer.alloc(20 * 1024 * 1024)),
  'fs.bin': fs,
  // an app image with a single segment
  'one-segment.bin': makeRunningImage({ flashMode: 'dio', flashSize: '4M' }),
  'fs.bin.signed': signWith(fs),
  'ec.pub': Buffer.from(''),
};
for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
const emulate = (args: string[]) => runCli(['emulate', ...args], { cwd: dir });
const json = (stdout: string) => JSON.parse(stdout);

describe('an empty upload', () => {
  test('emulate: Update.begin(0) fails with error 5, exit 3', async () => {
    const r = await emulate(['empty.bin', '--core', '3.1.2', '--pubkey', PUB, '--json']);
    expect(r.exitCode, r.stderr).toBe(3);
    expect(json(r.stdout)).toMatchObject({ accepted: false, stage: 'begin', updaterError: { code: 5, text: 'ERROR[5]: Bad Size Given' } });
  });

  test('verify of a 0-byte file is not accepted on any core', async () => {
    const r = await runCli(['verify', 'empty.bin', '--pubkey', PUB, '--json'], { cwd: dir });
    expect(r.exitCode).toBe(3);
    const { results } = json(r.stdout);
    expect(results).toHaveLength(7);
    for (const row of results) expect(row).toMatchObject({ accepted: false, cause: expect.stringMatching(/Update.begin\(0\) fails/) });
  });

  test('inspect describes it', async () => {
    const r = await runCli(['inspect', 'empty.bin'], { cwd: dir });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/0 bytes, empty: a device refuses it \(Update.begin\(0\) fails with error 5, Bad Size Given\)/);
  });
});

describe('a compiled-in key the device cannot load', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['an EC key', ['--pubkey', join(KEYS, 'ec-p256.public.pem')], /it is an EC key/],
    ['PKCS#1 embedded as is', ['--pubkey', join(KEYS, 'rsa2048.public.rsapub.pem'), '--pubkey-as-is'], /PKCS#1/],
    ['DER embedded as is', ['--pubkey', join(KEYS, 'rsa2048.public.der'), '--pubkey-as-is'], /zero byte \(offset \d+, as DER does\): the firmware reads it with strlen/],
    ['garbage', ['--pubkey', join(KEYS, 'garbage.key')], /PEM|BEGIN PUBLIC KEY/],
  ];
  for (const [what, args, reason] of cases) {
    test(`${what}: emulate runs the device, which rejects the signed update with error 12 and says why`, async () => {
      const r = await emulate(['fw.bin.signed', '--core', '3.1.2', ...args, '--json']);
      expect(r.exitCode, r.stderr).toBe(3);
      const v = json(r.stdout);
      expect(v).toMatchObject({ accepted: false, updaterError: { code: 12 } });
      expect(v.cause).toMatch(/compiled-in public key cannot verify anything, so every signed update fails/);
      expect(v.cause).toMatch(reason);
      expect(r.stderr).not.toMatch(/BEGIN (EC |RSA )?PRIVATE/);
    });
  }

  test('verify and inspect answer too instead of refusing the EC key', async () => {
    const ec = join(KEYS, 'ec-p256.public.pem');
    const v = await runCli(['verify', 'fw.bin.signed', '--pubkey', ec], { cwd: dir });
    expect(v.exitCode).toBe(3);
    expect(v.stderr).toMatch(/warning: public key .* is not one esp8266-sign header would embed/);
    expect(v.stderr).toMatch(/REJECTED  cores after 3.1.2 \(3.2.0-dev\)\n +cause: the firmware's compiled-in public key cannot verify anything/);
    const i = await runCli(['inspect', 'fw.bin.signed', '--pubkey', ec], { cwd: dir });
    expect(i.exitCode).toBe(0);
    expect(i.stderr).toMatch(/key: the device cannot use it, so it rejects every signed update \(error 12\) — it is an EC key/);
  });
});

describe('inflation is bounded by the flash', () => {
  test('a gzip that inflates past 16 MiB gets a clear answer from inspect, verify and emulate within seconds', async () => {
    const t = Date.now();
    const i = await runCli(['inspect', 'bomb.bin.gz', '--json'], { cwd: dir });
    expect(i.exitCode, i.stderr).toBe(0);
    expect(json(i.stdout).gzip.inflateProblem).toMatch(/inflates to more than 16 MiB, more than any ESP8266 flash holds/);
    expect(json(i.stdout).kind).toBe('gzip that cannot be inflated');
    const e = await emulate(['bomb.bin.gz', '--core', '3.1.2']);
    expect(e.exitCode).toBe(3);
    expect(e.stderr).not.toMatch(/RangeError|at .*\.js:/);
    const v = await runCli(['verify', 'bomb.bin.gz', '--pubkey', PUB], { cwd: dir });
    expect(v.exitCode).toBe(3);
    expect(Date.now() - t).toBeLessThan(20_000);
  });
});

describe('core versions', () => {
  test('a newer 3.x than modelled uses the newest profile, with a warning', async () => {
    const r = await emulate(['fw.bin', '--core', '3.9.9']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^esp8266-sign: warning: core 3.9.9 is newer than the newest modelled \(after 3.1.2 \(3.2.0-dev\)\); using the 3.2.0-dev profile\n/);
    const v = await runCli(['verify', 'fw.bin.signed', '--pubkey', PUB, '--core', '3.3.0'], { cwd: dir });
    expect(v.exitCode).toBe(0);
    expect(v.stderr).toMatch(/warning: core 3.3.0 is newer than the newest modelled/);
  });

  for (const version of ['9.9.9', '4.0.0', '1.6.0']) {
    test(`${version} is a usage error listing what is known`, async () => {
      const r = await emulate(['fw.bin', '--core', version]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(/^esp8266-sign: core .* Known: 2.5.0–2.7.4, 3.0.0–3.1.2, 3.2.x \(or latest\)\.\n$/);
    });
  }
});

describe('emulate arguments', () => {
  test('--fs-start without --fs-end, or the reverse, is a usage error naming both', async () => {
    for (const args of [['--fs-start', '0x300000'], ['--fs-end', '0x3fa000']]) {
      const r = await emulate(['fw.bin', '--core', '3.1.2', ...args]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(/--fs-start and --fs-end go together/);
    }
  });

  test('byte counts take decimal digits or 0x-hex only', async () => {
    for (const [option, value] of [['--chunk', '1e3'], ['--chunk', '0b11'], ['--chunk', '1.5'], ['--running-sketch-size', '1e5']]) {
      const r = await emulate(['fw.bin', '--core', '3.1.2', option!, value!]);
      expect(r.exitCode, `${option} ${value}`).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`${option} "${value!.replace('.', '\\.')}" is not a byte count`));
    }
    const ok = await emulate(['fw.bin', '--core', '3.1.2', '--chunk', '0x5b4', '--running-sketch-size', '250000']);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/in 172 chunks of 1460/);
  });
});

describe('diagnoses come from the stage that failed, for that core', () => {
  test('a signed .gz on 2.6.x: blamed on 2.6.x not taking gzip, not on the key', async () => {
    const r = await emulate(['fw.bin.gz.signed', '--core', '2.6.3', '--pubkey', PUB, '--layout', '4M2M', '--json']);
    expect(r.exitCode).toBe(3);
    const v = json(r.stdout);
    expect(v.cause).toMatch(/core 2.6.3 cannot take gzip-compressed updates/);
    expect(v.cause).not.toMatch(/another key|changed after signing/);
  });

  test('verify: a signed gzip is taken by 2.7.x but does not boot, and says why; 3.x take and boot it', async () => {
    const r = await runCli(['verify', 'fw.bin.gz.signed', '--pubkey', PUB, '--json'], { cwd: dir });
    expect(r.exitCode).toBe(0);
    const rows = json(r.stdout).results as Array<{ core: string; accepted: boolean; boots: boolean; cause: string | null }>;
    expect(rows.find((row) => row.core === '2.7.0–2.7.4')).toMatchObject({ accepted: true, boots: false, cause: expect.stringMatching(/signature-length trailer \(256\) as the gzip ISIZE/) });
    expect(rows.slice(4).every((row) => row.accepted && row.boots)).toBe(true);
    const text = await runCli(['verify', 'fw.bin.gz.signed', '--pubkey', PUB, '--core', '2.7.4'], { cwd: dir });
    expect(text.stderr).toMatch(/^accepted, but does not boot:  cores 2.7.0–2.7.4\n +cause: /);
  });

  test('a 1-byte E9 file: rejected at boot, with the cause that it is no image (not about signed gzip or 2.7.x)', async () => {
    const r = await emulate(['one.bin', '--core', '3.1.2']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/Verdict: REJECTED at boot\n +cause: the image is only 1 byte, too short/);
    expect(r.stderr).not.toMatch(/2\.7|signed gzip|1 bytes|1 chunks|1 sectors|header loads/);
    const signed = await emulate(['one.bin', '--core', '3.1.2', '--pubkey', PUB]);
    expect(signed.stderr).toMatch(/cause: the file is only 1 byte: too short to carry a signature/);
    expect(signed.stderr).not.toMatch(/null|undefined/);
  });

  test('no JavaScript values and no broken plurals in any text', async () => {
    const outs = await Promise.all([
      emulate(['one.bin', '--core', '2.5.2', '--pubkey', PUB]),
      emulate(['one.bin', '--core', '3.1.2', '--chunk', '1']),
      runCli(['inspect', 'one.bin', '--pubkey', PUB], { cwd: dir }),
      runCli(['inspect', 'fw.bin.signed', '--pubkey', PUB], { cwd: dir }),
      runCli(['inspect', 'one-segment.bin'], { cwd: dir }),
    ]);
    for (const r of outs) {
      expect(r.stderr).not.toMatch(/undefined|null|NaN|\b1 (bytes|segments|chunks|sectors)\b|on after/);
    }
    expect(outs[3]!.stderr).toMatch(/verifies on cores after 3.1.2 \(3.2.0-dev\)/);
    expect(outs[4]!.stderr).toMatch(/app @0x1000: .*, 1 segment, ends at/);
  });
});

describe('filesystem updates (issue 14)', () => {
  test('an unsigned filesystem image on a signing device without ATOMIC_FS_UPDATE: rejected, "the filesystem was already overwritten"', async () => {
    const r = await emulate(['fs.bin', '--filesystem', '--core', '3.1.2', '--pubkey', PUB, '--layout', '4M1M']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/REJECTED at end — ERROR\[12\]/);
    expect(r.stderr).toMatch(/filesystem: holds the new image/);
    expect(r.stderr).toMatch(/cause: the filesystem was already overwritten/);
    expect(r.stderr).toMatch(/-DATOMIC_FS_UPDATE/);
  });

  test('the same with --atomic-fs: rejected, the old filesystem survived (JSON)', async () => {
    const r = await emulate(['fs.bin', '--filesystem', '--atomic-fs', '--core', '3.1.2', '--pubkey', PUB, '--layout', '4M1M', '--json']);
    expect(r.exitCode).toBe(3);
    expect(json(r.stdout)).toMatchObject({ command: 'fs', accepted: false, filesystemUpdated: false, filesystemIntact: true });
  });

  test('a signed filesystem image with --atomic-fs boots with the new filesystem after eboot\'s failed start and a reset', async () => {
    const r = await emulate(['fs.bin.signed', '--filesystem', '--atomic-fs', '--core', '3.0.2', '--pubkey', PUB, '--layout', '4M1M', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const v = json(r.stdout);
    expect(v).toMatchObject({ accepted: true, boots: true, filesystemUpdated: true, filesystemIntact: false, eboot: { result: 0 } });
    expect(v.log.join('\n')).toMatch(/the start fails and the device resets/);
  });

  test('--atomic-fs on 2.5.x is refused with the reason; --atomic-fs without --filesystem is a usage error', async () => {
    const a = await emulate(['fs.bin.signed', '--filesystem', '--atomic-fs', '--core', '2.5.2', '--layout', '4M1M']);
    expect(a.exitCode).toBe(2);
    expect(a.stderr).toMatch(/cores 2.5.0–2.5.2 have no ATOMIC_FS_UPDATE \(it arrived in 2.6.0\)/);
    const b = await emulate(['fw.bin', '--atomic-fs', '--core', '3.1.2']);
    expect(b.exitCode).toBe(2);
    expect(b.stderr).toMatch(/use it with --filesystem/);
  });

  test('verify --filesystem decides per core; 2.5.x rows say what --atomic-fs means there', async () => {
    const r = await runCli(['verify', 'fs.bin.signed', '--pubkey', PUB, '--filesystem', '--atomic-fs', '--json'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const { results, command } = json(r.stdout);
    expect(command).toBe('fs');
    expect(results[0]).toMatchObject({ core: '2.5.0–2.5.2', accepted: false, cause: expect.stringMatching(/no ATOMIC_FS_UPDATE/) });
    expect(results.slice(1).every((row: { accepted: boolean }) => row.accepted)).toBe(true);
  });

  test('verify --filesystem per core: signed in place taken everywhere (2.5.x takes the legacy form), unsigned and tampered rejected everywhere', async () => {
    const tampered = signWith(fs);
    tampered[1000]! ^= 4;
    writeFileSync(join(dir, 'fs-tampered.bin.signed'), tampered);
    const rows = async (name: string) => {
      const r = await runCli(['verify', name, '--pubkey', PUB, '--filesystem', '--json'], { cwd: dir });
      return json(r.stdout).results as Array<{ core: string; accepted: boolean; cause: string | null }>;
    };
    const signed = await rows('fs.bin.signed');
    expect(signed.map((r) => r.accepted)).toEqual([false, true, true, true, true, true, true]);
    expect(signed[0]!.cause).toMatch(/already overwritten.*legacy signature format/);
    for (const name of ['fs.bin', 'fs-tampered.bin.signed']) {
      for (const row of await rows(name)) {
        expect(row.accepted, `${name} ${row.core}`).toBe(false);
        expect(row.cause).toMatch(/^the filesystem was already overwritten/);
      }
    }
  });

  test('inspect --filesystem names the kind', async () => {
    const r = await runCli(['inspect', 'fs.bin.signed', '--filesystem', '--pubkey', PUB], { cwd: dir });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/65796 bytes, filesystem image\n/);
  });

  test('--real-flash-size: a 4M running header on a 2M chip fails begin() with error 8', async () => {
    const r = await emulate(['fw.bin', '--core', '3.1.2', '--layout', '4M1M', '--real-flash-size', '2M', '--json']);
    expect(r.exitCode).toBe(3);
    const v = json(r.stdout);
    expect(v).toMatchObject({ stage: 'begin', updaterError: { code: 8, text: 'ERROR[8]: Flash config wrong: real: 2097152, SDK: 4194304' } });
    expect(v.cause).toMatch(/header says 4 MB of flash but the chip has 2 MB/);
  });

  test('--real-flash-size: a new image whose header is larger than the chip is error 9', async () => {
    writeFileSync(join(dir, 'big.bin'), makeImage({ size: 200_000, flashSize: '4M' }));
    const r = await emulate(['big.bin', '--core', '2.7.4', '--layout', '2M64', '--real-flash-size', '2M', '--json']);
    expect(r.exitCode).toBe(3);
    expect(json(r.stdout)).toMatchObject({ stage: 'end', updaterError: { code: 9 } });
  });
});
