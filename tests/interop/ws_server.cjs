#!/usr/bin/env node
// An npm `ws` WebSocket server for herald's client to talk to (a peer nobody here
// wrote). It echoes every message with its type, and obeys a few text commands:
//   "ping:P"       sends a ping with payload P; when herald's pong comes back it
//                  sends the text "pong:P" (proves the automatic pong)
//   "close:CODE"   closes with CODE and the reason "server closing"
//   "path"         answers "path:" and the request target of the upgrade
//   "bytes"        answers "bytes:R:W": the bytes its socket read and wrote so far
//   "deflate"      answers "deflate:" and the permessage-deflate parameters agreed, as JSON
//   ws_server.cjs --port P [--modules DIR] [--deflate 1]
// --deflate 1 accepts permessage-deflate (RFC 7692) and compresses every message.
'use strict';
const path = require('node:path');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf('--' + name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const modules = option('modules', process.env.HERALD_NODE_MODULES || '/usr/local/lib/herald-npm/node_modules');
const { WebSocketServer } = require(path.join(modules, 'ws'));

const perMessageDeflate = option('deflate', '0') === '1' ? { threshold: 0 } : false;
const server = new WebSocketServer({ host: '127.0.0.1', port: Number(option('port', '0')), maxPayload: 64 << 20,
                                     perMessageDeflate });
server.on('listening', () => console.log(`ws server on http://127.0.0.1:${server.address().port}/`));
server.on('connection', (socket, request) => {
  socket.on('message', (data, isBinary) => {
    const text = isBinary ? '' : data.toString();
    if (text.startsWith('ping:')) {
      const payload = text.slice(5);
      socket.once('pong', (got) => socket.send('pong:' + got.toString()));
      socket.ping(payload);
    } else if (text.startsWith('close:')) {
      socket.close(Number(text.slice(6)), 'server closing');
    } else if (text === 'path') {
      socket.send('path:' + request.url);
    } else if (text === 'bytes') {
      socket.send(`bytes:${socket._socket.bytesRead}:${socket._socket.bytesWritten}`);
    } else if (text === 'deflate') {
      const agreed = socket._extensions['permessage-deflate'];
      socket.send('deflate:' + JSON.stringify(agreed ? { ...agreed.params } : null));
    } else {
      socket.send(data, { binary: isBinary });
    }
  });
});
process.on('SIGTERM', () => process.exit(0));
