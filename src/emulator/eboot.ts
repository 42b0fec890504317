/**
 * eboot, the bootloader in sector 0 (device-behaviour.md §5): reads the RTC command, copies the
 * staged image sector by sector (raw, or gzip inflated 4 KiB at a time from the live flash, so an
 * image that overwrites its own unread input is corrupted as on the device), then loads the app.
 */
import { inflateRawSync } from 'node:zlib';
import { Inflate } from 'pako';
import { gzipBodyOffset } from '../compress/gzip.js';
import { parseImageAt } from '../image/image.js';
import { Flash, SECTOR_SIZE } from './flash.js';
import type { Profile } from './profiles.js';
import { ACTION_COPY_RAW, decodeCommand } from './rtc.js';

export interface EbootResult {
  /** What eboot found in RTC memory. */
  command: 'copy' | 'none';
  /** copy_raw's return: 0 ok, 1 misaligned, 2 erase, 3 read, 4 write, 5 gzip header, 6 inflate. */
  result: number | null;
  /** The inflated stream ended before ISIZE bytes: the device then decodes whatever follows. */
  unpredictable: boolean;
  bootSectorSkipped: boolean;
  sectorsWritten: number;
  log: string[];
}

/** An inflater that pulls 4 KiB blocks from flash only when it needs more input, like uzlib's reader. */
class FlashInflater {
  private queue: Uint8Array[] = [];
  private queued = 0;
  private next: number;
  /** Bytes of the first block that belong to the gzip header. */
  private skip: number;
  private inflate = new Inflate({ raw: true, chunkSize: 16384 });
  ended = false;

  constructor(private readonly flash: Flash, src: number, bodyOffset: number) {
    this.inflate.onData = (chunk: Uint8Array) => {
      this.queue.push(chunk);
      this.queued += chunk.length;
    };
    this.next = src + Math.floor(bodyOffset / SECTOR_SIZE) * SECTOR_SIZE;
    this.skip = bodyOffset % SECTOR_SIZE;
  }

  /** Exactly `n` bytes, or fewer if the stream ended; null on a DEFLATE error. */
  take(n: number): Uint8Array | null {
    while (this.queued < n && !this.ended) {
      const block = this.flash.read(this.next, SECTOR_SIZE) ?? this.flash.read(this.next, Math.max(0, this.flash.size - this.next));
      if (!block || block.length === 0) return null;
      this.next += SECTOR_SIZE;
      this.inflate.push(block.subarray(this.skip), false);
      this.skip = 0;
      if (this.inflate.err) return null;
      if (this.inflate.ended) this.ended = true;
    }
    const out = new Uint8Array(Math.min(n, this.queued));
    let filled = 0;
    while (filled < out.length) {
      const head = this.queue[0]!;
      const use = Math.min(head.length, out.length - filled);
      out.set(head.subarray(0, use), filled);
      filled += use;
      if (use === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(use);
    }
    this.queued -= filled;
    return out;
  }
}

/**
 * The common case, decided in one native call: the output lies wholly below the compressed input
 * (so no write can reach a byte not yet read) and the stream yields at least `size` bytes. The
 * result is the same bytes the sector-by-sector inflater would produce (DEFLATE decodes to one
 * output); anything else (overlap, errors, a short stream) returns null and takes the slow, exact path.
 */
function inflatedAtOnce(flash: Flash, bodyAt: number, dst: number, size: number): Pick<FlashInflater, 'take'> | null {
  if (size <= 0 || dst + Math.ceil(size / SECTOR_SIZE) * SECTOR_SIZE > bodyAt - (bodyAt % SECTOR_SIZE)) return null;
  let out: Buffer;
  try {
    // uzlib reads on to the end of the flash when it needs to; zlib stops at the end of the stream.
    // More output than `size` (a lying ISIZE) throws here and is left to the exact path.
    out = inflateRawSync(flash.bytes.subarray(bodyAt), { maxOutputLength: size });
  } catch {
    return null;
  }
  if (out.length < size) return null;
  let at = 0;
  return {
    take(n: number) {
      const piece = out.subarray(at, at + n);
      at += piece.length;
      return piece;
    },
  };
}

function copyRaw(flash: Flash, profile: Profile, src: number, dst: number, size: number, r: EbootResult, atOnce: boolean): number {
  if (src % SECTOR_SIZE !== 0 || dst % SECTOR_SIZE !== 0) return 1;
  let left = Math.ceil(size / SECTOR_SIZE) * SECTOR_SIZE;
  let inflater: Pick<FlashInflater, 'take'> | null = null;
  const b = flash.bytes;
  if (profile.gzip && b[src] === 0x1f && b[src + 1] === 0x8b) {
    left = new DataView(b.buffer).getInt32(src + size - 4, true);
    r.log.push(`gzip: ISIZE read from the end of the staged region = ${left}`);
    const body = gzipBodyOffset((at) => b[src + at] ?? 0);
    if (body === null) return 5;
    inflater = (atOnce ? inflatedAtOnce(flash, src + body, dst, left) : null) ?? new FlashInflater(flash, src, body);
  }
  const sector = new Uint8Array(SECTOR_SIZE);
  while (left > 0) {
    if (profile.ebootErasesFirst && !flash.eraseSector(dst / SECTOR_SIZE)) return 2;
    if (inflater) {
      const want = Math.min(left, SECTOR_SIZE);
      const out = inflater.take(want);
      if (!out) return 6;
      // The stream ended before ISIZE bytes: the device goes on decoding whatever follows, with a
      // data-dependent outcome (device-behaviour.md §5.4 note); reported as a failed copy.
      if (out.length < want) {
        r.unpredictable = true;
        return 6;
      }
      sector.set(out, 0);
      sector.fill(0xff, want);
    } else {
      const raw = flash.read(src, SECTOR_SIZE);
      if (!raw) return 3;
      sector.set(raw);
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
  return 0;
}

/** One reset: eboot reads RTC memory and acts on it. Returns what happened. */
export interface EbootOptions {
  /** Allow the one-call inflate where it gives the same result (default); false = always sector by sector. */
  inflateAtOnce?: boolean;
}

export function runEboot(flash: Flash, profile: Profile, rtc: Uint8Array | null, opts: EbootOptions = {}): EbootResult {
  const r: EbootResult = { command: 'none', result: null, unpredictable: false, bootSectorSkipped: false, sectorsWritten: 0, log: [] };
  const cmd = decodeCommand(rtc);
  if (!cmd || cmd.action !== ACTION_COPY_RAW) {
    r.log.push('no valid command in RTC memory: load the app at 0x1000');
    return r;
  }
  r.command = 'copy';
  const [src, dst, size] = cmd.args as [number, number, number];
  r.result = copyRaw(flash, profile, src, dst, size, r, opts.inflateAtOnce ?? true);
  r.log.push(`cp:${r.result} (copy_raw 0x${src.toString(16)} → 0x${dst.toString(16)}, ${size} bytes, ${r.sectorsWritten} sectors written${r.bootSectorSkipped ? ', boot sector unchanged (B)' : ''})`);
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
