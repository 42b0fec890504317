/**
 * Bad inputs to signing, each through the built CLI: a clear message naming the file, the problem
 * and the fix, a non-zero exit, and nothing written.
 */
import { createPrivateKey } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { FIXTURES, runCli, sha256, tempDir, VECTORS } from './helpers.js';

const KEY = join(VECTORS, 'keys', 'rsa2048.pkcs1.pem');
const PUB = join(VECTORS, 'keys', 'rsa2048.public.pem');
const FIRMWARE = join(VECTORS, 'bins', 'firmware-e9.bin');
const PASS = 'correct horse battery staple';

let dir: string;
beforeAll(() => {
  dir = tempDir();
  const pem = readFileSync(KEY);
  const key = createPrivateKey(pem);
  writeFileSync(join(dir, 'enc-pkcs8.pem'), key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASS }));
  writeFileSync(join(dir, 'enc-pkcs1.pem'), key.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASS }));
  writeFileSync(join(dir, 'key.der'), key.export({ type: 'pkcs8', format: 'der' }));
  writeFileSync(join(dir, 'pass.txt'), PASS + '\n');
  writeFileSync(join(dir, 'wrong.txt'), 'not it\n');
  writeFileSync(join(dir, 'empty.bin'), '');
  mkdirSync(join(dir, 'a folder.key'));
  writeFileSync(join(dir, 'a-file'), 'x');
});

/** Signs FIRMWARE into a fresh folder and returns the result plus what the folder holds afterwards. */
async function sign(args: string[], env: Record<string, string> = {}) {
  const out = join(dir, `out-${Math.random().toString(36).slice(2)}`);
  mkdirSync(out);
  const r = await runCli(['sign', '--bin', FIRMWARE, '--out', join(out, 'fw.signed'), '--legacy', join(out, 'fw.legacy_sig'), ...args], { cwd: dir, env });
  return { ...r, written: readdirSync(out) };
}

const expected = (() => {
  const m = JSON.parse(readFileSync(join(VECTORS, 'manifest.json'), 'utf8')) as { cases: Array<{ id: string; outputs: Array<{ sha256: string }> }> };
  return m.cases.find((c) => c.id === 'sign/firmware-e9_bin/rsa2048-pkcs1')!.outputs.map((o) => o.sha256);
})();

describe('keys that sign', () => {
  test.concurrent.each([
    ['PKCS#8 DER', ['--privatekey', 'key.der'], {}],
    ['encrypted PKCS#8 with the passphrase in the environment', ['--privatekey', 'enc-pkcs8.pem'], { ESP8266_SIGN_PASSPHRASE: PASS }],
    ['encrypted PKCS#1 with a passphrase file', ['--privatekey', 'enc-pkcs1.pem', '--passphrase-file', 'pass.txt'], {}],
    ['a matching --publickey', ['--privatekey', KEY, '--publickey', PUB], {}],
  ])('%s gives the signing.py bytes', async (_name, args, env) => {
    const r = await sign(args as string[], env as Record<string, string>);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toContain(PASS);
    const out = r.stderr.match(/Signed binary: (.*)\n/)![1]!;
    expect(sha256(readFileSync(out))).toBe(expected[0]);
    const legacy = r.stderr.match(/Legacy signed binary: (.*)\n/)![1]!;
    expect(sha256(readFileSync(legacy))).toBe(expected[1]);
  });
});

