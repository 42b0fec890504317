// The floor for `--mode sign --legacy`: only the work itself (read the key and 1 MiB, hash once, two
// RSA operations, write two files), none of the checks, messages or atomic writes. Run by bench/run.js
// to show how much of the tool's time beyond `node -e 0` any node:crypto implementation must spend.
const { readFileSync, writeFileSync } = require('node:fs');
const { constants, createHash, createPrivateKey, privateEncrypt } = require('node:crypto');

const [keyPath, binPath, outPath, legacyPath] = process.argv.slice(2);
const key = createPrivateKey(readFileSync(keyPath));
const data = readFileSync(binPath);
const digest = createHash('sha256').update(data).digest();
const digestInfo = Buffer.concat([Buffer.from('3031300d060960864801650304020105000420', 'hex'), digest]);
const trailer = Buffer.alloc(4);
trailer.writeUInt32LE(key.asymmetricKeyDetails.modulusLength / 8);
writeFileSync(outPath, Buffer.concat([data, privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, digestInfo), trailer]));
writeFileSync(legacyPath, Buffer.concat([data, privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, digest), trailer]));
