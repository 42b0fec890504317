// npm run build: type-check and compile with tsc (dist/, used by tests and benchmarks), then bundle
// what the launcher runs (dist/bundle/). Bundling is only about start-up time: build hooks run the
// tool on every compile, and Node loads one CommonJS file much faster than a tree of ES modules.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);
rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], { stdio: 'inherit' });

const common = { bundle: true, packages: 'external', platform: 'node', target: 'node20', logLevel: 'warning' };
// CommonJS has no import.meta: give the bundles the URL of their own file instead
const commonjs = {
  ...common,
  format: 'cjs',
  define: { 'import.meta.url': '__bundle_url' },
  banner: { js: "const __bundle_url = require('node:url').pathToFileURL(__filename).href;" },
};

await Promise.all([
  // the signing.py-compatible front (no commander, no emulator); named commands come from program.cjs
  build({ ...common, format: 'cjs', entryPoints: ['src/cli.ts'], outfile: 'dist/bundle/cli.cjs', external: ['./program.cjs', './program.js'] }),
  // the named commands; each one's modules (and pako, fast-glob) are initialised on first use
  build({ ...commonjs, entryPoints: ['src/program.ts'], outfile: 'dist/bundle/program.cjs' }),
  // the deflate worker, found beside program.cjs as ./gzip-worker.js
  build({ ...common, format: 'esm', entryPoints: ['src/compress/gzip-worker.ts'], outfile: 'dist/bundle/gzip-worker.js' }),
]);
