/** First bytes of an ESP8266 application image (§6.2) and of gzip (RFC 1952). */
export const IMAGE_MAGIC = 0xe9;
export const GZIP_ID = [0x1f, 0x8b] as const;
const IMAGE_HEADER_LEN = 8;
const MIN_GZIP_LEN = 18;

export function isGzip(data: Uint8Array): boolean {
  return data.length >= 2 && data[0] === GZIP_ID[0] && data[1] === GZIP_ID[1];
}

/**
 * Why these bytes cannot be a sketch update (the Updater's magic check, §3.3), as the end of a
 * sentence starting with the file's name; null when they look like an image or gzip.
 */
export function describeFirmwareProblem(data: Uint8Array): string | null {
  if (data[0] === IMAGE_MAGIC) {
    return data.length >= IMAGE_HEADER_LEN ? null : `is only ${data.length} byte(s): too short to hold an ESP8266 image header.`;
  }
  if (isGzip(data)) {
    return data.length >= MIN_GZIP_LEN ? null : `is only ${data.length} bytes: too short to be a gzip file.`;
  }
  const first = Buffer.from(data.subarray(0, 4)).toString('hex').replace(/(..)/g, '$1 ').trim();
  return `does not start like an ESP8266 image (E9) or gzip (1F 8B) but with ${first}; a device would reject it as a sketch update (UPDATE_ERROR_MAGIC_BYTE).`;
}
