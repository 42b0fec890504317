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
      io.stderr(`esp8266-sign: ${err.message.trimEnd()}\n`);
      return err.exitCode;
    }
    io.stderr(`esp8266-sign: internal error (please report it):\n${(err as Error)?.stack ?? String(err)}\n`);
    return ExitCode.ERROR;
  }
}

const COMMANDS = new Set(['header', 'sign', 'keygen', 'verify', 'emulate', 'inspect', 'prebuild', 'postbuild', 'install', 'uninstall', 'doctor', 'publish', 'serve', 'help']);

function isNamedCommand(arg: string | undefined): boolean {
  return arg !== undefined && COMMANDS.has(arg);
}

/**
 * The named commands: in the launcher's CommonJS bundle, program.cjs beside it (require is much
 * cheaper than starting the ES module loader); from the compiled modules, program.js.
 */
function loadProgram(): Promise<typeof import('./program.js')> {
  return typeof require === 'function' ? Promise.resolve(require('./program.cjs') as typeof import('./program.js')) : import('./program.js');
}
