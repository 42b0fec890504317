// Prints, as JSON, what postbuild's smoke tests cost in a fresh process: loading the emulator, the
// first replay (.bin.signed on 3.1.2, cold), and the others (.bin.legacy_sig on 2.5.2, .bin.gz.signed).
// Run by bench/sections.js to report the emulator's share of a postbuild.
import { readFileSync } from 'node:fs';

const [bin, signed, legacy, gzSigned, header] = process.argv.slice(2).map((p) => readFileSync(p));
const { parseHeader } = await import('../dist/header-gen/header.js');
const pub = parseHeader(header.toString('latin1'));
const t0 = process.hrtime.bigint();
const { smokeTest } = await import('../dist/emulator/smoke.js');
const { makeLayout } = await import('../dist/emulator/layouts.js');
const t1 = process.hrtime.bigint();
const build = { layout: makeLayout(4 << 20, 0x300000, 0x3fa000), flashMode: 'dio', runningSketchSize: bin.length, embeddedKey: pub };
const ok = [smokeTest(signed, '3.1.2', build, bin).passed];
const t2 = process.hrtime.bigint();
ok.push(smokeTest(legacy, '2.5.2', build, bin).passed, smokeTest(gzSigned, '3.1.2', build, bin).passed);
const t3 = process.hrtime.bigint();
const ms = (a, b) => Number(b - a) / 1e6;
process.stdout.write(JSON.stringify({ load: ms(t0, t1), first: ms(t1, t2), rest: ms(t2, t3), ok: ok.every(Boolean) }));
