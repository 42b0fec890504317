// Preloaded into a measured process (node --require): writes its peak resident set (KiB) to $MAXRSS_FILE on exit.
process.on('exit', () => require('node:fs').writeFileSync(process.env.MAXRSS_FILE, String(process.resourceUsage().maxRSS)));
