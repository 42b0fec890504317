/**
 * eboot, the bootloader in sector 0 (device-behaviour.md §5): reads the RTC command, copies the
 * staged image sector by sector (raw, or gzip inflated 4 KiB at a time from the live flash, so an
 * image that overwrites its own unread input is corrupted as on the device), then loads the app.
 */
import { count } from './words.js';
import { parseImageAt } from '../image/image.js';
import { zlib } from '../lazy.js';
import { Flash, SECTOR_SIZE } from './flash.js';
import type { Profile } from './profiles.js';
import { ACTION_COPY_RAW, decodeCommand } from './rtc.js';
import { parseGzipHeader, TINF_DONE, TINF_OK, Uzlib, type ByteSource } from './uzlib.js';

export interface EbootResult {
  /** What eboot found in RTC memory. */
  command: 'copy' | 'none';
  /** copy_raw's return: 0 ok, 1 misaligned, 2 erase, 3 read, 4 write, 5 gzip header, 6 inflate. */
  result: number | null;
  /** The outcome depends on more than the flash holds (uzlib read memory outside its tables). */
  unpredictable: boolean;
  /** The inflate reached the end of the deflate stream before ISIZE bytes and went on decoding what follows. */
  pastStreamEnd: boolean;
  bootSectorSkipped: boolean;
  /** The gzip was decided by one native inflate (the same result as the uzlib model, faster). */
  inflatedInOneCall: boolean;
  sectorsWritten: number;
  /** Where eboot jumps after a good copy: the destination (the filesystem offset for an atomic FS update). */
  loadFrom: number;
  log: string[];
}

/**
 * eboot's uzlib_flash_read_cb: refills a 4 KiB buffer from the flash as it is at that moment, one
 * block after another from the staging address. A read past the chip fails and, as SPIRead's
 * error is ignored, leaves the buffer as it was.
 */
class FlashReader implements ByteSource {
  private readonly buffer = new Uint8Array(SECTOR_SIZE);
  private pos = SECTOR_SIZE;
  /** Bytes handed to uzlib so far. */
  consumed = 0;

  constructor(private readonly flash: Flash, private next: number) {}

  byte(): number {
    if (this.pos === SECTOR_SIZE) {
      if (this.next + SECTOR_SIZE <= this.flash.size) this.buffer.set(this.flash.bytes.subarray(this.next, this.next + SECTOR_SIZE));
      this.next += SECTOR_SIZE;
      this.pos = 0;
    }
    this.consumed++;
    return this.buffer[this.pos++]!;
  }

  peek(k: number): number {
    const at = this.pos + k;
    return at < SECTOR_SIZE ? this.buffer[at]! : -1;
  }
}

interface SectorSource {
  /** Fills sector[0, want) as uzlib_uncompress does; returns its code and where the output stopped. */
  fill(sector: Uint8Array, want: number): { res: number; end: number };
}

/**
 * The common case, decided in one native call: no write can reach a byte not yet read (the output
 * lies wholly below the staged input, or wholly above the staged region and the stream ends inside
 * it), and the stream yields at least `size` bytes. For such streams uzlib and zlib decode the
 * same bytes and uzlib stops at `size` with TINF_OK; anything else (errors, a short stream, a lying
 * ISIZE) returns null and takes the uzlib model. A property test compares both.
 */
function inflatedAtOnce(flash: Flash, src: number, stagedEnd: number, bodyAt: number, dst: number, size: number): SectorSource | null {
  const outEnd = dst + Math.ceil(size / SECTOR_SIZE) * SECTOR_SIZE;
  const below = outEnd <= src;
  const above = dst >= stagedEnd;
  if (size <= 0 || (!below && !above)) return null;
  let out: Buffer;
  try {
    // Below the input uzlib may read on to the end of the flash; above it, only the staged bytes are safe.
    // More output than `size` throws here and is left to the model. One output chunk of `size`
    // bytes: zlib's default 16 KiB chunks cost a 1 MiB image ~3 ms more, gathering them.
    out = zlib().inflateRawSync(flash.bytes.subarray(bodyAt, below ? flash.size : stagedEnd), { maxOutputLength: size, chunkSize: Math.max(64, Math.min(size, flash.size)) });
  } catch {
    return null;
  }
  if (out.length < size) return null;
  let at = 0;
  return {
    fill(sector, want) {
      sector.set(out.subarray(at, at + want));
      at += want;
      return { res: TINF_OK, end: want };
    },
  };
}

function uzlibSource(inflater: Uzlib): SectorSource {
  return { fill: (sector, want) => inflater.uncompress(sector, 0, want) };
}

