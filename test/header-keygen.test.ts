import { existsSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseHeader, renderHeader } from '../src/header-gen/header.js';
import { decodeDevicePublicKey, keyAsStrlenSees } from '../src/emulator/bearssl.js';
import { FIXTURES, runCli, sha256, tempDir, VECTORS } from './helpers.js';

const PUB = readFileSync(join(VECTORS, 'keys', 'rsa2048.public.pem'));
const SPKI_HEADER = renderHeader(PUB);

/** The header's array bytes, as the firmware sees them. */
function embeddedBytes(header: string): Buffer {
  return parseHeader(header)!;
}

describe('header for keys signing.py would embed unusably', () => {
  const dir = tempDir();
  const one = PUB.toString().replace(/\n/g, '');
  writeFileSync(join(dir, 'bom.pem'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), PUB]));
  writeFileSync(join(dir, 'oneline.pem'), one);
  test.concurrent.each([
    ['a UTF-8 BOM', 'bom.pem', /no "-----BEGIN PUBLIC KEY-----" line the device recognises/],
    ['a key on one line', 'oneline.pem', /cannot be loaded by the device as written/],
    ['a private key', join(VECTORS, 'keys', 'rsa2048.pkcs8.pem'), /it is a private key/],
  ])('%s is embedded as SPKI PEM, with a warning', async (_n, key, warning) => {
    const out = join(dir, `${Math.random()}`, 'core', 'Updater_Signing.h');
    const r = await runCli(['header', '--publickey', key, '--out', out], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(warning);
    expect(r.stderr).toMatch(/Enabling binary signing\n$/);
    const header = readFileSync(out, 'latin1');
    expect(header).toBe(SPKI_HEADER);
    expect(decodeDevicePublicKey(keyAsStrlenSees(embeddedBytes(header))).kind).toBe('rsa');
  });

  test.concurrent.each([
    ['garbage', join(VECTORS, 'keys', 'garbage.key'), /garbage\.key does not contain a key this tool can read/],
    ['an 8192-bit key', join(FIXTURES, 'keys', 'rsa8192.pkcs8.pem'), /8192-bit RSA key/],
  ])('%s is refused and nothing is written', async (_n, key, message) => {
    const out = join(dir, `${Math.random()}`, 'Updater_Signing.h');
    const r = await runCli(['header', '--publickey', key, '--out', out]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });

  test('an unchanged header keeps its mtime; --json says it was not written', async () => {
    const out = join(dir, 'same', 'Updater_Signing.h');
    mkdirSync(join(dir, 'same'));
    writeFileSync(out, SPKI_HEADER.replace(/\n/g, '\r\n'));
    const old = new Date('2001-09-09T01:46:40Z');
    const { utimesSync } = await import('node:fs');
    utimesSync(out, old, old);
    const r = await runCli(['header', '--publickey', join(VECTORS, 'keys', 'rsa2048.public.pem'), '--out', out, '--json']);
    expect(r.exitCode).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.header.written).toBe(false);
    expect(report.signing).toBe(true);
    expect(report.publicKey.embedded).toBe('as-is');
    expect(statSync(out).mtimeMs).toBe(old.getTime());
  });
});

describe('keygen', () => {
  test('writes a device-loadable pair, owner-only private key, and never overwrites', async () => {
    const dir = join(tempDir(), 'keys here');
    const r = await runCli(['keygen', '--dir', dir, '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const priv = readFileSync(join(dir, 'private.key'), 'utf8');
    const pub = readFileSync(join(dir, 'public.key'));
    expect(priv).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(r.stderr).not.toContain(priv.split('\n')[1]!);
    if (process.platform !== 'win32') expect(statSync(join(dir, 'private.key')).mode & 0o777).toBe(0o600);
    const device = decodeDevicePublicKey(pub);
    expect(device.kind === 'rsa' && device.n.length).toBe(256);
    expect(createPublicKey(createPrivateKey(priv)).export({ type: 'spki', format: 'pem' })).toBe(pub.toString());
    const before = sha256(priv);
    const again = await runCli(['keygen', '--dir', dir]);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/private\.key already exists; keygen never overwrites keys/);
    expect(sha256(readFileSync(join(dir, 'private.key'), 'utf8'))).toBe(before);
  });

  test('an encrypted 3072-bit key signs with its passphrase', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'pass'), 's3cret\n');
    const r = await runCli(['keygen', '--bits', '3072', '--passphrase-file', 'pass'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'private.key'), 'utf8')).toMatch(/ENCRYPTED PRIVATE KEY/);
    const s = await runCli(['sign', '--privatekey', 'private.key', '--publickey', 'public.key', '--bin', join(VECTORS, 'bins', 'firmware-e9.bin'), '--out', 'fw.signed'], { cwd: dir, env: { ESP8266_SIGN_PASSPHRASE: 's3cret' } });
    expect(s.exitCode, s.stderr).toBe(0);
    const signed = readFileSync(join(dir, 'fw.signed'));
    expect(signed.readUInt32LE(signed.length - 4)).toBe(384);
  });

  test('rejects a size no device profile wants', async () => {
    const r = await runCli(['keygen', '--bits', '1024', '--dir', tempDir()]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--bits.*1024.*not one of the allowed choices|Allowed choices are 2048, 3072, 4096/);
  });
});

