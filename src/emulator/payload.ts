/**
 * What a received file holds, read the device's way (device-behaviour.md §3.5): the signature
 * length is the u32 at the very end, the payload is what comes before signature and trailer; a
 * gzip payload is what its deflate stream holds, never more than a flash chip could take.
 */
import { zlib } from '../lazy.js';
import { parseGzipHeader } from './uzlib.js';

/** The largest SPI flash an ESP8266 addresses (16 MiB): no image, inflated or not, is larger. */
export const MAX_FLASH_SIZE = 16 * 1024 * 1024;

export interface TrailerFacts {
  /** Bytes before the signature and its length word; the whole file when the trailer does not fit the key. */
  payloadLength: number;
  /** The u32 little-endian at the end of the file, as Updater::end reads it; null for files under 4 bytes. */
  sigLenTrailer: number | null;
}

/** Splits off a signature of `expectedSigLen` bytes when the trailer says exactly that length. */
export function readTrailer(file: Uint8Array, expectedSigLen: number): TrailerFacts {
  if (file.length < 4) return { payloadLength: file.length, sigLenTrailer: null };
  const sigLen = new DataView(file.buffer, file.byteOffset, file.byteLength).getUint32(file.length - 4, true);
  if (expectedSigLen > 0 && sigLen === expectedSigLen && file.length >= sigLen + 4) return { payloadLength: file.length - sigLen - 4, sigLenTrailer: sigLen };
  return { payloadLength: file.length, sigLenTrailer: sigLen };
}

/** The first of `lengths` that the file's trailer names, for describing a file without a device key. */
export function trailerMatching(file: Uint8Array, lengths: readonly number[]): TrailerFacts | null {
  for (const n of lengths) {
    const t = readTrailer(file, n);
    if (t.payloadLength < file.length) return t;
  }
  return null;
}

export type Inflated = { image: Uint8Array; problem: null } | { image: null; problem: string };

/**
 * The bytes a gzip's deflate stream decodes to, stopping at its end (what its sender meant),
 * bounded by MAX_FLASH_SIZE so a decompression bomb fails at once instead of exhausting memory.
 */
export function inflateGzip(gzip: Uint8Array): Inflated {
  let at = 0;
  const ok = parseGzipHeader({ byte: () => (at < gzip.length ? gzip[at++]! : (at++, 0)) });
  if (!ok || at > gzip.length) return { image: null, problem: 'its gzip header is not one eboot can parse' };
  try {
    return { image: zlib().inflateRawSync(gzip.subarray(at), { maxOutputLength: MAX_FLASH_SIZE }), problem: null };
  } catch (err) {
    if (err instanceof RangeError || (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      return { image: null, problem: `it inflates to more than ${MAX_FLASH_SIZE / 1048576} MiB, more than any ESP8266 flash holds` };
    }
    return { image: null, problem: `its deflate stream is corrupt (${(err as Error).message})` };
  }
}
