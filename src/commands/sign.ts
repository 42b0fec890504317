import { realpathSync, rmSync, statSync } from 'node:fs';
import { UsageError, UserError } from '../errors.js';
import { assertWritable, isFile, readUserFile, resolveFrom, writeFileAtomic, type Io } from '../io.js';
import { assertPairMatches, checkDeviceKey, fingerprint } from '../keys/check.js';
import { parsePrivateKey, parsePublicKey } from '../keys/load.js';
import { readPassphrase } from '../keys/passphrase.js';
import { findKey } from '../keys/find.js';
import { describeFile, printJson, type FileReport } from '../report.js';
import { existingSignature, sha256, signatureTail, signDigestInfo, signLegacy } from '../signing/sign.js';
import { describeFirmwareProblem, describeGzipProblem, isGzip } from '../image/kind.js';

export interface SignOptions {
  /** A path; when absent the key lookup chain runs (environment, keys folder, current folder). */
  privateKey?: string;
  bin: string;
  out: string;
  legacy?: string;
  publicKey?: string;
  passphraseFile?: string;
  /** Sign bytes that are not an ESP8266 image or gzip (a filesystem image for a U_FS update). */
  filesystem?: boolean;
  /** The firmware that will receive a filesystem image is built with -DATOMIC_FS_UPDATE (no warning then). */
  atomicFs?: boolean;
  json?: boolean;
  /**
   * signing.py's contract (`--mode sign`): no private key file means "this sketch is not signed",
   * exit 0; any non-empty input is signed, with a warning when it is not a sketch image.
   */
  compat?: boolean;
}

const FS_TRAP = 'signing protects a filesystem update only when the firmware receiving it is built with -DATOMIC_FS_UPDATE: otherwise the Updater writes the image over the live filesystem before it checks the signature, so a rejected image has already replaced it. Build with -DATOMIC_FS_UPDATE (then pass --atomic-fs, or set "atomicFs": true).';

/**
 * `--mode sign` / `sign`: `bin ‖ signature ‖ u32le(length)`, and optionally the legacy file.
 * Everything is checked and both signatures computed before the first byte is written.
 */
