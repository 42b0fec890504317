/**
 * Facts the build writes into the bundles (scripts/build.js `define`). A single executable has no
 * package.json beside it and no bin/ script to point at, so it must know both from itself.
 */
declare const ESP8266_SIGN_VERSION: string | undefined;
declare const ESP8266_SIGN_EXECUTABLE: boolean | undefined;

/** The package version built in, or undefined in the tsc output (dist/*.js), which reads package.json. */
export const builtVersion: string | undefined = typeof ESP8266_SIGN_VERSION === 'string' ? ESP8266_SIGN_VERSION : undefined;

/** True inside the single executable (Node SEA): the executable alone starts the tool. */
export const runsAsExecutable: boolean = typeof ESP8266_SIGN_EXECUTABLE === 'boolean' && ESP8266_SIGN_EXECUTABLE;
