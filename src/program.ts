import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ExitCode } from './errors.js';
import type { Io } from './io.js';

/** The named commands. Each action hands an options object to one command function. */
export async function runProgram(argv: string[], io: Io): Promise<number> {
  let code: number = ExitCode.OK;
  const program = new Command('esp8266-sign')
    .description('Sign ESP8266 Arduino OTA updates without Python or OpenSSL, and prove each artifact on an emulated ESP8266.')
    .addHelpText('after', '\nsigning.py drop-in: esp8266-sign --mode header|sign ... (details: esp8266-sign --mode sign --help)')
    .version(await readVersion(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: io.stderr, writeErr: io.stderr });

  program
    .command('header')
    .description('write Updater_Signing.h from a public key (byte-identical to signing.py)')
    .requiredOption('--publickey <file>', 'public key (SPKI PEM); a missing file writes ARDUINO_SIGNING 0')
    .requiredOption('--out <file>', 'header to write; its folder is created')
    .option('--json', 'print a JSON report on stdout')
    .action(async (o) => {
      const { runHeader } = await import('./commands/header.js');
      code = runHeader({ publicKey: o.publickey, out: o.out, json: o.json }, io);
    });

  program
    .command('sign')
    .description('sign a firmware image: BIN ‖ signature ‖ u32le(signature length)')
    .option('--privatekey <file>', 'RSA private key (PEM or DER, PKCS#1 or PKCS#8, optionally encrypted); default: the key lookup chain')
    .requiredOption('--bin <file>', 'the unsigned firmware (.bin or .bin.gz)')
    .option('--out <file>', 'signed output (default: BIN.signed)')
    .option('--legacy <file>', 'also write the legacy signature that 2.5.x devices verify')
    .option('--publickey <file>', 'refuse unless the private key belongs to this public key')
    .option('--passphrase-file <file>', 'passphrase of an encrypted key (or set ESP8266_SIGN_PASSPHRASE)')
    .option('--filesystem', 'the input is a filesystem image (no ESP8266 image header expected)')
    .option('--json', 'print a JSON report on stdout')
    .action(async (o) => {
      const { runSign } = await import('./commands/sign.js');
      code = runSign({
        privateKey: o.privatekey,
        bin: o.bin,
        out: o.out ?? `${o.bin}.signed`,
        legacy: o.legacy,
        publicKey: o.publickey,
        passphraseFile: o.passphraseFile,
        filesystem: o.filesystem,
        json: o.json,
      }, io);
    });

  program
    .command('keygen')
    .description('create private.key (PKCS#8 PEM, mode 0600) and public.key (SPKI PEM); never overwrites')
    .addOption(new Option('--bits <n>', 'RSA key size').choices(['2048', '3072', '4096']).default('2048'))
    .option('--dir <folder>', 'where to write the keys', '.')
    .option('--passphrase-file <file>', 'encrypt private.key with the passphrase on this file\'s first line')
    .option('--json', 'print a JSON report on stdout')
    .action(async (o) => {
      const { runKeygen } = await import('./commands/keygen.js');
      code = runKeygen({ bits: Number(o.bits), dir: o.dir, passphraseFile: o.passphraseFile, json: o.json }, io);
    });

  const whole = (name: string) => (value: string): number => {
    const n = /^0x[0-9a-f]+$/i.test(value) ? parseInt(value, 16) : Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive whole number.`);
    return n;
  };

  program
    .command('emulate')
    .description('replay a file on an emulated ESP8266: Updater, signature check, eboot copy, boot (exit 3 if it would not boot)')
    .argument('<file>', 'what would be uploaded (.bin, .bin.signed, .bin.gz.signed, ...)')
    .requiredOption('--core <version>', 'core version the device runs: 2.5.2, 2.7.4, 3.0.2, 3.1.2, latest ...')
    .option('--pubkey <file>', 'public key compiled into the running firmware (omit: built without signing)')
    .option('--pubkey-as-is', 'embed --pubkey byte for byte, as signing.py would (default: as esp8266-sign header embeds it)')
    .option('--layout <name>', 'a board layout such as 4M2M, 4M1M, 1M64 (instead of the three options below)')
    .option('--flash-size <size>', 'flash chip size', '4M')
    .option('--fs-start <offset>', 'filesystem start (offset or 0x402... address); default: no filesystem')
    .option('--fs-end <offset>', 'filesystem end')
    .option('--running-sketch-size <bytes>', 'getSketchSize() of the running firmware (default: the new image\'s size)', whole('--running-sketch-size'))
    .option('--running-flash-mode <mode>', 'flash mode the device was flashed with: qio, qout, dio, dout (default: the image\'s)')
    .option('--chunk <bytes>', 'write size of the uploader (ArduinoOTA: 1460)', whole('--chunk'), 1460)
    .addOption(new Option('--path <path>', 'how the file arrives').choices(['arduinoota', 'httpupdate', 'webserver']).default('arduinoota'))
    .option('--json', 'print the verdict as JSON on stdout')
    .action(async (file, o) => {
      const { runEmulate } = await import('./commands/device.js');
      code = runEmulate({ file, ...o }, io);
    });

  program
    .command('verify')
    .description('the signature decision by the device\'s rules, per core version (exit 3 if rejected)')
    .argument('<file>', 'a signed file')
    .requiredOption('--pubkey <file>', 'the public key compiled into the device')
    .option('--core <version>', 'decide for one core version (default: show all, exit by the newest)')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (file, o) => {
      const { runVerify } = await import('./commands/device.js');
      code = runVerify({ file, ...o }, io);
    });

  program
    .command('inspect')
    .description('what a file is: image headers and segments, gzip header, signature trailer')
    .argument('<file>', 'any firmware artifact')
    .option('--pubkey <file>', 'also tell which core versions would verify it')
    .option('--json', 'print the report as JSON on stdout')
    .action(async (file, o) => {
      const { runInspect } = await import('./commands/device.js');
      code = runInspect({ file, ...o }, io);
    });

  program
    .command('prebuild')
    .description('build hook: write {build}/core/Updater_Signing.h from the sketch\'s public key (or signing off when there is none)')
    .requiredOption('--sketch-dir <dir>', 'the sketch folder ({build.source.path})')
    .requiredOption('--build-dir <dir>', 'the build folder ({build.path})')
    .option('--core-version <version>', 'the core version ({version}); accepted for symmetry with postbuild')
    .option('--publickey <file>', 'public key (default: lookup chain, see README)')
    .option('--privatekey <file>', 'private key to derive the public key from when there is no public key')
    .option('--passphrase-file <file>', 'passphrase of an encrypted private key')
    .action(async (o) => {
      const { runPrebuild } = await import('./prebuild/prebuild.js');
      code = runPrebuild({ sketchDir: o.sketchDir, buildDir: o.buildDir, coreVersion: o.coreVersion, publicKey: o.publickey, privateKey: o.privatekey, passphraseFile: o.passphraseFile }, io);
    });

  program
    .command('postbuild')
    .description('build hook: sign, optionally compress, prove every artifact on the emulated device, write the manifest')
    .requiredOption('--sketch-dir <dir>', 'the sketch folder ({build.source.path})')
    .requiredOption('--build-dir <dir>', 'the build folder ({build.path})')
    .requiredOption('--project-name <name>', '{build.project_name}, e.g. Blink.ino')
    .requiredOption('--core-version <version>', 'the esp8266 core version ({version})')
    .requiredOption('--flash-size <size>', '{build.flash_size}, e.g. 4M')
    .requiredOption('--flash-mode <mode>', '{build.flash_mode}: qio, qout, dio or dout')
    .option('--fs-start <address>', '{build.spiffs_start}; empty means no filesystem')
    .option('--fs-end <address>', '{build.spiffs_end}')
    .option('--compress [level]', 'also write .bin.gz and .bin.gz.signed; level "default" or "max" (smaller, slower)')
    .option('--no-compress', 'do not compress (the default)')
    .option('--legacy', 'also write .bin.legacy_sig for 2.5.x devices (the default)')
    .option('--no-legacy', 'do not write the legacy file')
    .option('--fleet <versions>', 'comma-separated core versions to prove the artifacts on as well', (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean))
    .option('--strict', 'fail the build (exit 3) when a fleet version would reject an artifact')
    .option('--privatekey <file>', 'private key (default: lookup chain, see README)')
    .option('--passphrase-file <file>', 'passphrase of an encrypted private key')
    .option('--json', 'print the manifest on stdout')
    .action(async (o) => {
      const { runPostbuild } = await import('./postbuild/postbuild.js');
      code = await runPostbuild({
        sketchDir: o.sketchDir, buildDir: o.buildDir, projectName: o.projectName, coreVersion: o.coreVersion,
        flashSize: o.flashSize, flashMode: o.flashMode, fsStart: o.fsStart, fsEnd: o.fsEnd,
        compress: o.compress, legacy: o.legacy, fleet: o.fleet, strict: o.strict, json: o.json,
        privateKey: o.privatekey, passphraseFile: o.passphraseFile,
      }, io);
    });

  for (const [name, description] of [
    ['install', 'write platform.local.txt beside each installed esp8266 core so the IDE and arduino-cli sign with this tool'],
    ['uninstall', 'remove what install wrote (and the file, when nothing else is left in it)'],
  ] as const) {
    program
      .command(name)
      .description(description)
      .option('--core-dir <dir>', 'one core folder (the one holding platform.txt) instead of searching')
      .option('--dry-run', 'print what would change, change nothing')
      .option('--json', 'print a JSON report on stdout')
      .action(async (o) => {
        const m = await import('./commands/arduino.js');
        code = (name === 'install' ? m.runInstall : m.runUninstall)(o, io);
      });
  }

  program
    .command('doctor')
    .description('diagnose a setup: installed cores and our block, a sketch\'s keys, Node; each problem with its fix')
    .option('--core-dir <dir>', 'one core folder instead of searching')
    .option('--sketch-dir <dir>', 'also check which keys this sketch would use')
    .option('--json', 'print a JSON report on stdout')
    .action(async (o) => {
      const { runDoctor } = await import('./commands/arduino.js');
      code = runDoctor(o, io);
    });

  if (argv.length === 0) {
    program.outputHelp();
    return ExitCode.USAGE;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.OK;
      if (err.code === 'commander.executeSubCommandAsync') return ExitCode.OK;
      return ExitCode.USAGE;
    }
    throw err;
  }
  return code;
}

async function readVersion(): Promise<string> {
  const { readFileSync } = await import('node:fs');
  // dist/program.js and dist/bundle/*.js sit one or two folders below package.json
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'esp8266-sign') return pkg.version;
    } catch {
      // try the next level up
    }
  }
  return 'unknown';
}
