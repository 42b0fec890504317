#!/usr/bin/env node
// The launcher: everything else lives in the built CLI, bundled into one file for a fast start.
import { main } from '../dist/esp8266-sign.bundle.js';

process.exitCode = await main(process.argv.slice(2));
