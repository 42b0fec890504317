/**
 * Entry of the single executable (scripts/package.js): the same as bin/esp8266-sign.js, but with
 * the named commands in this one bundle, since a SEA's require reaches only Node's built-ins.
 */
import { main } from './cli.js';

// a SEA repeats the executable's path as argv[1], where a script's path would be
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