function copyRaw(flash: Flash, profile: Profile, src: number, dst: number, size: number, r: EbootResult, atOnce: boolean): number {
  if (src % SECTOR_SIZE !== 0 || dst % SECTOR_SIZE !== 0) return 1;
  let left = Math.ceil(size / SECTOR_SIZE) * SECTOR_SIZE;
  let source: SectorSource | null = null;
  let inflater: Uzlib | null = null;
  const b = flash.bytes;
  if (profile.gzip && b[src] === 0x1f && b[src + 1] === 0x8b) {
    // int32_t left: an ISIZE with bit 31 set is negative, and nothing is copied.
    left = new DataView(b.buffer, b.byteOffset).getInt32(src + size - 4, true);
    r.log.push(`gzip: ISIZE read from the end of the staged region = ${left}`);
    const reader = new FlashReader(flash, src);
    if (!parseGzipHeader(reader)) return 5;
    source = atOnce ? inflatedAtOnce(flash, src, src + size, src + reader.consumed, dst, left) : null;
    r.inflatedInOneCall = source !== null;
    if (!source) {
      inflater = new Uzlib(reader);
      source = uzlibSource(inflater);
    }
  }
  // copy_raw's stack buffer: reused sector after sector, so a short inflate leaves the previous sector's bytes.
  const sector = new Uint8Array(SECTOR_SIZE);
  let shortSectors = 0;
  let stackBytes = 0;
  while (left > 0) {
    if (profile.ebootErasesFirst && !flash.eraseSector(dst / SECTOR_SIZE)) return 2;
    if (source) {
      const want = Math.min(left, SECTOR_SIZE);
      const { res, end } = source.fill(sector, want);
      if (res !== TINF_OK && res !== TINF_DONE) {
        if (inflater?.undetermined) {
          r.unpredictable = true;
          r.log.push(`uzlib: ${inflater.undetermined}`);
        }
        return 6;
      }
      if (end < want) {
        // the first time round, the buffer holds whatever eboot's stack held: unknown bytes
        if (r.sectorsWritten === 0 && !r.bootSectorSkipped) stackBytes += want - end;
        shortSectors++;
        r.pastStreamEnd = true;
      }
      sector.fill(0xff, want);
    } else {
      if (src < 0 || src + SECTOR_SIZE > flash.size) return 3;
      sector.set(flash.bytes.subarray(src, src + SECTOR_SIZE));
    }
    const skip = dst === 0 && profile.ebootSkipsSameBootSector && Buffer.compare(flash.bytes.subarray(0, SECTOR_SIZE), sector) === 0;
    if (skip) {
      r.bootSectorSkipped = true;
    } else {
      if (!profile.ebootErasesFirst && !flash.eraseSector(dst / SECTOR_SIZE)) return 2;
      if (!flash.program(dst, sector)) return 4;
      r.sectorsWritten++;
    }
    src += SECTOR_SIZE;
    dst += SECTOR_SIZE;
    left -= SECTOR_SIZE;
  }
  if (shortSectors) r.log.push(`uzlib: the deflate stream ended before ISIZE; ${shortSectors} sector(s) kept stale bytes where the decode stopped short, and decoding went on past the stream's end`);
  if (stackBytes) r.log.push(`uzlib: ${count(stackBytes, 'byte')} of the first sector came from copy_raw's uninitialised stack buffer (unknown on a device; 0 here)`);
  if (inflater?.unknownBytes) r.log.push(`uzlib: ${inflater.unknownBytes} output bytes came from dictionary positions never written (eboot never clears its RAM: unknown on a device; 0 here)`);
  return 0;
}

/** One reset: eboot reads RTC memory and acts on it. Returns what happened. */
export interface EbootOptions {
  /** Allow the one-call inflate where it gives the same result (default); false = always sector by sector. */
  inflateAtOnce?: boolean;
}

export function runEboot(flash: Flash, profile: Profile, rtc: Uint8Array | null, opts: EbootOptions = {}): EbootResult {
  const r: EbootResult = { command: 'none', result: null, unpredictable: false, pastStreamEnd: false, bootSectorSkipped: false, inflatedInOneCall: false, sectorsWritten: 0, loadFrom: 0, log: [] };
  const cmd = decodeCommand(rtc);
  if (!cmd || cmd.action !== ACTION_COPY_RAW) {
    r.log.push('no valid command in RTC memory: load the app at 0x1000');
    return r;
  }
  r.command = 'copy';
  const [src, dst, size] = cmd.args as [number, number, number];
  r.result = copyRaw(flash, profile, src, dst, size, r, opts.inflateAtOnce ?? true);
  if (r.result === 0) r.loadFrom = dst;
  r.log.push(`cp:${r.result} (copy_raw 0x${src.toString(16)} → 0x${dst.toString(16)}, ${count(size, 'byte')}, ${count(r.sectorsWritten, 'sector')} written${r.bootSectorSkipped ? ', boot sector unchanged (B)' : ''})`);
  return r;
}

/** load_app_from_flash_raw's view: an image header at 0x1000 whose segments lie inside the chip. */
export function appLoads(flash: Flash): boolean {
  return parseImageAt(flash.bytes, 0x1000, { checksum: false }) !== null;
}

/** Sector 0 still holds something the ROM can start: an image header with readable segments. */
export function bootloaderLoads(flash: Flash): boolean {
  return parseImageAt(flash.bytes, 0, { checksum: false }) !== null;
}
