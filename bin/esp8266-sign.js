#!/usr/bin/env node
// The launcher: everything else lives in the built CLI, bundled so each command loads only what it uses.
import { main } from '../dist/bundle/cli.js';

process.exitCode = await main(process.argv.slice(2));
