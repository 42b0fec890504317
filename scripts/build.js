// npm run build: type-check and compile with tsc (dist/, used by tests and benchmarks), then bundle
// what the launcher runs (dist/bundle/) and what a single executable embeds (dist/sea/). Bundling
// the launcher is about start-up time: build hooks run the tool on every compile, and Node loads
// one CommonJS file much faster than a tree of ES modules.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);
// npm run package's output (dist/release, dist/executables) is kept: it takes minutes to make
for (const name of existsSync('dist') ? readdirSync('dist') : []) {
  if (name !== 'release' && name !== 'executables') rmSync(`dist/${name}`, { recursive: true, force: true });
}
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], { stdio: 'inherit' });

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
// src/build-info.ts reads these; the tsc output has neither and falls back to package.json
const define = { ESP8266_SIGN_VERSION: JSON.stringify(version), ESP8266_SIGN_EXECUTABLE: 'false', ESP8266_SIGN_GZIP_WORKER: 'undefined' };
const common = { bundle: true, packages: 'external', platform: 'node', target: 'node20', logLevel: 'warning', define };
// CommonJS has no import.meta: give the bundles the URL of their own file instead
const commonjs = {
  ...common,
  format: 'cjs',
  define: { ...define, 'import.meta.url': '__bundle_url' },
  banner: { js: "const __bundle_url = require('node:url').pathToFileURL(__filename).href;" },
};

/** In the executable's bundle, cli.ts's require('./program.cjs') is the program module itself. */
const programInside = {
  name: 'program-inside',
  setup(b) {
    b.onResolve({ filter: /^\.\/program\.cjs$/ }, () => ({ path: resolve('src/program.ts') }));
  },
};

// the deflate worker for the executable: one CommonJS script, started from a string (eval), since
// a SEA has no file to hand to new Worker()
await build({ ...common, packages: undefined, format: 'cjs', entryPoints: ['src/compress/gzip-worker.ts'], outfile: 'dist/sea/gzip-worker.cjs' });
const seaWorkerCode = readFileSync('dist/sea/gzip-worker.cjs', 'utf8');

await Promise.all([
  // the signing.py-compatible front (no commander, no emulator); named commands come from program.cjs
  build({ ...common, format: 'cjs', entryPoints: ['src/cli.ts'], outfile: 'dist/bundle/cli.cjs', external: ['./program.cjs', './program.js'] }),
  // the named commands; each one's modules (and pako, fast-glob) are initialised on first use
  build({ ...commonjs, entryPoints: ['src/program.ts'], outfile: 'dist/bundle/program.cjs' }),
  // the deflate worker, found beside program.cjs as ./gzip-worker.js
  build({ ...common, format: 'esm', entryPoints: ['src/compress/gzip-worker.ts'], outfile: 'dist/bundle/gzip-worker.js' }),
  // a single executable's main script: everything, dependencies included, in one file, because
  // inside a SEA require() reaches only Node's built-in modules (scripts/package.js embeds it)
  build({
    ...commonjs,
    packages: undefined,
    define: { ...commonjs.define, ESP8266_SIGN_EXECUTABLE: 'true', ESP8266_SIGN_GZIP_WORKER: JSON.stringify(seaWorkerCode) },
    plugins: [programInside],
    entryPoints: ['src/executable.ts'],
    outfile: 'dist/sea/esp8266-sign.cjs',
  }),
]);
