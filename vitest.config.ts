import { configDefaults, defineConfig } from 'vitest/config';

// The release tests need npm run package's output (five Node downloads, minutes of injecting):
// npm run test:package makes it and runs them; npm test leaves them out.
const RELEASE_TESTS = ['test/package-release.test.ts', 'test/package-npm.test.ts'];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...(process.env.ESP8266_SIGN_RELEASE_TESTS ? [] : RELEASE_TESTS)],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'threads',
  },
});
