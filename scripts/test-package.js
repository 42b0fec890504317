// npm run test:package (after npm run package): the release tests, the arduino-builder build with
// the unpacked tool package, and then the CLI suites that prove the executable byte for byte —
// the golden vectors among them — run against this machine's single executable with no node on PATH.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { hostTarget } from './release/node-binaries.js';

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
const target = hostTarget();
const windows = target.startsWith('win-');
const archive = resolve('dist/release', `esp8266-sign-${version}-${target}.${windows ? 'zip' : 'tar.gz'}`);
const executable = resolve('dist/executables', target, windows ? 'esp8266-sign.exe' : 'esp8266-sign');
if (!existsSync(archive) || !existsSync(executable)) {
  console.error(`esp8266-sign test:package: ${archive} is missing: run npm run package first.`);
  process.exit(1);
}
const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
const run = (files, env) => execFileSync(process.execPath, [vitest, 'run', ...files], { stdio: 'inherit', env: { ...process.env, ...env } });

run(['test/package-release.test.ts', 'test/package-npm.test.ts', 'test/arduino-builder.test.ts'], { ESP8266_SIGN_RELEASE_TESTS: '1', ESP8266_SIGN_ARCHIVE: archive });
// every suite that runs the CLI through runCli (the golden vectors among them), but the ones above
const cliSuites = readdirSync('test')
  .filter((f) => f.endsWith('.test.ts') && !f.startsWith('package-') && f !== 'arduino-builder.test.ts')
  .map((f) => `test/${f}`)
  .filter((f) => readFileSync(f, 'utf8').includes('runCli('));
run(cliSuites, { ESP8266_SIGN_EXECUTABLE: executable });
