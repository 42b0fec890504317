/**
 * The device sketches in examples/ name only what their #includes declare. The table says where
 * each name is declared and which header includes which, as in the esp8266 core's sources at
 * 3.1.2 (cores/esp8266 and libraries/*); a sketch also gets Arduino.h, as every .ino does.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ROOT } from './helpers.js';

/** Header → the headers it includes (only those that matter for the names below). */
const INCLUDES: Record<string, string[]> = {
  'Arduino.h': ['WString.h', 'HardwareSerial.h', 'Esp.h', 'Updater.h'],
  'Updater.h': ['Arduino.h'],
  'ESP8266WiFi.h': ['wl_definitions.h', 'ESP8266WiFiType.h', 'WiFiClient.h', 'WiFiServer.h', 'WiFiClientSecure.h', 'BearSSLHelpers.h'],
  'WiFiClientSecure.h': ['WiFiClientSecureBearSSL.h'],
  'WiFiClientSecureBearSSL.h': ['WiFiClient.h', 'BearSSLHelpers.h'],
  'BearSSLHelpers.h': ['Updater.h'],
  'ESP8266httpUpdate.h': ['Arduino.h', 'ESP8266WiFi.h', 'WiFiClient.h', 'WiFiUdp.h', 'ESP8266HTTPClient.h'],
  'ESP8266HTTPClient.h': ['Arduino.h', 'WiFiClient.h'],
  'ArduinoOTA.h': ['ESP8266WiFi.h', 'WiFiUdp.h'],
  'ESP8266WebServer.h': ['ESP8266WiFi.h'],
  'ESP8266HTTPUpdateServer.h': ['ESP8266WebServer.h'],
  'ESP8266mDNS.h': ['LEAmDNS.h'],
  'WiFiUdp.h': [],
  'WiFiClient.h': [],
  'WiFiServer.h': [],
  'wl_definitions.h': [],
  'ESP8266WiFiType.h': [],
  'LEAmDNS.h': [],
  'WString.h': [],
  'HardwareSerial.h': [],
  'Esp.h': [],
};

/** Name used in a sketch → the header that declares it. */
const DECLARED_IN: Record<string, string> = {
  WiFi: 'ESP8266WiFi.h',
  WIFI_STA: 'ESP8266WiFiType.h',
  WL_CONNECTED: 'wl_definitions.h',
  WiFiClient: 'WiFiClient.h',
  WiFiClientSecure: 'WiFiClientSecureBearSSL.h',
  WiFiUDP: 'WiFiUdp.h',
  HTTPClient: 'ESP8266HTTPClient.h',
  ESPhttpUpdate: 'ESP8266httpUpdate.h',
  ESP8266HTTPUpdate: 'ESP8266httpUpdate.h',
  HTTPUpdateResult: 'ESP8266httpUpdate.h',
  t_httpUpdate_return: 'ESP8266httpUpdate.h',
  HTTP_UPDATE_FAILED: 'ESP8266httpUpdate.h',
  HTTP_UPDATE_NO_UPDATES: 'ESP8266httpUpdate.h',
  HTTP_UPDATE_OK: 'ESP8266httpUpdate.h',
  PublicKey: 'BearSSLHelpers.h',
  HashSHA256: 'BearSSLHelpers.h',
  SigningVerifier: 'BearSSLHelpers.h',
  Update: 'Updater.h',
  UpdaterClass: 'Updater.h',
  ArduinoOTA: 'ArduinoOTA.h',
  ota_error_t: 'ArduinoOTA.h',
  OTA_AUTH_ERROR: 'ArduinoOTA.h',
  OTA_BEGIN_ERROR: 'ArduinoOTA.h',
  OTA_CONNECT_ERROR: 'ArduinoOTA.h',
  OTA_RECEIVE_ERROR: 'ArduinoOTA.h',
  OTA_END_ERROR: 'ArduinoOTA.h',
  MDNS: 'ESP8266mDNS.h',
  ESP8266WebServer: 'ESP8266WebServer.h',
  ESP8266HTTPUpdateServer: 'ESP8266HTTPUpdateServer.h',
  Serial: 'HardwareSerial.h',
  ESP: 'Esp.h',
};

function reachable(direct: string[]): Set<string> {
  const seen = new Set<string>();
  const todo = ['Arduino.h', ...direct];
  while (todo.length) {
    const h = todo.pop()!;
    if (seen.has(h)) continue;
    seen.add(h);
    todo.push(...(INCLUDES[h] ?? []));
  }
  return seen;
}

/** Code without comments and string literals (raw strings included), so prose does not count. */
function code(source: string): string {
  return source
    .replace(/R"(\w*)\([\s\S]*?\)\1"/g, '""')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/\/\/.*$/gm, ' ')
    .replace(/"(?:\\.|[^"\\])*"/g, '""');
}

/** What is wrong with a sketch's includes: unknown headers, and names no included header declares. */
function includeProblems(source: string): string[] {
  const includes = [...source.matchAll(/^\s*#include\s*<([^>]+)>/gm)].map((m) => m[1]!);
  const problems = includes.filter((h) => !(h in INCLUDES)).map((h) => `#include <${h}> is not a header of the core (names are case-sensitive)`);
  const have = reachable(includes);
  const body = code(source);
  for (const [name, header] of Object.entries(DECLARED_IN)) {
    if (new RegExp(`\\b${name}\\b`).test(body) && !have.has(header)) problems.push(`${name} is declared in ${header}, which no #include brings`);
  }
  return problems;
}

const EXAMPLES = join(ROOT, 'examples');
const sketches = readdirSync(EXAMPLES, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);

describe('device sketches', () => {
  test('the three sketches exist, each as <name>/<name>.ino', () => {
    expect(sketches.sort()).toEqual(['BasicOTASigned', 'WebUpdaterSigned', 'httpUpdateSigned']);
  });

  test.each(sketches)('%s uses only names its #includes declare', (name) => {
    const source = readFileSync(join(EXAMPLES, name, `${name}.ino`), 'utf8');
    expect(includeProblems(source)).toEqual([]);
    // the signing set-up the README explains line by line is in every sketch
    for (const n of ['BearSSL::PublicKey', 'BearSSL::HashSHA256', 'BearSSL::SigningVerifier', 'Update.installSignature']) expect(code(source)).toContain(n);
  });

  test('httpUpdateSigned includes <ESP8266httpUpdate.h> itself (the line the OTA docs leave out)', () => {
    const source = readFileSync(join(EXAMPLES, 'httpUpdateSigned', 'httpUpdateSigned.ino'), 'utf8');
    expect(source).toMatch(/^#include <ESP8266httpUpdate\.h>/m);
  });

  test('the check catches a missing include, a wrongly cased header, and ignores names in comments', () => {
    const bad = '#include <ESP8266WiFi.h>\n#include <ESP8266HttpUpdate.h>\n// ArduinoOTA in a comment\nvoid loop() { WiFiClient c; ESPhttpUpdate.update(c, "http://x/ArduinoOTA"); }\n';
    expect(includeProblems(bad)).toEqual([
      '#include <ESP8266HttpUpdate.h> is not a header of the core (names are case-sensitive)',
      'ESPhttpUpdate is declared in ESP8266httpUpdate.h, which no #include brings',
    ]);
  });
});