export function runSign(opts: SignOptions, io: Io): number {
  if (opts.compat && opts.privateKey && !isFile(resolveFrom(io, opts.privateKey))) return 0;

  const binPath = resolveFrom(io, opts.bin);
  const outPath = resolveFrom(io, opts.out);
  const legacyPath = opts.legacy ? resolveFrom(io, opts.legacy) : undefined;

  const passphrase = readPassphrase(io.env, opts.passphraseFile);
  const { keyPath, keyName, keyBytes } = privateKeyFor(opts, io);
  const priv = parsePrivateKey(keyBytes, keyName, passphrase);
  const { warnings } = checkDeviceKey(priv.key, keyName);
  if (opts.publicKey) {
    const pubBytes = readUserFile(resolveFrom(io, opts.publicKey), 'public key');
    const pub = parsePublicKey(pubBytes, opts.publicKey);
    if (!pub) throw new UserError(`public key ${opts.publicKey} does not contain a key this tool can read.`);
    assertPairMatches(keyName, priv.publicKey, opts.publicKey, pub.key);
  }

  const data = readUserFile(binPath, 'firmware', 'Build the sketch first, or pass the path of its .bin file.');
  if (data.length === 0) {
    throw new UserError(`firmware ${opts.bin} is empty (0 bytes): there is nothing to sign. Check that the build produced it.`);
  }
  const problem = describeFirmwareProblem(data);
  if (problem && opts.compat) {
    warnings.push(`${opts.bin} is not a sketch image: fine for a filesystem update, rejected by the device as a sketch (${problem.replace(/\.$/, '')}).`);
  } else if (problem && !opts.filesystem) {
    throw new UserError(`firmware ${opts.bin} ${problem} If it is a filesystem image for a U_FS update, pass --filesystem.`);
  }
  if (opts.filesystem && !opts.atomicFs) warnings.push(`${opts.bin} is signed as a filesystem image: ${FS_TRAP}`);
  if (isGzip(data)) {
    const gz = describeGzipProblem(data, !opts.filesystem);
    if (gz) warnings.push(`${opts.bin} ${gz}`);
    if (data.length % 4 !== 0) warnings.push(`${opts.bin} is a gzip of ${data.length} bytes (${data.length % 4} mod 4): cores 3.1.0–3.1.2 reject a signed payload whose length is not a multiple of 4. "esp8266-sign postbuild --compress" pads the gzip header so its length is one.`);
  }
  assertNotInput(binPath, outPath, '--out');
  if (legacyPath) assertNotInput(binPath, legacyPath, '--legacy');
  const sameOutputs = legacyPath !== undefined && sameFile(outPath, legacyPath);
  if (sameOutputs && !opts.compat) throw new UsageError(`--out and --legacy both name ${opts.out}: the legacy signature would replace the signed file. Give them different paths.`);
  if (sameOutputs) warnings.push(`--out and --legacy both name ${opts.out}: as with signing.py, it ends up holding the legacy signature (for 2.5.x devices), not the one 2.6.0+ devices verify.`);
  const already = existingSignature(data, priv.publicKey);
  if (already) {
    const kind = already === 'null-oid' ? 'a legacy signature' : 'a signature';
    throw new UserError(`firmware ${opts.bin} already ends in ${kind} by this key. Signing it again would make every device reject it; sign the unsigned .bin instead.`);
  }

  assertWritable(outPath, 'signed binary');
  if (legacyPath) assertWritable(legacyPath, 'legacy signed binary');
  for (const w of warnings) io.stderr(`esp8266-sign: warning: ${w}\n`);

  const digest = sha256(data);
  // payload, signature and trailer are written as three pieces: no 1 MiB copies per file
  const signed = [data, ...signatureTail(signDigestInfo(digest, priv.key))];
  const legacySigned = legacyPath ? [data, ...signatureTail(signLegacy(digest, priv.key))] : undefined;

  if (!sameOutputs) writeFileAtomic(outPath, signed);
  if (legacyPath && legacySigned) {
    try {
      writeFileAtomic(legacyPath, legacySigned);
    } catch (err) {
      // all or nothing: the signed file without its legacy partner would be half of what was asked
      if (!sameOutputs) rmSync(outPath, { force: true });
      throw err;
    }
  }
  // reported only when both files are in place, in signing.py's order and words
  io.stderr(`Signed binary: ${opts.out}\n`);
  if (legacyPath) io.stderr(`Legacy signed binary: ${opts.legacy}\n`);
  if (opts.json) {
    const outputs: Array<FileReport & { format: string }> = [{ ...describeFile(outPath, Buffer.concat(signed)), format: 'pkcs1-sha256-digestinfo' }];
    if (legacyPath && legacySigned) outputs.push({ ...describeFile(legacyPath, Buffer.concat(legacySigned)), format: 'legacy-raw-sha256' });
    printJson(io.stdout, {
      command: 'sign',
      input: describeFile(binPath, data, digest),
      key: { path: keyPath, source: keyName === opts.privateKey ? '--privatekey' : keyName, fingerprint: fingerprint(priv.publicKey), bits: priv.key.asymmetricKeyDetails?.modulusLength },
      outputs,
    });
  }
  return 0;
}

/** The named path, or the same lookup chain the build hooks use, with the current folder as the sketch. */
function privateKeyFor(opts: SignOptions, io: Io): { keyPath: string | null; keyName: string; keyBytes: Buffer } {
  if (opts.privateKey) {
    const keyPath = resolveFrom(io, opts.privateKey);
    return { keyPath, keyName: opts.privateKey, keyBytes: readUserFile(keyPath, 'private key', 'Generate a key pair with "esp8266-sign keygen" or pass the right path.') };
  }
  const { found, looked } = findKey('private', { sketchDir: io.cwd, env: io.env, cwd: io.cwd });
  if (!found) throw new UserError(`no private key given and none found. Looked in: ${looked.join('; ')}. Pass --privatekey FILE or set ESP8266_SIGN_PRIVATE_KEY.`);
  return { keyPath: found.path, keyName: found.path ?? found.source, keyBytes: found.bytes };
}

/** Whether two paths name one file (through symlinks and hard links too); false when either is missing. */
function sameFile(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    const [x, y] = [statSync(a), statSync(b)];
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    try {
      return realpathSync(a) === realpathSync(b);
    } catch {
      return false;
    }
  }
}

/** Writing over the input would destroy the only unsigned copy of the firmware. */
function assertNotInput(binPath: string, outPath: string, option: string): void {
  if (sameFile(binPath, outPath)) throw new UsageError(`${option} ${outPath} is the input file itself: signing would overwrite the unsigned firmware. Write the signed file elsewhere (e.g. ${binPath}.signed).`);
}
