/** Counts in the emulator's log and verdict lines: "1 byte", "2 bytes", "1 sector". */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
