#!/usr/bin/env node
// The launcher: everything else lives in the built CLI module.
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv.slice(2));
