import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ExitCode, UsageError } from './errors.js';
import type { Io } from './io.js';
import { toolVersion } from './version.js';

/** Every named command, in the order --help lists them. */
export const COMMANDS = ['header', 'sign', 'keygen', 'emulate', 'verify', 'inspect', 'prebuild', 'postbuild', 'upload', 'install', 'uninstall', 'doctor', 'publish', 'serve'];

/** The named commands. Each action hands an options object to one command function. */
export async function runProgram(argv: string[], io: Io): Promise<number> {
  let code: number = ExitCode.OK;
  // A run that names a command sets up commander with that one only (build hooks and uploads are
  // fresh processes: setting up all fourteen cost 3-4 ms each time). Anything else (--help, help,
  // a mistyped name) gets them all, for the overview and commander's suggestions.
  const only = COMMANDS.includes(argv[0] ?? '') ? argv[0] : null;
  const wanted = (name: string): boolean => only === null || name === only;
  const program = new Command('esp8266-sign')
    .description('Sign ESP8266 Arduino OTA updates without Python or OpenSSL, and prove each artifact on an emulated ESP8266.')
    .addHelpText('after', '\nsigning.py drop-in: esp8266-sign --mode header|sign ... (details: esp8266-sign --mode sign --help)')
    .version(toolVersion(), '-V, --version')
    // program options only before a command, so `publish --version 1.2.0` is publish's option
    .enablePositionalOptions()
    .showHelpAfterError('esp8266-sign: run with --help for usage')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: (text, write) => write(rewordCommanderError(text)) });

  if (wanted('header')) program
    .command('header')
    .description('write Updater_Signing.h from a public key (byte-identical to signing.py)')
    .option('--publickey <file>', 'public key (SPKI PEM); a missing file writes ARDUINO_SIGNING 0')
    .addOption(new Option('--pubkey <file>', 'the same as --publickey').hideHelp())
    .requiredOption('--out <file>', 'header to write; its folder is created')
    .option('--json', 'print a JSON report on stdout')
    .action(async (o) => {
      const { runHeader } = await import('./commands/header.js');
      code = runHeader({ publicKey: publicKeyOption(o, true)!, out: o.out, json: o.json }, io);
    });

  if (wanted('sign')) program
    .command('sign')
    .description('sign a firmware image: BIN ‖ signature ‖ u32le(signature length)')
    .option('--privatekey <file>', 'RSA private key (PEM or DER, PKCS#1 or PKCS#8, optionally encrypted); default: the key lookup chain')
    .requiredOption('--bin <file>', 'the unsigned firmware (.bin or .bin.gz)')
    .option('--out <file>', 'signed output (default: BIN.signed)')
    .option('--legacy <file>', 'also write the legacy signature that 2.5.x devices verify')
    .option('--publickey <file>', 'refuse unless the private key belongs to this public key')
    .addOption(new Option('--pubkey <file>', 'the same as --publickey').hideHelp())
    .option('--passphrase-file <file>', 'passphrase of an encrypted key (or set ESP8266_SIGN_PASSPHRASE)')
    .option('--filesystem', 'the input is a filesystem image for a U_FS update (no ESP8266 image header expected)')
    .option('--atomic-fs', 'the firmware receiving the filesystem image is built with -DATOMIC_FS_UPDATE (no warning)')
    .option('--json', 'print a JSON report on stdout')
    .action(async (o) => {
      const { runSign } = await import('./commands/sign.js');
      code = runSign({
        privateKey: o.privatekey,
        bin: o.bin,
        out: o.out ?? `${o.bin}.signed`,
        legacy: o.legacy,
        publicKey: publicKeyOption(o, false),
        passphraseFile: o.passphraseFile,
        filesystem: o.filesystem,
        atomicFs: o.atomicFs,
        json: o.json,
      }, io);
    });

  if (wanted('keygen')) program
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

  const updateKind = (cmd: Command) =>
    cmd
      .option('--filesystem', 'the file is a filesystem image sent as a U_FS update (LittleFS/SPIFFS), not a sketch')
      .option('--atomic-fs', 'the running firmware was built with -DATOMIC_FS_UPDATE (cores 2.6.0+): filesystem images are staged and copied by eboot')
      .option('--real-flash-size <size>', 'the chip\'s real size, when it differs from the running firmware\'s Flash Size (2M, 4M, ...)');
  const publicKey = (o: { pubkey?: string; publickey?: string }) => o.pubkey ?? o.publickey;

  if (wanted('emulate')) updateKind(
    program
      .command('emulate')
      .description('replay a file on an emulated ESP8266: Updater, signature check, eboot copy, boot (exit 3 if it would not boot)')
      .argument('<file>', 'what would be uploaded (.bin, .bin.signed, .bin.gz.signed, a filesystem image, ...)')
      .requiredOption('--core <version>', 'core version the device runs: 2.5.2, 2.7.4, 3.0.2, 3.1.2, latest ...')
      .option('--pubkey <file>', 'public key compiled into the running firmware (omit: built without signing)')
      .addOption(new Option('--publickey <file>').hideHelp())
      .option('--pubkey-as-is', 'embed --pubkey byte for byte, as signing.py would (default: as esp8266-sign header embeds it)')
      .option('--layout <name>', 'a board layout such as 4M2M, 4M1M, 1M64 (instead of the three options below)')
      .option('--flash-size <size>', 'flash chip size', '4M')
      .option('--fs-start <offset>', 'filesystem start (offset or 0x402... address), with --fs-end; default: no filesystem')
      .option('--fs-end <offset>', 'filesystem end, with --fs-start')
      .option('--running-sketch-size <bytes>', 'getSketchSize() of the running firmware (default: the new image\'s size)')
      .option('--running-flash-mode <mode>', 'flash mode the device was flashed with: qio, qout, dio, dout (default: the image\'s)')
      .option('--chunk <bytes>', 'write size of the uploader (ArduinoOTA: 1460)', '1460')
      .addOption(new Option('--path <path>', 'how the file arrives').choices(['arduinoota', 'httpupdate', 'webserver']).default('arduinoota'))
      .option('--json', 'print the verdict as JSON on stdout'),
  ).action(async (file, o) => {
    const { runEmulate } = await import('./commands/device.js');
    code = runEmulate({ file, ...o, pubkey: publicKey(o) }, io);
  });

  if (wanted('verify')) updateKind(
    program
      .command('verify')
      .description('whether the device takes the file, by its rules, per core version (exit 3 if rejected)')
      .argument('<file>', 'a signed file')
      .option('--pubkey <file>', 'the public key compiled into the device (required)')
      .addOption(new Option('--publickey <file>').hideHelp())
      .option('--core <version>', 'decide for one core version (default: show all, exit by the newest)')
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (file, o) => {
    const pubkey = publicKey(o);
    if (!pubkey) throw new UsageError("verify needs --pubkey <file>: the public key compiled into the device's firmware.");
    const { runVerify } = await import('./commands/device.js');
    code = runVerify({ file, ...o, pubkey }, io);
  });

  if (wanted('inspect')) updateKind(
    program
      .command('inspect')
      .description('what a file is: image headers and segments, gzip header, signature trailer')
      .argument('<file>', 'any firmware artifact')
      .option('--pubkey <file>', 'also tell which core versions would take it')
      .addOption(new Option('--publickey <file>').hideHelp())
      .option('--json', 'print the report as JSON on stdout'),
  ).action(async (file, o) => {
    const { runInspect } = await import('./commands/device.js');
    code = runInspect({ file, ...o, pubkey: publicKey(o) }, io);
  });

  if (wanted('prebuild')) program
    .command('prebuild')
    .description('build hook: write {build}/core/Updater_Signing.h from the sketch\'s public key (or signing off when there is none)')
    .requiredOption('--sketch-dir <dir>', 'the sketch folder ({build.source.path})')
    .requiredOption('--build-dir <dir>', 'the build folder ({build.path})')
    .option('--core-version <version>', 'the core version ({version}); accepted for symmetry with postbuild')
    .option('--publickey <file>', 'public key (default: lookup chain, see README)')
    .addOption(new Option('--pubkey <file>', 'the same as --publickey').hideHelp())
    .option('--privatekey <file>', 'private key to derive the public key from when there is no public key')
    .option('--passphrase-file <file>', 'passphrase of an encrypted private key')
    .action(async (o) => {
      const { runPrebuild } = await import('./prebuild/prebuild.js');
      code = runPrebuild({ sketchDir: o.sketchDir, buildDir: o.buildDir, coreVersion: o.coreVersion, publicKey: publicKeyOption(o, false), privateKey: o.privatekey, passphraseFile: o.passphraseFile }, io);
    });

  if (wanted('postbuild')) program
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

  const port = (name: string, fallback: number, allowZero = false) => (value: string): number => {
    // an unexpanded `{network.port}` (no port from discovery): the default applies
    if (/^\{[^}]*\}$/.test(value.trim())) return fallback;
    const n = Number(value);
    if (!/^\d+$/.test(value) || n > 65535 || (n === 0 && !allowZero)) throw new InvalidArgumentError(`${name} must be a port number (1–65535${allowZero ? ', or 0 for any free port' : ''}).`);
    return n;
  };

  if (wanted('upload')) program
    .command('upload')
    .description('ArduinoOTA network upload (espota\'s protocol) of the artifact postbuild proved, checked on the emulated device first (exit 3: refused before sending, 4: the device rejected it)')
    .argument('[file]', 'the file to send (default: the build manifest\'s choice, with --build-dir and --project-name)')
    .option('--host <address>', 'the device\'s IP address or name ({serial.port} in the IDE)')
    .option('--port <n>', 'the device\'s ArduinoOTA port', port('--port', 8266), 8266)
    .option('--host-ip <address>', 'this computer\'s address the device connects back to (default: all addresses)')
    .option('--host-port <n>', 'the TCP port the device connects back to; allow it in the firewall (0: any free port)', port('--host-port', 8267, true), 8267)
    .option('--build-dir <dir>', 'the build folder ({build.path}): upload the artifact its manifest names')
    .option('--project-name <name>', '{build.project_name}, e.g. Blink.ino')
    .option('--filesystem', 'FILE is a filesystem image (ArduinoOTA command U_FS)')
    .option('--atomic-fs', 'the device\'s firmware is built with -DATOMIC_FS_UPDATE (no warning; the check stages the image as it does)')
    .option('--password-file <file>', `the OTA password on this file's first line (or set ESP8266_SIGN_OTA_PASSWORD)`)
    .addOption(new Option('--auth <password>', 'espota\'s form, as the IDE passes {network.password}').hideHelp())
    .option('--core <version>', 'the core the device runs (default: the build\'s); picks the manifest\'s artifact for it')
    .option('--no-check', 'send without replaying the file on the emulated device first')
    .option('--pubkey <file>', 'for a FILE no manifest lists: the public key compiled into the device')
    .option('--layout <name>', 'for a FILE no manifest lists: the board\'s flash layout, e.g. 4M2M')
    .option('--retries <n>', 'attempts after a network failure (device errors are never retried)', (v: string) => Number(v), 2)
    .option('--timeout <seconds>', 'wait for each answer of the device (the final result: 6 times this)', (v: string) => Number(v), 10)
    .option('--quiet', 'print only the result')
    .option('--json', 'print the phases, their timings and the device\'s reply as JSON on stdout')
    .action(async (file, o) => {
      const { runUpload } = await import('./commands/upload.js');
      code = await runUpload({ file, ...o }, io);
    });

  for (const [name, description] of [
    ['install', 'write platform.local.txt beside each installed esp8266 core so the IDE and arduino-cli sign with this tool'],
    ['uninstall', 'remove what install wrote (and the file, when nothing else is left in it)'],
  ] as const) {
    if (!wanted(name)) continue;
    const command = program
      .command(name)
      .description(description)
      .option('--core-dir <dir>', 'one core folder (the one holding platform.txt) instead of searching')
      .option('--dry-run', 'print what would change, change nothing')
      .option('--json', 'print a JSON report on stdout');
    if (name === 'install') command.option('--tool-path', 'start the tool as {runtime.tools.esp8266-sign.path}/esp8266-sign (installed as a Boards Manager tool package)');
    command.action(async (o) => {
      const m = await import('./commands/arduino.js');
      code = (name === 'install' ? m.runInstall : m.runUninstall)(o, io);
    });
  }

  if (wanted('doctor')) program
    .command('doctor')
    .description('diagnose a setup: installed cores and our block, a sketch\'s keys, Node; each problem with its fix')
    .option('--core-dir <dir>', 'one core folder instead of searching')
    .option('--sketch-dir <dir>', 'also check which keys this sketch would use')
    .option('--json', 'print a JSON report on stdout')
    .action(async (o) => {
      const { runDoctor } = await import('./commands/arduino.js');
      code = runDoctor(o, io);
    });

  if (wanted('publish')) program
    .command('publish')
    .description('copy a proven build into RELEASES/<channel>/<version>/ with a release manifest (atomic); --list shows the releases')
    .option('--build-dir <dir>', 'the build folder ({build.path}) holding the postbuild manifest')
    .option('--project-name <name>', '{build.project_name}, e.g. Blink.ino')
    .option('--version <version>', 'the release version, ordered like 1.4.0 (devices may send it as x-ESP8266-version)')
    .requiredOption('--to <folder>', 'the release folder serve reads')
    .option('--channel <name>', 'release channel', 'stable')
    .option('--filesystem <file>', 'also a filesystem image for ESPhttpUpdate.updateFS() (signed with sign --filesystem when the firmware verifies)')
    .option('--list', 'list the releases in --to instead of publishing')
    .option('--json', 'print a JSON report on stdout')
    .action(async (o) => {
      const { runPublish } = await import('./commands/publish.js');
      code = runPublish({ buildDir: o.buildDir, projectName: o.projectName, version: o.version, to: o.to, channel: o.channel, filesystem: o.filesystem, list: o.list, json: o.json }, io);
    });

  const millis = (name: string) => (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${name} must be a whole number of milliseconds.`);
    return n;
  };

  if (wanted('serve')) program
    .command('serve')
    .description('ESP8266httpUpdate server over a release folder: 200 with what the device can boot, 304 when it already runs it')
    .requiredOption('--releases <folder>', 'the release folder publish writes')
    .option('--listen <host:port>', 'address to listen on ([::1]:8266 for IPv6, :8266 for all interfaces)', '127.0.0.1:8266')
    .option('--rules <file>', 'rules.json: which release each device gets (default: everyone follows channel "stable")')
    .option('--json', 'one JSON line per request on stdout')
    .option('--cert <file>', 'PEM certificate for HTTPS (with --key)')
    .option('--key <file>', 'PEM private key of the certificate')
    .option('--header-timeout <ms>', 'a request head must arrive within this', millis('--header-timeout'))
    .option('--idle-timeout <ms>', 'a connection without progress for this long is closed', millis('--idle-timeout'))
    .option('--drain-timeout <ms>', 'on SIGINT/SIGTERM, downloads in flight get this long to finish', millis('--drain-timeout'))
    .option('--rescan <ms>', 'read the release folder again at most this often', millis('--rescan'))
    .action(async (o) => {
      const { runServe } = await import('./commands/serve.js');
      code = await runServe(o, io);
    });

  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return ExitCode.USAGE;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.OK;
      if (err.code === 'commander.executeSubCommandAsync') return ExitCode.OK;
      const closest = closestOption(program, argv, err);
      if (closest) io.stderr(`esp8266-sign: the closest valid option is ${closest}\n`);
      if (argv[0] === 'postbuild') (await import('./postbuild/postbuild.js')).removeStaleAfterUsageError(argv, io);
      if (argv.includes('--json')) io.stdout(JSON.stringify({ error: { exitCode: ExitCode.USAGE, message: rewordCommanderError(err.message).replace(/^esp8266-sign: /gm, '').trim() } }, null, 2) + '\n');
      return ExitCode.USAGE;
    }
    throw err;
  }
  return code;
}

/** `--publickey` or its other spelling `--pubkey`; with `required`, one of them must be there. */
function publicKeyOption(o: { publickey?: string; pubkey?: string }, required: boolean): string | undefined {
  if (o.publickey && o.pubkey && o.publickey !== o.pubkey) throw new UsageError('--publickey and --pubkey name different files: give one of them.');
  const v = o.publickey ?? o.pubkey;
  if (required && !v) throw new UsageError("required option '--publickey <file>' not specified");
  return v;
}

/** Commander's "error: …" lines in the tool's own style. */
export function rewordCommanderError(text: string): string {
  return text
    .replace(/^error: /gm, 'esp8266-sign: ')
    .replace(/^\(Did you mean (.*)\?\)$/gm, 'esp8266-sign: did you mean $1?');
}

/** For an unknown option commander found nothing close to: the nearest option of that command anyway. */
function closestOption(program: Command, argv: readonly string[], err: CommanderError): string | null {
  if (err.code !== 'commander.unknownOption' || /Did you mean/.test(err.message)) return null;
  const given = /'([^']+)'/.exec(err.message)?.[1];
  const cmd = program.commands.find((c) => c.name() === argv[0]) ?? program;
  const names = cmd.options.filter((o) => !o.hidden).map((o) => o.long).filter((n): n is string => Boolean(n));
  if (!given || names.length === 0) return null;
  return names.map((n) => [n, editDistance(given, n)] as const).sort((a, b) => a[1] - b[1])[0]![0];
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}
