/** NOR flash: 4 KiB sectors erase to 0xFF, programming can only clear bits (AND); `bytes` is read directly. */
export const SECTOR_SIZE = 0x1000;

/**
 * Chips given back by release(), by size: a fresh 4 MiB chip costs a process 4-11 ms of page
 * faults to erase, and postbuild replays three or more artifacts.
 */
const spare = new Map<number, Array<{ bytes: Uint8Array; erasedFrom: Uint16Array }>>();
const SPARE_PER_SIZE = 2;

export class Flash {
  readonly bytes: Uint8Array;
  /** One flag per sector, set by any erase or program: which regions an update touched. */
  readonly touched: Uint8Array;
  /**
   * Per sector, the offset from which it is known to hold only 0xFF (an erased sector: 0). Programming
   * there is a plain copy, since AND with 0xFF changes nothing; the Updater and eboot write each
   * sector once, in order, after erasing it.
   */
  private readonly erasedFrom: Uint16Array;

  constructor(size: number) {
    const reused = spare.get(size)?.pop();
    if (reused) {
      for (let s = 0; s < reused.erasedFrom.length; s++) if (reused.erasedFrom[s]) reused.bytes.fill(0xff, s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE);
      reused.erasedFrom.fill(0);
    }
    this.bytes = reused?.bytes ?? new Uint8Array(size).fill(0xff);
    this.erasedFrom = reused?.erasedFrom ?? new Uint16Array(Math.ceil(size / SECTOR_SIZE));
    this.touched = new Uint8Array(Math.ceil(size / SECTOR_SIZE));
  }

  /** Gives the chip back for the next Flash of its size; neither it nor any view of its bytes may be used after. */
  release(): void {
    const list = spare.get(this.bytes.length) ?? [];
    if (list.length < SPARE_PER_SIZE && !list.some((c) => c.bytes === this.bytes)) list.push({ bytes: this.bytes, erasedFrom: this.erasedFrom });
    spare.set(this.bytes.length, list);
  }

  /** Whether any sector overlapping [from, to) was erased or programmed. */
  touchedIn(from: number, to: number): boolean {
    for (let s = Math.floor(from / SECTOR_SIZE); s * SECTOR_SIZE < to && s < this.touched.length; s++) if (this.touched[s]) return true;
    return false;
  }

  /** Forget what was touched (after the device's own set-up writes). */
  untouch(): void {
    this.touched.fill(0);
  }

  get size(): number {
    return this.bytes.length;
  }

  eraseSector(sector: number): boolean {
    const start = sector * SECTOR_SIZE;
    if (start < 0 || start + SECTOR_SIZE > this.bytes.length) return false;
    this.bytes.fill(0xff, start, start + SECTOR_SIZE);
    this.touched[sector] = 1;
    this.erasedFrom[sector] = 0;
    return true;
  }

  program(offset: number, data: Uint8Array): boolean {
    if (offset < 0 || offset + data.length > this.bytes.length) return false;
    for (let at = offset; at < offset + data.length;) {
      const sector = Math.floor(at / SECTOR_SIZE);
      const end = Math.min(offset + data.length, (sector + 1) * SECTOR_SIZE);
      const part = data.subarray(at - offset, end - offset);
      const inSector = at - sector * SECTOR_SIZE;
      if (inSector >= this.erasedFrom[sector]!) this.bytes.set(part, at);
      else andInto(this.bytes, at, part);
      this.erasedFrom[sector] = Math.max(this.erasedFrom[sector]!, end - sector * SECTOR_SIZE);
      this.touched[sector] = 1;
      at = end;
    }
    return true;
  }

  /** Overwrites bytes from `offset` (a serial flasher, or a test's copy of another chip): no NOR rules. */
  setContents(data: Uint8Array, offset = 0): void {
    this.bytes.set(data, offset);
    const last = Math.ceil((offset + data.length) / SECTOR_SIZE);
    for (let s = Math.floor(offset / SECTOR_SIZE); s < last; s++) this.erasedFrom[s] = SECTOR_SIZE;
  }
}

/** dst[at..] &= data, whole 32-bit words where both sides are aligned. */
function andInto(dst: Uint8Array, at: number, data: Uint8Array): void {
  let i = 0;
  if (((dst.byteOffset + at) & 3) === 0 && (data.byteOffset & 3) === 0) {
    const words = data.length >>> 2;
    const d32 = new Uint32Array(dst.buffer, dst.byteOffset + at, words);
    const s32 = new Uint32Array(data.buffer, data.byteOffset, words);
    for (let w = 0; w < words; w++) d32[w]! &= s32[w]!;
    i = words << 2;
  }
  for (; i < data.length; i++) dst[at + i]! &= data[i]!;
}
