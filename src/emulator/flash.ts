/** NOR flash: 4 KiB sectors erase to 0xFF, programming can only clear bits (AND), reads anywhere. */
export const SECTOR_SIZE = 0x1000;

export class Flash {
  readonly bytes: Uint8Array;
  constructor(size: number) {
    this.bytes = new Uint8Array(size).fill(0xff);
  }

  get size(): number {
    return this.bytes.length;
  }

  eraseSector(sector: number): boolean {
    const start = sector * SECTOR_SIZE;
    if (start < 0 || start + SECTOR_SIZE > this.bytes.length) return false;
    this.bytes.fill(0xff, start, start + SECTOR_SIZE);
    return true;
  }

  program(offset: number, data: Uint8Array): boolean {
    if (offset < 0 || offset + data.length > this.bytes.length) return false;
    for (let i = 0; i < data.length; i++) this.bytes[offset + i]! &= data[i]!;
    return true;
  }

  read(offset: number, length: number): Uint8Array | null {
    if (offset < 0 || length < 0 || offset + length > this.bytes.length) return null;
    return this.bytes.slice(offset, offset + length);
  }
}
