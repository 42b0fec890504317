/**
 * The platform.local.txt lines that make an esp8266 core run esp8266-sign instead of signing.py
 * (device-behaviour.md §2, field-notes.md §2): the core's own header key is overridden, never a
 * numbered sketch-prebuild hook added (arduino-cli 1.3.0 would drop the core's step; older
 * builders would run it after ours), and the objcopy step that signs is replaced.
 */

/** How a pattern starts the tool: absolute Node + CLI paths (install), or `esp8266-sign` on PATH. */
export type Launcher = { node: string; cli: string } | 'path';

export interface CoreFacts {
  version: string;
  /** The installed core's platform.txt, parsed into key → value. */
  properties: Map<string, string>;
}

export function parseProperties(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq > 0) map.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return map;
}

const HEADER_KEYS = ['recipe.hooks.sketch.prebuild.pattern', 'recipe.hooks.core.prebuild.1.pattern'] as const;
export const SIGN_KEY = 'recipe.objcopy.hex.2.pattern';

/**
 * The key holding the core's header step: read from its platform.txt (release packaging edits that
 * file, so the version number alone is not trusted), falling back to the version's known layout.
 */
export function headerKey(core: CoreFacts): string {
  for (const key of HEADER_KEYS) {
    if (core.properties.get(key)?.includes('--mode header')) return key;
  }
  return /^2\.5\./.test(core.version) ? HEADER_KEYS[1] : HEADER_KEYS[0];
}

function command(launcher: Launcher): string {
  return launcher === 'path' ? 'esp8266-sign' : `"${launcher.node}" "${launcher.cli}"`;
}

export const PREBUILD_ARGS = 'prebuild --sketch-dir "{build.source.path}" --build-dir "{build.path}" --core-version "{version}"';
export const POSTBUILD_ARGS =
  'postbuild --sketch-dir "{build.source.path}" --build-dir "{build.path}" --project-name "{build.project_name}" --core-version "{version}" ' +
  '--flash-size "{build.flash_size}" --flash-mode "{build.flash_mode}" --fs-start "{build.spiffs_start}" --fs-end "{build.spiffs_end}"';

/**
 * Network uploads (IDE 1.8, IDE 2 and `arduino-cli upload --protocol network`, which turns this
 * legacy key into its pluggable network tool): the same key and placeholders in every core's
 * platform.txt from 2.5.0 to 3.1.2 and HEAD (`{serial.port}`, `{network.port}`, espota's
 * `"--auth={network.password}"`). Ours takes the build folder, not the .bin, so the manifest picks
 * the artifact postbuild proved.
 */
export const NETWORK_KEY = 'tools.esptool.upload.network_pattern';
export const UPLOAD_ARGS = 'upload --host "{serial.port}" --port "{network.port}" "--auth={network.password}" --build-dir "{build.path}" --project-name "{build.project_name}"';

/** The network-upload line: not a build property, so apart from the build hooks (arduino-cli --build-property). */
export function networkLines(launcher: Launcher): Array<[string, string]> {
  return [[NETWORK_KEY, `${command(launcher)} ${UPLOAD_ARGS}`]];
}

/** Property lines, in order. 2.5.0 also disabled signing on Windows through `.windows` keys. */
export function recipeLines(core: CoreFacts, launcher: Launcher): Array<[string, string]> {
  const run = command(launcher);
  const header = headerKey(core);
  const lines: Array<[string, string]> = [
    [header, `${run} ${PREBUILD_ARGS}`],
    [SIGN_KEY, `${run} ${POSTBUILD_ARGS}`],
  ];
  for (const [key, value] of [...lines]) {
    if (core.properties.has(`${key}.windows`)) lines.push([`${key}.windows`, value]);
  }
  if (core.properties.has('recipe.hooks.core.prebuild.3.pattern.windows')) lines.push(['recipe.hooks.core.prebuild.3.pattern.windows', '']);
  return lines;
}

export const BEGIN_MARKER = '# >>> esp8266-sign: managed by "esp8266-sign install"; remove with "esp8266-sign uninstall" >>>';
export const END_MARKER = '# <<< esp8266-sign <<<';

export function renderBlock(core: CoreFacts, launcher: Launcher): string {
  const body = [...recipeLines(core, launcher), ...networkLines(launcher)].map(([k, v]) => `${k}=${v}`);
  return [BEGIN_MARKER, `# esp8266 core ${core.version}: header from the public key before compiling, signing + device check after objcopy, network uploads of the proven artifact`, ...body, END_MARKER].join('\n') + '\n';
}

/**
 * Splits a platform.local.txt into what is ours and everything else (kept as it is). Without our
 * end marker nobody can tell where our lines stop, so nothing is guessed: `broken` says so.
 */
export function splitOurBlock(text: string): { before: string; ours: string | null; after: string; broken?: boolean } {
  const start = text.indexOf(BEGIN_MARKER);
  if (start === -1) return { before: text, ours: null, after: '' };
  const endAt = text.indexOf(END_MARKER, start);
  if (endAt === -1) return { before: text, ours: null, after: '', broken: true };
  const end = endAt + END_MARKER.length + (text[endAt + END_MARKER.length] === '\n' ? 1 : 0);
  return { before: text.slice(0, start), ours: text.slice(start, end), after: text.slice(end) };
}

/**
 * Keys of ours that the user's own lines also set. platform.local.txt is read top to bottom and the
 * last value of a key wins, so a line above our block loses to ours and a line below it wins.
 */
export function conflictingKeys(text: string, block: string): Array<{ key: string; where: 'above' | 'below' }> {
  const ours = new Set(parseProperties(block).keys());
  const { before, after } = splitOurBlock(text);
  const found: Array<{ key: string; where: 'above' | 'below' }> = [];
  for (const [part, where] of [[before, 'above'], [after, 'below']] as const) {
    for (const key of parseProperties(part).keys()) if (ours.has(key)) found.push({ key, where });
  }
  return found;
}

/** The file with our block in place of the old one (or appended); foreign lines are preserved. */
export function mergeBlock(existing: string, block: string): string {
  const { before, ours, after } = splitOurBlock(existing);
  if (ours !== null) return before + block + after;
  if (existing === '') return block;
  return existing + (existing.endsWith('\n') ? '' : '\n') + '\n' + block;
}

export function removeBlock(existing: string): string {
  const { before, after } = splitOurBlock(existing);
  return (before.replace(/\n\n$/, '\n') + after).replace(/^\n+$/, '');
}
