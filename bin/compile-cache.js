// Node 20 has no module.enableCompileCache(), so each run compiled the whole bundle again (about
// 15 ms here for program.cjs). This keeps V8's code cache of the two bundles, as Node 22+ does in
// its own cache folder: one file per bundle in a folder of the temp directory that only this user
// can write. A cache V8 rejects is rewritten; anything unusual (another owner, a link, an error)
// means compiling as usual.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

const bundles = path.join(__dirname, '..', 'dist', 'bundle') + path.sep;

function cacheFolder() {
  const uid = typeof process.getuid === 'function' ? process.getuid() : null;
  const dir = path.join(os.tmpdir(), `esp8266-sign-code-cache-${uid ?? os.userInfo().username}`);
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch {
    // it exists, or cannot be made: lstat decides
  }
  try {
    const st = fs.lstatSync(dir);
    if (!st.isDirectory() || (uid !== null && (st.uid !== uid || (st.mode & 0o022) !== 0))) return null;
    return dir;
  } catch {
    return null;
  }
}

/** V8 checks a cache against the source's length only: the key names the bundle's size and time too. */
function cacheFile(dir, filename) {
  const st = fs.statSync(filename);
  return path.join(dir, `${path.basename(filename)}-${process.version}-${st.size}-${Math.floor(st.mtimeMs)}.v8`);
}

const compile = Module.prototype._compile;
let dir;
Module.prototype._compile = function (content, filename) {
  if (!filename.startsWith(bundles)) return compile.call(this, content, filename);
  dir ??= cacheFolder();
  let file = null;
  let cached;
  try {
    file = dir && cacheFile(dir, filename);
    cached = file ? fs.readFileSync(file) : undefined;
  } catch {
    cached = undefined;
  }
  const script = new vm.Script(Module.wrap(content), { filename, cachedData: cached });
  if (file && (!cached || script.cachedDataRejected)) {
    // at exit, so that the functions this run compiled are in the cache too
    process.once('exit', () => {
      try {
        const tmp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
        fs.renameSync(tmp, file);
      } catch {
        // a cache is an optimisation: never an error
      }
    });
  }
  const fn = script.runInThisContext({ displayErrors: true });
  return fn.call(this.exports, this.exports, Module.createRequire(filename), this, filename, path.dirname(filename));
};