describe('the header fast path: a key exactly as OpenSSL writes it skips node:crypto', () => {
  const keys = join(VECTORS, 'keys');
  test('an OpenSSL-written SPKI PEM of any size and exponent gets the same bits, warnings and bytes as OpenSSL\'s parse', async () => {
    const { canonicalRsaKeyBits, chooseEmbeddedKey } = await import('../src/header-gen/header.js');
    const { checkDeviceKey, spkiPem } = await import('../src/keys/check.js');
    const { generateKeyPairSync } = await import('node:crypto');
    // odd sizes and a small exponent put the top bit of the modulus and exponent on both sides of a byte
    const generated = [512, 520, 1000, 1023, 1025, 2047, 2049].flatMap((bits) => [65537, 3].map((e) => spkiPem(generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: e }).publicKey)));
    const files = ['rsa1024.public.pem', 'rsa2048.public.pem', 'rsa4096.public.pem'].map((f) => readFileSync(join(keys, f)));
    for (const pem of [...files, ...generated]) {
      const key = createPublicKey(pem);
      const slow = checkDeviceKey(key, 'k.pem');
      expect(canonicalRsaKeyBits(pem)).toBe(slow.bits);
      const chosen = chooseEmbeddedKey(pem, 'k.pem');
      expect(chosen).toEqual({ bytes: pem, bits: slow.bits, warnings: slow.warnings });
    }
  });

  test('every other form goes through OpenSSL: CRLF, no final newline, PKCS#1, DER, private keys, EC, junk around the key', async () => {
    const { canonicalRsaKeyBits } = await import('../src/header-gen/header.js');
    const pem = readFileSync(join(keys, 'rsa2048.public.pem'));
    const others = [
      ...['rsa2048.public.crlf.pem', 'rsa2048.public.nonl.pem', 'rsa2048.public.rsapub.pem', 'rsa2048.public.der', 'rsa2048.pkcs8.pem', 'rsa2048.pkcs1.pem', 'ec-p256.public.pem', 'garbage.key', 'empty.key'].map((f) => readFileSync(join(keys, f))),
      Buffer.concat([pem, Buffer.from('\n')]),
      Buffer.concat([Buffer.from('# key\n'), pem]),
      Buffer.from(pem.toString().replace(/\n(?!-)/, '')), // one base64 line joined to the next
    ];
    for (const bytes of others) expect(canonicalRsaKeyBits(bytes)).toBeNull();
    expect(canonicalRsaKeyBits(pem)).toBe(2048);
  });

  test('--mode header with a canonical key and an unchanged header (every build after the first) never loads node:crypto; with --json it does', async () => {
    const dir = tempDir();
    const probe = join(dir, 'probe.cjs');
    // a preload that reports, at exit, whether the process loaded node:crypto
    writeFileSync(probe, "process.on('exit', () => process.stderr.write(`crypto loaded: ${process.moduleLoadList.includes('NativeModule crypto')}\\n`));");
    const run = (extra: string[]) => runCli(['--mode', 'header', '--publickey', join(keys, 'rsa2048.public.pem'), '--out', join(dir, `${extra.length}.h`), ...extra], { env: { NODE_OPTIONS: `--require "${probe}"` } });
    // the first run writes the header (its temporary file's name is random: crypto); the next only reads it
    const first = await run([]);
    expect(first.exitCode, first.stderr).toBe(0);
    const plain = await run([]);
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(plain.stderr).toMatch(/crypto loaded: false/);
    expect(readFileSync(join(dir, '0.h'), 'utf8')).toBe(SPKI_HEADER);
    const json = await runCli(['header', '--publickey', join(keys, 'rsa2048.public.pem'), '--out', join(dir, 'j.h'), '--json'], { env: { NODE_OPTIONS: `--require "${probe}"` } });
    expect(json.stderr).toMatch(/crypto loaded: true/);
  });
});
