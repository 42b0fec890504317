import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, UserError } from '../errors.js';
import { resolveFrom, writeFileAtomic, type Io } from '../io.js';
import { fingerprint } from '../keys/check.js';
import { readPassphrase } from '../keys/passphrase.js';
import { printJson } from '../report.js';

export interface KeygenOptions {
  bits?: number;
  dir?: string;
  passphraseFile?: string;
  json?: boolean;
}

export const KEYGEN_BITS = [2048, 3072, 4096] as const;

/**
 * A key pair in the forms every core loads: private.key as PKCS#8 PEM (owner-only), public.key as
 * SubjectPublicKeyInfo PEM. Never overwrites: losing a private key strands every device in the field.
 */
export function runKeygen(opts: KeygenOptions, io: Io): number {
  const bits = opts.bits ?? 2048;
  if (!(KEYGEN_BITS as readonly number[]).includes(bits)) {
    throw new UsageError(`--bits must be one of ${KEYGEN_BITS.join(', ')} (got ${bits}).`);
  }
  const dir = resolveFrom(io, opts.dir ?? '.');
  const privatePath = join(dir, 'private.key');
  const publicPath = join(dir, 'public.key');
  for (const p of [privatePath, publicPath]) {
    if (existsSync(p)) {
      throw new UserError(`${p} already exists; keygen never overwrites keys (devices in the field trust the old pair). Move it away or choose another --dir.`);
    }
  }
  const passphrase = opts.passphraseFile ? readPassphrase({}, opts.passphraseFile) : undefined;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 65537 });
  const privatePem = privateKey.export({
    type: 'pkcs8',
    format: 'pem',
    ...(passphrase ? { cipher: 'aes-256-cbc', passphrase } : {}),
  });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' });
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new UserError(`cannot create ${dir}: ${(err as Error).message}`);
  }
  writeFileAtomic(privatePath, privatePem, 0o600);
  writeFileAtomic(publicPath, publicPem);
  io.stderr(`esp8266-sign: wrote ${privatePath} (${bits}-bit RSA${passphrase ? ', encrypted' : ''}; keep it secret, keep a backup)\n`);
  io.stderr(`esp8266-sign: wrote ${publicPath}\n`);
  if (opts.json) {
    printJson(io.stdout, {
      command: 'keygen',
      bits,
      encrypted: Boolean(passphrase),
      privateKey: privatePath,
      publicKey: publicPath,
      fingerprint: fingerprint(publicKey),
    });
  }
  return 0;
}
