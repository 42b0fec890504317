// The Boards Manager entry for the tool (arduino-cli docs/package_index_json-specification.md,
// "tools"): one system per archive, matched by arduino-cli against the host it runs on.

/** `{ tools: [...] }`: what goes into a package's "tools" array of a package_*_index.json. */
export function indexFragment(version, archives, baseUrl) {
  return {
    tools: [
      {
        name: 'esp8266-sign',
        version,
        systems: archives.map((a) => ({
          host: a.host,
          url: new URL(a.fileName, baseUrl).href,
          archiveFileName: a.fileName,
          checksum: `SHA-256:${a.sha256}`,
          size: String(a.size),
        })),
      },
    ],
  };
}
