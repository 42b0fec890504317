import { ExitCode, UserError } from './errors.js';
import { processIo, type Io } from './io.js';
import { looksLikeSigningPy, runCompat } from './signing/compat.js';

/**
 * Entry point: signing.py's argument list goes to the compatible front, bundled into this entry so
 * the build hooks start fast (no commander, no emulator); everything else to the named commands,
 * loaded on demand. Returns the exit code.
 */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  try {
    if (looksLikeSigningPy(argv) && !isNamedCommand(argv[0])) {
      return await runCompat(argv, io);
    }
    const { runProgram } = await loadProgram();
    return await runProgram(argv, io);
  } catch (err) {
    if (err instanceof UserError) {
      reportError(io, argv, err.message, err.exitCode);
      return err.exitCode;
    }
    io.stderr(`esp8266-sign: internal error (please report it):\n${(err as Error)?.stack ?? String(err)}\n`);
    return ExitCode.ERROR;
  }
}

/**
 * A failure as every command reports it: each line of the message on stderr behind the tool's
 * name, and with --json one object on stdout as well, so a script reading stdout learns of it too.
 */
export function reportError(io: Io, argv: readonly string[], message: string, exitCode: number): void {
  const text = message.trimEnd();
  io.stderr(text.split('\n').filter((l) => l.trim() !== '').map((l) => (l.startsWith('esp8266-sign:') ? l : `esp8266-sign: ${l}`)).join('\n') + '\n');
  if (argv.includes('--json')) io.stdout(JSON.stringify({ error: { exitCode, message: text } }, null, 2) + '\n');
}

const COMMANDS = new Set(['header', 'sign', 'keygen', 'verify', 'emulate', 'inspect', 'prebuild', 'postbuild', 'install', 'uninstall', 'doctor', 'upload', 'publish', 'serve', 'help']);

function isNamedCommand(arg: string | undefined): boolean {
  return arg !== undefined && COMMANDS.has(arg);
}

/**
 * The named commands: in the launcher's CommonJS bundle, program.cjs beside it (require is much
 * cheaper than starting the ES module loader); from the compiled modules, program.js.
 */
function loadProgram(): Promise<typeof import('./program.js')> {
  if (typeof require === 'function') {
    try {
      return Promise.resolve(require('./program.cjs') as typeof import('./program.js'));
    } catch {
      // not the bundle (tests run the modules as they are): load the module itself
    }
  }
  return import('./program.js');
}
