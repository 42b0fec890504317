import { UserError } from '../errors.js';
import { assertWritable, isFile, readUserFile, resolveFrom, writeFileAtomic, type Io } from '../io.js';
import { assertPairMatches, checkDeviceKey, fingerprint } from '../keys/check.js';
import { parsePrivateKey, parsePublicKey } from '../keys/load.js';
import { readPassphrase } from '../keys/passphrase.js';
import { findKey } from '../keys/find.js';
import { describeFile, printJson, type FileReport } from '../report.js';
import { existingSignature, sha256, signatureTail, signDigestInfo, signLegacy } from '../signing/sign.js';
import { describeFirmwareProblem } from '../image/kind.js';

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
  json?: boolean;
  /** signing.py's contract: no private key file means "this sketch is not signed", exit 0. */
  missingKeyIsNoop?: boolean;
}

/**
 * `--mode sign` / `sign`: `bin ‖ signature ‖ u32le(length)`, and optionally the legacy file.
 * Everything is checked and both signatures computed before the first byte is written.
 */
export function runSign(opts: SignOptions, io: Io): number {
  if (opts.missingKeyIsNoop && opts.privateKey && !isFile(resolveFrom(io, opts.privateKey))) return 0;

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
  const problem = opts.filesystem ? null : describeFirmwareProblem(data);
  if (problem) {
    throw new UserError(`firmware ${opts.bin} ${problem} If it is a filesystem image for a U_FS update, pass --filesystem.`);
  }
  const already = existingSignature(data, priv.publicKey);
  if (already) {
    const kind = already === 'null-oid' ? 'a legacy signature' : 'a signature';
    throw new UserError(`firmware ${opts.bin} already ends in ${kind} by this key. Signing it again would make every device reject it; sign the unsigned .bin instead.`);
  }

  assertWritable(outPath, 'signed binary');
  if (legacyPath) assertWritable(legacyPath, 'legacy signed binary');
  for (const w of warnings) io.stderr(`warning: ${w}\n`);

  const digest = sha256(data);
  // payload, signature and trailer are written as three pieces: no 1 MiB copies per file
  const signed = [data, ...signatureTail(signDigestInfo(digest, priv.key))];
  const legacySigned = legacyPath ? [data, ...signatureTail(signLegacy(digest, priv.key))] : undefined;

  writeFileAtomic(outPath, signed);
  io.stderr(`Signed binary: ${opts.out}\n`);
  if (legacyPath && legacySigned) {
    writeFileAtomic(legacyPath, legacySigned);
    io.stderr(`Legacy signed binary: ${opts.legacy}\n`);
  }
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
