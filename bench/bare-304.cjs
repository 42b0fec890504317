// The floor for bench/serve.js: a Node server that answers every connection's first bytes with one
// fixed 304 and closes, parsing nothing. What serve costs beyond it is serve's own work.
const { createServer } = require('node:net');

const NOT_MODIFIED = Buffer.from('HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n', 'latin1');
createServer((socket) => {
  socket.on('error', () => socket.destroy());
  socket.once('data', () => socket.end(NOT_MODIFIED));
}).listen(Number(process.argv[2]), '127.0.0.1');
