/** NOR flash: 4 KiB sectors erase to 0xFF, programming can only clear bits (AND), reads anywhere. */
export const SECTOR_SIZE = 0x1000;

export class Flash {
  readonly bytes: Uint8Array;
  /** One flag per sector, set by any erase or program: which regions an update touched. */
  readonly touched: Uint8Array;
  constructor(size: number) {
    this.bytes = new Uint8Array(size).fill(0xff);
    this.touched = new Uint8Array(Math.ceil(size / SECTOR_SIZE));
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
    return true;
  }

  program(offset: number, data: Uint8Array): boolean {
    if (offset < 0 || offset + data.length > this.bytes.length) return false;
    if (data.length) this.touched.fill(1, Math.floor(offset / SECTOR_SIZE), Math.floor((offset + data.length - 1) / SECTOR_SIZE) + 1);
    const dst = this.bytes;
    let i = 0;
    // whole 32-bit words where both sides are aligned (Updater and eboot write 4 KiB sectors)
    if (((dst.byteOffset + offset) & 3) === 0 && (data.byteOffset & 3) === 0) {
      const words = data.length >>> 2;
      const d32 = new Uint32Array(dst.buffer, dst.byteOffset + offset, words);
      const s32 = new Uint32Array(data.buffer, data.byteOffset, words);
      for (let w = 0; w < words; w++) d32[w]! &= s32[w]!;
      i = words << 2;
    }
    for (; i < data.length; i++) dst[offset + i]! &= data[i]!;
    return true;
  }

  read(offset: number, length: number): Uint8Array | null {
    if (offset < 0 || length < 0 || offset + length > this.bytes.length) return null;
    return this.bytes.slice(offset, offset + length);
  }
}
