import { UsageError } from '../errors.js';
import type { Io } from '../io.js';
// Static on purpose: the build hooks run this path on every compile, and one bundled chunk loads
// faster than a chain of dynamic imports.
import { runHeader } from '../commands/header.js';
import { runSign } from '../commands/sign.js';

/**
 * signing.py's command line, parsed the way argparse parses it: `--opt value`, `--opt=value`,
 * unique prefixes of long options (`--pub`), `-mheader`. Options of ours ride along
 * (--passphrase-file, --filesystem, --pubkey for --publickey); prefixes resolve against signing.py's own options first so
 * every abbreviation signing.py accepts means the same here.
 */
const UPSTREAM = { mode: 'm', bin: 'b', out: 'o', legacy: 'l', publickey: 'p', privatekey: 's' } as const;
const EXTRA_VALUED = ['passphrase-file', 'pubkey'] as const;
const EXTRA_FLAGS = ['filesystem'] as const;

export interface CompatArgs {
  mode?: string;
  bin?: string;
  out?: string;
  legacy?: string;
  publickey?: string;
  privatekey?: string;
  'passphrase-file'?: string;
  /** Our spelling of --publickey in the named commands (emulate, verify, inspect). */
  pubkey?: string;
  filesystem?: boolean;
  help?: boolean;
}

export const COMPAT_USAGE = `usage: esp8266-sign --mode header --publickey KEY --out HEADER
       esp8266-sign --mode sign --privatekey KEY --bin BIN --out SIGNED [--legacy FILE]
                    [--passphrase-file FILE] [--filesystem]

signing.py-compatible mode (same options, same files, same messages; failures exit non-zero).
Other commands: esp8266-sign --help
`;

function resolveLong(name: string): string {
  const pick = (names: readonly string[]) => names.filter((n) => n.startsWith(name));
  const exact = [...Object.keys(UPSTREAM), ...EXTRA_VALUED, ...EXTRA_FLAGS, 'help'].find((n) => n === name);
  if (exact) return exact;
  for (const group of [Object.keys(UPSTREAM), [...EXTRA_VALUED, ...EXTRA_FLAGS, 'help']]) {
    const hits = pick(group);
    if (hits.length === 1) return hits[0]!;
    if (hits.length > 1) throw new UsageError(`ambiguous option: --${name} could match ${hits.map((h) => '--' + h).join(', ')}`);
  }
  throw new UsageError(`unrecognized argument: --${name}\n${COMPAT_USAGE}`);
}

/** True when these arguments are signing.py's (they carry --mode or -m in any accepted spelling). */
export function looksLikeSigningPy(argv: readonly string[]): boolean {
  return argv.some((a) => /^-m/.test(a) || /^--m(o(de?)?)?(=|$)/.test(a));
}

export function parseCompatArgs(argv: readonly string[]): CompatArgs {
  const args: CompatArgs = {};
  const set = (name: string, value: string | true) => {
    (args as Record<string, unknown>)[name] = value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--') && arg.length > 2) {
      const eq = arg.indexOf('=');
      name = resolveLong(eq === -1 ? arg.slice(2) : arg.slice(2, eq));
      inline = eq === -1 ? undefined : arg.slice(eq + 1);
    } else if (/^-[a-z]/.test(arg)) {
      const short = arg[1]!;
      const found = Object.entries(UPSTREAM).find(([, s]) => s === short)?.[0] ?? (short === 'h' ? 'help' : undefined);
      if (!found) throw new UsageError(`unrecognized argument: ${arg}\n${COMPAT_USAGE}`);
      name = found;
      inline = arg.length > 2 ? arg.slice(2) : undefined;
    } else {
      throw new UsageError(`unrecognized argument: ${arg}\n${COMPAT_USAGE}`);
    }
    if (name === 'help' || (EXTRA_FLAGS as readonly string[]).includes(name)) {
      if (inline !== undefined) throw new UsageError(`argument --${name}: takes no value`);
      set(name, true);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`argument --${name}: expected one argument`);
    set(name, value);
  }
  return args;
}

function required(value: string | undefined, name: string, mode: string): string {
  if (!value) throw new UsageError(`--mode ${mode} needs --${name}\n${COMPAT_USAGE}`);
  return value;
}

export async function runCompat(argv: readonly string[], io: Io): Promise<number> {
  const args = parseCompatArgs(argv);
  if (args.help) {
    io.stdout(COMPAT_USAGE);
    return 0;
  }
  args.publickey ??= args.pubkey;
  if (args.mode === 'header') {
    return runHeader({ publicKey: required(args.publickey, 'publickey', 'header'), out: required(args.out, 'out', 'header') }, io);
  }
  if (args.mode === 'sign') {
    return runSign(
      {
        privateKey: required(args.privatekey, 'privatekey', 'sign'),
        bin: required(args.bin, 'bin', 'sign'),
        out: required(args.out, 'out', 'sign'),
        legacy: args.legacy,
        passphraseFile: args['passphrase-file'],
        filesystem: args.filesystem,
        compat: true,
      },
      io,
    );
  }
  throw new UsageError(`ERROR: Mode not specified as header or sign${args.mode ? ` (got "${args.mode}")` : ''}\n${COMPAT_USAGE}`);
}
