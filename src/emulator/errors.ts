/** Updater error codes and their texts per core version (device-behaviour.md §3.7). */
import type { Profile } from './profiles.js';

export const UpdateError = {
  OK: 0,
  WRITE: 1,
  ERASE: 2,
  READ: 3,
  SPACE: 4,
  SIZE: 5,
  STREAM: 6,
  MD5: 7,
  FLASH_CONFIG: 8,
  NEW_FLASH_CONFIG: 9,
  MAGIC_BYTE: 10,
  BOOTSTRAP: 11,
  SIGN: 12,
  NO_DATA: 13,
  OOM: 14,
  RUNNING_ALREADY: 15,
  UNKNOWN_COMMAND: 16,
} as const;

export type UpdateErrorName = keyof typeof UpdateError;

const NEW_TEXTS: Partial<Record<UpdateErrorName, string>> = {
  WRITE: 'Flash Write Failed',
  ERASE: 'Flash Erase Failed',
  READ: 'Flash Read Failed',
  SPACE: 'Not Enough Space',
  SIZE: 'Bad Size Given',
  STREAM: 'Stream Read Timeout',
  MAGIC_BYTE: 'Magic byte is not 0xE9',
  BOOTSTRAP: 'Invalid bootstrapping state, reset ESP8266 before updating',
  SIGN: 'Signature verification failed',
  NO_DATA: 'No data supplied',
  OOM: 'Out of memory',
  RUNNING_ALREADY: 'Update already running',
  UNKNOWN_COMMAND: 'Unknown update command',
};

export interface DeviceError {
  code: number;
  name: UpdateErrorName;
  text: string;
}

/** The error as the device prints it: `ERROR[12]: Signature verification failed`; `headerSize` is the running header's flash size. */
export function deviceError(name: UpdateErrorName, profile: Profile, realSize = 0, headerSize = 0): DeviceError {
  const code = UpdateError[name];
  let text = NEW_TEXTS[name] ?? 'UNKNOWN';
  if (name === 'FLASH_CONFIG') text = profile.errorTexts === 'printError' ? `Flash config wrong real: ${realSize} IDE: ${headerSize}` : `Flash config wrong: real: ${realSize}, SDK: ${headerSize}`;
  if (name === 'NEW_FLASH_CONFIG') text = profile.errorTexts === 'printError' ? `new Flash config wrong real: ${realSize}` : `new Flash config wrong, real size: ${realSize}`;
  if (name === 'MAGIC_BYTE' && profile.errorTexts === 'printError') text = 'Magic byte is wrong, not 0xE9';
  return { code, name, text: `ERROR[${code}]: ${text}` };
}
