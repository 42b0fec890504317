#!/usr/bin/env node
// The launcher: everything else lives in the built CLI. It is CommonJS (bin/package.json says so)
// because loading CommonJS starts measurably faster than ES modules, and build hooks run it often.
const { enableCompileCache } = require('node:module');
if (enableCompileCache) enableCompileCache();
else if (!process.env.NODE_DISABLE_COMPILE_CACHE) require('./compile-cache.js'); // Node 20
require('../dist/bundle/cli.cjs')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
