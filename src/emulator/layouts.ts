/**
 * Flash layouts as boards.txt.py generates them (device-behaviour.md §7.1): where the filesystem
 * starts and ends, which bounds the OTA staging area below it.
 */
import { UsageError } from '../errors.js';
import { FLASH_SIZE_CODES, flashSizeName, magicFlashChipSize } from '../image/image.js';

export interface Layout {
  flashSize: number;
  /** Offsets (not 0x402… addresses). With no filesystem, both equal the EEPROM offset. */
  fsStart: number;
  fsEnd: number;
}

const K = 1024;
const M = 1024 * K;

export function parseFlashSize(text: string): number {
  return magicFlashChipSize(FLASH_SIZE_CODES[flashSizeName(text)]!);
}

export function parseOffset(text: string, what: string): number {
  const t = text.trim();
  const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isFinite(n)) throw new UsageError(`${what} "${text}" is not an offset. Use hex like 0x300000.`);
  // Board properties give 0x402… addresses (build.spiffs_start); the Updater works in offsets.
  return n >= 0x40200000 ? n - 0x40200000 : n;
}

/** The last 20 KiB of every chip hold EEPROM, RF calibration and Wi-Fi settings. */
export function noFsStart(flashSize: number): number {
  return flashSize - 0x5000;
}

/** A layout from the flash size and, when there is a filesystem, its start and end. */
export function makeLayout(flashSize: number, fsStart?: number, fsEnd?: number): Layout {
  const start = fsStart ?? noFsStart(flashSize);
  const end = fsEnd ?? (fsStart === undefined ? start : noFsStart(flashSize));
  if (start % 0x1000 !== 0 || start <= 0x1000 || start > flashSize) {
    throw new UsageError(`filesystem start 0x${start.toString(16)} does not fit a ${flashSize / K} KiB flash (it must be sector aligned, above the sketch and inside the chip).`);
  }
  if (end < start || end > flashSize) throw new UsageError(`filesystem end 0x${end.toString(16)} is before its start or beyond the chip.`);
  return { flashSize, fsStart: start, fsEnd: end };
}

/** The board menu's common layouts, named as in the IDE's "Flash Size" menu (4M2M = 4 MB with 2 MB FS). */
export const NAMED_LAYOUTS: Record<string, Layout> = {
  '512K': { flashSize: 512 * K, fsStart: 0x7b000, fsEnd: 0x7b000 },
  '512K32': { flashSize: 512 * K, fsStart: 0x73000, fsEnd: 0x7b000 },
  '512K64': { flashSize: 512 * K, fsStart: 0x6b000, fsEnd: 0x7b000 },
  '512K128': { flashSize: 512 * K, fsStart: 0x5b000, fsEnd: 0x7b000 },
  '1M': { flashSize: M, fsStart: 0xfb000, fsEnd: 0xfb000 },
  '1M64': { flashSize: M, fsStart: 0xeb000, fsEnd: 0xfb000 },
  '1M128': { flashSize: M, fsStart: 0xdb000, fsEnd: 0xfb000 },
  '1M256': { flashSize: M, fsStart: 0xbb000, fsEnd: 0xfb000 },
  '1M512': { flashSize: M, fsStart: 0x7b000, fsEnd: 0xfb000 },
  '2M': { flashSize: 2 * M, fsStart: 0x1fb000, fsEnd: 0x1fb000 },
  '2M64': { flashSize: 2 * M, fsStart: 0x1f0000, fsEnd: 0x1fb000 },
  '2M128': { flashSize: 2 * M, fsStart: 0x1e0000, fsEnd: 0x1fb000 },
  '2M256': { flashSize: 2 * M, fsStart: 0x1c0000, fsEnd: 0x1fb000 },
  '2M512': { flashSize: 2 * M, fsStart: 0x180000, fsEnd: 0x1fa000 },
  '2M1M': { flashSize: 2 * M, fsStart: 0x100000, fsEnd: 0x1fa000 },
  '4M': { flashSize: 4 * M, fsStart: 0x3fb000, fsEnd: 0x3fb000 },
  '4M1M': { flashSize: 4 * M, fsStart: 0x300000, fsEnd: 0x3fa000 },
  '4M2M': { flashSize: 4 * M, fsStart: 0x200000, fsEnd: 0x3fa000 },
  '4M3M': { flashSize: 4 * M, fsStart: 0x100000, fsEnd: 0x3fa000 },
  '8M6M': { flashSize: 8 * M, fsStart: 0x200000, fsEnd: 0x7fa000 },
  '16M14M': { flashSize: 16 * M, fsStart: 0x200000, fsEnd: 0xffa000 },
};

export function namedLayout(name: string): Layout {
  const l = NAMED_LAYOUTS[name.toUpperCase()];
  if (!l) throw new UsageError(`unknown layout "${name}". Known: ${Object.keys(NAMED_LAYOUTS).join(', ')}.`);
  return l;
}
