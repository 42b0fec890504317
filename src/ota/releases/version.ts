/**
 * Release versions and the ranges rules match them with. A device reports whatever string its
 * sketch passed to ESPhttpUpdate.update(); only dotted numbers with an optional pre-release and
 * build tag are ordered, so that "newer" and "downgrade" mean something.
 */
export interface Version {
  numbers: number[];
  pre: string | null;
}

const VERSION_RE = /^v?(\d{1,9}(?:\.\d{1,9}){0,3})(?:-([0-9A-Za-z.-]{1,40}))?(?:\+[0-9A-Za-z.-]{1,40})?$/;

export function parseVersion(text: string): Version | null {
  const m = VERSION_RE.exec(text);
  if (!m) return null;
  return { numbers: m[1]!.split('.').map(Number), pre: m[2] ?? null };
}

/** Semantic-version order: missing numbers are 0, a pre-release sorts before its release. */
export function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < Math.max(a.numbers.length, b.numbers.length); i++) {
    const d = (a.numbers[i] ?? 0) - (b.numbers[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (a.pre === b.pre) return 0;
  if (a.pre === null) return 1;
  if (b.pre === null) return -1;
  return comparePre(a.pre, b.pre);
}

function comparePre(a: string, b: string): number {
  const pa = a.split('.');
  const pb = b.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x) ? Number(x) : null;
    const ny = /^\d+$/.test(y) ? Number(y) : null;
    if (nx !== null && ny !== null && nx !== ny) return Math.sign(nx - ny);
    if (nx === null || ny === null) {
      if (x !== y) return x < y ? -1 : 1;
    }
  }
  return 0;
}

export type Range = (version: Version) => boolean;

const OPS: Record<string, (c: number) => boolean> = {
  '>=': (c) => c >= 0,
  '>': (c) => c > 0,
  '<=': (c) => c <= 0,
  '<': (c) => c < 0,
  '=': (c) => c === 0,
};

/**
 * `">=1.2.0 <2.0.0"`: every comparison separated by spaces must hold; `"*"` is any ordered
 * version. Returns an error sentence instead when the text is not a range.
 */
export function parseRange(text: string): Range | string {
  const parts = text.trim().split(/\s+/).filter(Boolean);
  if (parts.length === 1 && parts[0] === '*') return () => true;
  if (parts.length === 0) return 'is empty; use comparisons like ">=1.0.0 <2.0.0" or "*"';
  const tests: Range[] = [];
  for (const part of parts) {
    const m = /^(>=|<=|>|<|=)?(.+)$/.exec(part)!;
    const bound = parseVersion(m[2]!);
    if (!bound) return `has "${part}", which is not a comparison with a version like 1.2.0`;
    const op = OPS[m[1] ?? '=']!;
    tests.push((v) => op(compareVersions(v, bound)));
  }
  return (v) => tests.every((t) => t(v));
}
