/** First bytes of an ESP8266 application image (§6.2) and of gzip (RFC 1952). */
import { zlib } from '../lazy.js';

export const IMAGE_MAGIC = 0xe9;
export const GZIP_ID = [0x1f, 0x8b] as const;
const IMAGE_HEADER_LEN = 8;
const MIN_GZIP_LEN = 18;
/** The largest flash chip: nothing bigger can be inflated into one. */
const MAX_INFLATED = 16 * 1024 * 1024;

export function isGzip(data: Uint8Array): boolean {
  return data.length >= 2 && data[0] === GZIP_ID[0] && data[1] === GZIP_ID[1];
}

/**
 * Why these bytes cannot be a sketch update (the Updater's magic check, §3.3), as the end of a
 * sentence starting with the file's name; null when they look like an image or gzip.
 */
export function describeFirmwareProblem(data: Uint8Array): string | null {
  if (data[0] === IMAGE_MAGIC) {
    return data.length >= IMAGE_HEADER_LEN ? null : `is only ${data.length} ${data.length === 1 ? 'byte' : 'bytes'}: too short to hold an ESP8266 image header.`;
  }
  if (isGzip(data)) {
    return data.length >= MIN_GZIP_LEN ? null : `is only ${data.length} bytes: too short to be a gzip file.`;
  }
  const first = Buffer.from(data.subarray(0, 4)).toString('hex').replace(/(..)/g, '$1 ').trim();
  return `does not start like an ESP8266 image (E9) or gzip (1F 8B) but with ${first}; a device would reject it as a sketch update (UPDATE_ERROR_MAGIC_BYTE).`;
}

/** Where the DEFLATE body of a gzip file starts (FEXTRA, FNAME, FCOMMENT, FHCRC skipped), or null. */
function gzipBodyStart(data: Uint8Array): number | null {
  if (data.length < 10 || data[2] !== 8 || (data[3]! & 0xe0) !== 0) return null;
  const flg = data[3]!;
  let pos = 10;
  if (flg & 0x04) pos += 2 + (data[pos]! | (data[pos + 1]! << 8));
  for (const bit of [0x08, 0x10]) {
    if (!(flg & bit)) continue;
    while (pos < data.length && data[pos] !== 0) pos++;
    pos++;
  }
  if (flg & 0x02) pos += 2;
  return pos <= data.length ? pos : null;
}

/**
 * What is wrong with a gzip payload, as the end of a sentence starting with its name; null when it
 * inflates to something (an image, when `expectImage`). A check only (node:zlib): what gets signed is the file as it is.
 */
export function describeGzipProblem(data: Uint8Array, expectImage = true): string | null {
  const body = gzipBodyStart(data);
  if (body === null) return 'has a gzip header that eboot cannot parse (not deflate, reserved flags, or cut short).';
  let out: Buffer;
  try {
    out = zlib().inflateRawSync(data.subarray(body), { maxOutputLength: MAX_INFLATED });
  } catch (err) {
    const msg = (err as Error).message;
    if (/maxOutputLength|buffer/i.test(msg)) return 'inflates to more than the largest flash chip (16 MiB).';
    return /unexpected end/i.test(msg) ? 'is a truncated gzip file (its deflate stream ends early).' : `is not a valid gzip file (${msg}).`;
  }
  if (out.length === 0) return 'is an empty gzip file: it inflates to nothing.';
  if (expectImage && out[0] !== IMAGE_MAGIC) return 'inflates to something that is not an ESP8266 image (no E9 at its start).';
  return null;
}
