// Preloaded into a measured process (node --require): writes its peak resident set (KiB) to $MAXRSS_FILE on exit.
// On Linux that is VmHWM, the high-water mark of this program's own address space. getrusage's
// maxrss (process.resourceUsage) also keeps the peak from before exec, when the child was still a
// fork of its parent: a bench process of 54 MiB made every child it spawned report at least that.
const fs = require('node:fs');

process.on('exit', () => {
  let kib;
  try {
    kib = Number(/^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);
  } catch {
    kib = process.resourceUsage().maxRSS;
  }
  fs.writeFileSync(process.env.MAXRSS_FILE, String(kib));
});
