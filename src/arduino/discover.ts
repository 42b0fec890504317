/**
 * Where esp8266 cores are installed (field-notes.md §2.12): Boards Manager folders under the
 * Arduino15 data folder of each OS, `ARDUINO_DIRECTORIES_DATA`, portable IDEs, and git installs in
 * the sketchbook's `hardware/`. Path logic takes an explicit OS so it is testable anywhere.
 */
import fg from 'fast-glob';
import { existsSync } from 'node:fs';
import { readUserFile } from '../io.js';
import path from 'node:path';
import { parseProperties, type CoreFacts } from './recipes.js';

export interface Host {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  home: string;
}

function pathFor(platform: NodeJS.Platform) {
  return platform === 'win32' ? path.win32 : path.posix;
}

/** Arduino data folders to search, most specific first. */
export function dataDirs(host: Host): string[] {
  const p = pathFor(host.platform);
  const dirs: string[] = [];
  if (host.env.ARDUINO_DIRECTORIES_DATA) dirs.push(host.env.ARDUINO_DIRECTORIES_DATA);
  if (host.platform === 'win32') {
    dirs.push(p.join(host.env.LOCALAPPDATA ?? p.join(host.home, 'AppData', 'Local'), 'Arduino15'));
    dirs.push(p.join(host.home, 'Documents', 'ArduinoData'));
  } else if (host.platform === 'darwin') {
    dirs.push(p.join(host.home, 'Library', 'Arduino15'));
  } else {
    dirs.push(p.join(host.home, '.arduino15'));
  }
  if (host.env.ARDUINO_PORTABLE_DIR) dirs.push(p.join(host.env.ARDUINO_PORTABLE_DIR, 'portable'));
  return dirs;
}

/** Sketchbook folders whose `hardware/` may hold a git install of the core. */
export function sketchbookDirs(host: Host): string[] {
  const p = pathFor(host.platform);
  const dirs: string[] = [];
  if (host.env.ARDUINO_DIRECTORIES_USER) dirs.push(host.env.ARDUINO_DIRECTORIES_USER);
  dirs.push(host.platform === 'linux' ? p.join(host.home, 'Arduino') : p.join(host.home, 'Documents', 'Arduino'));
  return dirs;
}

/** Glob patterns (forward slashes, as fast-glob wants) for platform.txt files of esp8266 cores. */
export function corePatterns(host: Host): string[] {
  const fwd = (d: string) => fg.convertPathToPattern(d.replace(/\\/g, '/'));
  return [
    ...dataDirs(host).map((d) => `${fwd(d)}/packages/*/hardware/esp8266/*/platform.txt`),
    ...sketchbookDirs(host).map((d) => `${fwd(d)}/hardware/*/esp8266/platform.txt`),
  ];
}

export interface InstalledCore extends CoreFacts {
  dir: string;
  name: string;
}

export function readCore(dir: string): InstalledCore | null {
  const file = path.join(dir, 'platform.txt');
  if (!existsSync(file)) return null;
  // a folder or FIFO named platform.txt is a clear error, never a crash or a hang
  const properties = parseProperties(readUserFile(file, 'platform.txt', 'Point --core-dir at the folder that holds the core\'s platform.txt.', 4 * 1024 * 1024).toString('utf8'));
  const name = properties.get('name') ?? '';
  const isEsp8266 = /esp8266/i.test(name) || properties.has('runtime.tools.signing');
  if (!isEsp8266) return null;
  return { dir, name, version: properties.get('version') ?? 'unknown', properties };
}

export function findCores(host: Host, coreDir?: string): InstalledCore[] {
  if (coreDir) {
    const core = readCore(path.resolve(coreDir));
    return core ? [core] : [];
  }
  const files = fg.sync(corePatterns(host), { onlyFiles: true, suppressErrors: true, absolute: true });
  return [...new Set(files)].sort().map((f) => readCore(path.dirname(f))).filter((c): c is InstalledCore => c !== null);
}