describe('bad inputs are refused with nothing written', () => {
  test.concurrent.each([
    ['missing key', ['--privatekey', 'nope.key'], {}, /private key .*nope\.key does not exist\. Generate a key pair/],
    ['empty key', ['--privatekey', join(VECTORS, 'keys', 'empty.key')], {}, /private key .*empty\.key is empty/],
    ['garbage key', ['--privatekey', join(VECTORS, 'keys', 'garbage.key')], {}, /garbage\.key is not a private key this tool can read/],
    ['key that is a folder', ['--privatekey', 'a folder.key'], {}, /private key .*a folder\.key is a folder, not a file/],
    ['encrypted key without passphrase', ['--privatekey', 'enc-pkcs8.pem'], {}, /enc-pkcs8\.pem is encrypted\. Set ESP8266_SIGN_PASSPHRASE or pass --passphrase-file/],
    ['encrypted key with a wrong passphrase', ['--privatekey', 'enc-pkcs1.pem', '--passphrase-file', 'wrong.txt'], {}, /enc-pkcs1\.pem could not be decrypted: wrong passphrase/],
    ['EC key', ['--privatekey', join(VECTORS, 'keys', 'ec-p256.pkcs8.pem')], {}, /is an EC key\. No ESP8266 core can verify EC signatures/],
    ['8192-bit key', ['--privatekey', join(FIXTURES, 'keys', 'rsa8192.pkcs8.pem')], {}, /8192-bit RSA key\. BearSSL on the ESP8266 verifies at most 4096-bit keys/],
    ['public key of another pair', ['--privatekey', KEY, '--publickey', join(VECTORS, 'keys', 'rsa1024.public.pem')], {}, /does not belong to public key .*rsa1024\.public\.pem/],
    ['public key given as private key', ['--privatekey', PUB], {}, /holds a public key/],
  ])('%s', async (_name, args, env, message) => {
    const r = await sign(args as string[], env as Record<string, string>);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    expect(r.stderr).not.toContain('PRIVATE KEY');
    expect(r.written).toEqual([]);
  });

  test('a wrong passphrase is never echoed', async () => {
    const r = await sign(['--privatekey', 'enc-pkcs8.pem'], { ESP8266_SIGN_PASSPHRASE: 'hunter2-secret' });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).not.toContain('hunter2-secret');
  });

  test.concurrent.each([
    ['missing --bin', 'missing.bin', /firmware .*missing\.bin does not exist\. Build the sketch first/],
    ['empty --bin', 'empty.bin', /firmware .*empty\.bin is empty \(0 bytes\)/],
    ['a --bin that is not firmware', join(VECTORS, 'bins', 'rand-4096.bin'), /does not start like an ESP8266 image \(E9\) or gzip \(1F 8B\)[\s\S]*--filesystem/],
  ])('%s', async (_name, bin, message) => {
    const out = tempDir();
    const r = await runCli(['sign', '--privatekey', KEY, '--bin', bin, '--out', join(out, 'x.signed')], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(readdirSync(out)).toEqual([]);
  });

  test('an output folder that cannot be written', async () => {
    const r = await runCli(['sign', '--privatekey', KEY, '--bin', FIRMWARE, '--out', join(dir, 'a-file', 'x.signed')], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/cannot write signed binary .*x\.signed: .*a-file is not a folder/);
  });

  test('an already-signed input (either format)', async () => {
    const out = tempDir();
    const first = await runCli(['sign', '--privatekey', KEY, '--bin', FIRMWARE, '--out', join(out, 'fw.signed'), '--legacy', join(out, 'fw.legacy')]);
    expect(first.exitCode, first.stderr).toBe(0);
    for (const [file, kind] of [['fw.signed', 'a signature'], ['fw.legacy', 'a legacy signature']]) {
      const again = await runCli(['sign', '--privatekey', KEY, '--bin', join(out, file!), '--out', join(out, 'twice')]);
      expect(again.exitCode).toBe(1);
      expect(again.stderr).toContain(`already ends in ${kind} by this key`);
      expect(existsSync(join(out, 'twice'))).toBe(false);
    }
  });
});

describe('paths', () => {
  test('spaces and non-ASCII characters in every path, named command defaults to BIN.signed', async () => {
    const d = join(tempDir(), 'Mein Sketch – ü');
    mkdirSync(d);
    cpSync(FIRMWARE, join(d, 'fw ü.bin'));
    cpSync(KEY, join(d, 'private key.pem'));
    const r = await runCli(['sign', '--privatekey', 'private key.pem', '--bin', 'fw ü.bin', '--json'], { cwd: d });
    expect(r.exitCode, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.outputs[0].path).toBe(join(d, 'fw ü.bin.signed'));
    expect(report.outputs[0].sha256).toBe(expected[0]);
    expect(report.key.fingerprint).toMatch(/^SHA256:[0-9a-f]{64}$/);
    expect(sha256(readFileSync(join(d, 'fw ü.bin.signed')))).toBe(expected[0]);
  });

  test('compat mode: a directory or missing key stays a silent no-op (unsigned sketches)', async () => {
    const out = tempDir();
    const r = await runCli(['--mode', 'sign', '--privatekey', 'a folder.key', '--bin', FIRMWARE, '--out', join(out, 'x')], { cwd: dir });
    expect(r).toMatchObject({ exitCode: 0, stderr: '' });
    expect(readdirSync(out)).toEqual([]);
  });
});

describe('sign without --privatekey uses the key lookup chain', () => {
  test('ESP8266_SIGN_PRIVATE_KEY_PEM (a CI secret) signs, and the report names the source, not the key', async () => {
    const out = tempDir();
    const r = await runCli(['sign', '--bin', FIRMWARE, '--out', join(out, 'fw.signed'), '--json'], { cwd: out, env: { ESP8266_SIGN_PRIVATE_KEY_PEM: readFileSync(KEY, 'utf8') } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).key.source).toBe('$ESP8266_SIGN_PRIVATE_KEY_PEM');
    expect(sha256(readFileSync(join(out, 'fw.signed')))).toBe(expected[0]);
    expect(r.stdout + r.stderr).not.toContain('PRIVATE KEY-----');
  });

  test('no key anywhere: the error lists where it looked', async () => {
    const out = tempDir();
    const r = await runCli(['sign', '--bin', FIRMWARE], { cwd: out });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/no private key given and none found\. Looked in: .*ESP8266_SIGN_PRIVATE_KEY/);
    expect(readdirSync(out)).toEqual([]);
  });
});
