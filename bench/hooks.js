// Certificate hooks that some machines (sandboxes, corporate set-ups) add to both runtimes, and that
// have nothing to do with what is measured: NODE_EXTRA_CA_CERTS makes Node 20 parse the whole file
// before running a line (Node 22 and later read it when TLS first needs it), and a .pth file in an
// interpreter's site-packages runs at every Python start. Where either is present, each side is also
// timed without it: Node with the variable removed, the Python tool on /usr/bin/python3 (Debian's
// interpreter, what PATH gives on a stock machine).
import { existsSync, realpathSync } from 'node:fs';

export const EXTRA_CA = process.env.NODE_EXTRA_CA_CERTS;

/** This process's environment without NODE_EXTRA_CA_CERTS. */
export function withoutExtraCa() {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/**
 * The environments to run Node in: as set up, then (where the variable is set) without it.
 * `clean`: Node pays no certificate hook in it.
 */
export function nodeEnvironments() {
  const asSetUp = { label: '', env: process.env, clean: !EXTRA_CA, without: false };
  return EXTRA_CA ? [asSetUp, { label: ' (no NODE_EXTRA_CA_CERTS)', env: withoutExtraCa(), clean: true, without: true }] : [asSetUp];
}

/** /usr/bin/python3 when it is another interpreter than `python`, else null. */
export function plainPython(python) {
  return existsSync('/usr/bin/python3') && realpathSync('/usr/bin/python3') !== realpathSync(python) ? '/usr/bin/python3' : null;
}
