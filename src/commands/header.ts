import { chooseEmbeddedKey, DISABLED_HEADER, readKeyIfPresent, renderHeader } from '../header-gen/header.js';
import { writeHeaderIfChanged } from '../header-gen/write.js';
import { resolveFrom, type Io } from '../io.js';
import { fingerprint } from '../keys/check.js';
import { crypto } from '../lazy.js';
import { parsePublicKey } from '../keys/load.js';
import { printJson } from '../report.js';

export interface HeaderOptions {
  publicKey: string;
  out: string;
  json?: boolean;
}

/**
 * `--mode header` / `header`: Updater_Signing.h from the public key, byte-identical to signing.py
 * for every key a device can load; a missing key file turns signing off, silently, as upstream.
 */
export function runHeader(opts: HeaderOptions, io: Io): number {
  const keyPath = resolveFrom(io, opts.publicKey);
  const outPath = resolveFrom(io, opts.out);
  const bytes = readKeyIfPresent(keyPath);
  let content = DISABLED_HEADER;
  let keyReport: Record<string, unknown> | null = null;
  if (bytes !== undefined) {
    const chosen = chooseEmbeddedKey(bytes, opts.publicKey);
    for (const w of chosen.warnings) io.stderr(`esp8266-sign: warning: ${w}\n`);
    content = renderHeader(chosen.bytes);
    if (opts.json) {
      const parsed = parsePublicKey(chosen.bytes, opts.publicKey);
      keyReport = {
        path: keyPath,
        bits: chosen.bits,
        fingerprint: parsed ? fingerprint(parsed.key) : null,
        embedded: chosen.bytes === bytes ? 'as-is' : 'converted-to-spki-pem',
      };
    }
  }
  const written = writeHeaderIfChanged(outPath, content);
  if (bytes !== undefined) io.stderr('Enabling binary signing\n');
  if (opts.json) {
    printJson(io.stdout, {
      command: 'header',
      signing: bytes !== undefined,
      publicKey: keyReport,
      header: {
        path: outPath,
        written,
        size: Buffer.byteLength(content),
        sha256: crypto().createHash('sha256').update(content).digest('hex'),
      },
    });
  }
  return 0;
}
