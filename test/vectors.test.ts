/**
 * Every case signing.py was recorded on, replayed through the built CLI. Where a correct tool must
 * do the same, it must write the same bytes and print the same lines; where signing.py is wrong
 * (README "Differences from signing.py"), the case asserts the better behaviour instead.
 */
import { existsSync, readFileSync, statSync, utimesSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli, sha256, vectorWorkdir, VECTORS } from './helpers.js';

interface Case {
  id: string;
  argv: string[];
  exit_code: number;
  stderr: string;
  outputs: Array<{ path: string; sha256: string }>;
  outputs_absent: string[];
  deterministic: boolean;
  precondition?: string;
}

const manifest = JSON.parse(readFileSync(join(VECTORS, 'manifest.json'), 'utf8')) as { cases: Case[] };
const SPKI_2048_HEADER = manifest.cases.find((c) => c.id === 'header/rsa2048-spki')!.outputs[0]!.sha256;

type Expect =
  | { kind: 'same'; extraArgs?: string[]; warning?: RegExp }
  | { kind: 'converted'; sha256: string; warning: RegExp; path?: string }
  | { kind: 'refused'; exitCode: number; message: RegExp; absent?: string[]; extraArgs?: string[] };

/** What this tool does, case by case, where it differs from signing.py (and why, in the README). */
function expectationFor(c: Case): Expect {
  const id = c.id;
  // signing.py signs any non-empty input; so does --mode sign, warning that a device takes it only as a filesystem image
  const notFirmware = /^sign\/(one_bin|rand-409\d_bin)\//.test(id) || /^sign\/variants\/(no-legacy|crlf-private-key)$/.test(id);
  if (notFirmware) return { kind: 'same', warning: /^esp8266-sign: warning: bins\/[\w-]+\.bin is not a sketch image: fine for a filesystem update, rejected by the device as a sketch/m };
  if (id === 'sign/variants/legacy-same-as-out') return { kind: 'same', warning: /esp8266-sign: warning: --out and --legacy both name .*same\.signed: as with signing\.py, it ends up holding the legacy signature/ };
  if (id.startsWith('sign/empty_bin/')) return { kind: 'refused', exitCode: 1, message: /firmware bins\/empty\.bin is empty \(0 bytes\)/ };
  switch (id) {
    case 'header/ec-p256-spki':
      return { kind: 'refused', exitCode: 1, message: /is an EC key\. No ESP8266 core can verify EC signatures/, absent: c.outputs.map((o) => o.path) };
    case 'header/rsa2048-der':
      return { kind: 'converted', sha256: SPKI_2048_HEADER, warning: /it is DER; the firmware reads the embedded key with strlen/ };
    case 'header/rsa2048-rsapub':
      return { kind: 'converted', sha256: SPKI_2048_HEADER, warning: /PKCS#1 "RSA PUBLIC KEY"; the device decoder fails/ };
    case 'header/empty-file':
      return { kind: 'refused', exitCode: 1, message: /public key keys\/empty\.key is empty/, absent: c.outputs.map((o) => o.path) };
    case 'header/out-without-directory-crashes':
      // signing.py crashes on makedirs(''); writing into the current folder is what was asked.
      return { kind: 'converted', sha256: SPKI_2048_HEADER, warning: /^Enabling binary signing\n$/, path: 'Updater_Signing.h' };
    case 'header/no-publickey-arg-crashes':
      return { kind: 'refused', exitCode: 2, message: /--mode header needs --publickey/ };
    case 'mode/missing':
      return { kind: 'refused', exitCode: 2, message: /Usage: esp8266-sign[\s\S]*--mode header\|sign/ };
    case 'mode/unknown':
      return { kind: 'refused', exitCode: 2, message: /ERROR: Mode not specified as header or sign/ };
    case 'argparse/unknown-option':
      return { kind: 'refused', exitCode: 2, message: /unrecognized argument: --bogus/ };
    case 'sign/variants/ec-p256':
    case 'sign/variants/ec-p256-pkcs8':
      return { kind: 'refused', exitCode: 1, message: /is an EC key/, absent: c.outputs.map((o) => o.path) };
    case 'sign/errors/garbage-private-key':
      return { kind: 'refused', exitCode: 1, message: /private key keys\/garbage\.key is not a private key this tool can read/ };
    case 'sign/errors/public-key-as-private-key':
      return { kind: 'refused', exitCode: 1, message: /private key keys\/rsa2048\.public\.pem holds a public key/ };
    case 'sign/errors/empty-private-key':
      return { kind: 'refused', exitCode: 1, message: /private key keys\/empty\.key is empty/ };
    case 'sign/errors/missing-bin':
      return { kind: 'refused', exitCode: 1, message: /firmware .*does-not-exist\.bin does not exist/ };
    case 'sign/errors/out-dir-missing':
      return { kind: 'refused', exitCode: 1, message: /cannot write signed binary .*x\.signed: the folder .*nodir does not exist/ };
    case 'sign/errors/legacy-dir-missing':
      return { kind: 'refused', exitCode: 1, message: /cannot write legacy signed binary .*nodir2/, absent: ['out/sign/variants/legdir.signed'] };
    case 'sign/errors/no-out-arg':
      return { kind: 'refused', exitCode: 2, message: /--mode sign needs --out/ };
    case 'sign/errors/no-privatekey-arg-crashes':
      return { kind: 'refused', exitCode: 2, message: /--mode sign needs --privatekey/ };
    default:
      return { kind: 'same' };
  }
}

/** Lines this tool adds to a successful run: warnings (weak keys, inputs that are not sketch images). */
function withoutWarnings(stderr: string): string {
  return stderr.split(/(?<=\n)/).filter((l) => !l.startsWith('esp8266-sign: warning: ')).join('');
}

function prepare(cwd: string, c: Case): void {
  // signing.py's runs had every output folder but nodir/ and nodir2/, which must stay missing.
  for (const o of [...c.outputs.map((x) => x.path), ...c.outputs_absent]) {
    if (!/\/nodir2?\//.test(o)) mkdirSync(join(cwd, o, '..'), { recursive: true });
  }
  if (c.precondition?.startsWith('output already existed with identical content')) {
    const out = join(cwd, c.outputs[0]!.path);
    writeFileSync(out, readHeaderFixture());
    utimesSync(out, new Date('2001-09-09T01:46:40Z'), new Date('2001-09-09T01:46:40Z'));
  }
  if (c.precondition?.includes("'#define ARDUINO_SIGNING 0")) writeFileSync(join(cwd, c.outputs[0]!.path), '#define ARDUINO_SIGNING 0\n');
  if (c.id === 'header/missing-key-overwrites-enabled-header') writeFileSync(join(cwd, c.outputs[0]!.path), readHeaderFixture());
}

let headerCache: string | undefined;
function readHeaderFixture(): string {
  // The 2048-bit SPKI header, rendered the way signing.py renders it (checked by its own case).
  if (headerCache === undefined) {
    const key = readFileSync(join(VECTORS, 'keys', 'rsa2048.public.pem'));
    const lines = [...key].map((b) => `0x${b.toString(16).padStart(2, '0')}, \n`).join('');
    headerCache = '#include <pgmspace.h>\n#define ARDUINO_SIGNING 1\nstatic const char signing_pubkey[] PROGMEM = {\n' + lines.slice(0, -3) + '\n};\n';
  }
  return headerCache;
}

function removeDirsThatMustNotExist(cwd: string, c: Case): void {
  for (const a of c.argv) {
    for (const missing of ['nodir/', 'nodir2/']) {
      if (a.includes(missing)) {
        const dir = join(cwd, a.slice(0, a.indexOf(missing) + missing.length));
        expect(existsSync(dir)).toBe(false);
      }
    }
  }
}

describe('golden vectors of signing.py', () => {
  const cwd = vectorWorkdir();
  test('the fixture header helper matches the recorded 2048-bit header', () => {
    expect(sha256(readHeaderFixture())).toBe(SPKI_2048_HEADER);
  });

  for (const c of manifest.cases) {
    const exp = expectationFor(c);
    test.concurrent(`${c.id} (${exp.kind})`, async () => {
      prepare(cwd, c);
      removeDirsThatMustNotExist(cwd, c);
      const before = c.precondition?.startsWith('output already existed') ? statSync(join(cwd, c.outputs[0]!.path)).mtimeMs : 0;
      const r = await runCli([...c.argv, ...('extraArgs' in exp ? exp.extraArgs ?? [] : [])], { cwd });

      if (exp.kind === 'refused') {
        expect(r.exitCode).toBe(exp.exitCode);
        expect(r.stderr).toMatch(exp.message);
        for (const p of [...c.outputs_absent, ...(exp.absent ?? [])]) expect(existsSync(join(cwd, p)), p).toBe(false);
        return;
      }
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toBe('');
      if (exp.kind === 'converted') {
        expect(r.stderr).toMatch(exp.warning);
        expect(withoutWarnings(r.stderr)).toBe('Enabling binary signing\n');
        expect(sha256(readFileSync(join(cwd, exp.path ?? c.outputs[0]!.path)))).toBe(exp.sha256);
        return;
      }
      expect(withoutWarnings(r.stderr)).toBe(c.stderr);
      if (exp.warning) expect(r.stderr).toMatch(exp.warning);
      else if (c.exit_code === 0 && /^sign\//.test(c.id)) expect(r.stderr).not.toMatch(/not a sketch image/);
      if (c.argv.some((a) => a.includes('rsa1024')) && c.exit_code === 0 && c.stderr !== '') {
        expect(r.stderr).toMatch(/esp8266-sign: warning: key .*rsa1024.* is only 1024 bits/);
      }
      for (const o of c.outputs) {
        const got = readFileSync(join(cwd, o.path));
        if (c.deterministic) expect(sha256(got), o.path).toBe(o.sha256);
      }
      for (const p of c.outputs_absent) expect(existsSync(join(cwd, p)), p).toBe(false);
      if (before) expect(statSync(join(cwd, c.outputs[0]!.path)).mtimeMs).toBe(before);
    });
  }
});
