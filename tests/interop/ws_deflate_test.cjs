// npm's `ws` with permessage-deflate (RFC 7692) against herald's
// websocket_echo_server with --deflate on and --deflate takeover: each of ws's
// offers (its default, no context takeover, small windows) is agreed as the RFC
// says, and large compressible messages cross compressed both ways (the bytes on
// the socket are a fraction of the messages').
//   node ws_deflate_test.cjs <websocket_echo_server binary> <node_modules dir>
'use strict';
const assert = require('node:assert/strict');
const path = require('node:path');
const { start, stop, run } = require('./server.cjs');
const WebSocket = require(path.join(process.argv[3], 'ws'));

const binary = process.argv[2];
let server;

function open(perMessageDeflate) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(server.url.replace('http', 'ws') + '/echo', { perMessageDeflate });
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

function next(socket) {
  return new Promise((resolve) => socket.once('message', (data, isBinary) => resolve({ data, isBinary })));
}

function closed(socket) {
  return new Promise((resolve) => socket.once('close', (code) => resolve(code)));
}

function json(n) {
  const items = [];
  for (let i = 0; i < n; i++) items.push(`{"symbol":"HRLD","price":${100 + (i % 17)},"volume":${i * 31}}`);
  return '[' + items.join(',') + ']';
}

// Echoes each message and checks what crossed the socket both ways.
// `expected`: the parameters of herald's answer, as ws parsed them.
async function exchange(offer, expected) {
  const socket = await open(offer);
  assert.equal(socket.extensions, 'permessage-deflate');
  assert.deepEqual({ ...socket._extensions['permessage-deflate'].params }, expected);
  const tcp = socket._socket;
  const read0 = tcp.bytesRead, written0 = tcp.bytesWritten;
  let plain = 0;
  for (const m of [json(2000), json(2000), 'ü'.repeat(50000), Buffer.alloc(200000), json(1), '']) {
    socket.send(m);
    const echo = await next(socket);
    assert.equal(echo.isBinary, Buffer.isBuffer(m));
    assert.ok(Buffer.from(m).equals(echo.data), 'a message of ' + m.length);
    plain += Buffer.byteLength(m);
  }
  // Fragments of one compressed message.
  socket.send(json(300), { fin: false });
  socket.send('tail ✓', { fin: true });
  assert.equal((await next(socket)).data.toString(), json(300) + 'tail ✓');
  plain += Buffer.byteLength(json(300) + 'tail ✓');
  const read = tcp.bytesRead - read0, written = tcp.bytesWritten - written0;
  assert.ok(read < plain / 5, `the server's frames compressed: ${read} bytes for ${plain}`);
  assert.ok(written < plain / 5, `the client's frames compressed: ${written} bytes for ${plain}`);
  socket.close(1000);
  assert.equal(await closed(socket), 1000);
}

const cases = [];
for (const mode of ['on', 'takeover']) {
  // With `on` herald asks both sides to start each message afresh.
  const afresh = mode === 'on' ? { server_no_context_takeover: true, client_no_context_takeover: true } : {};
  cases.push(
    [`start the echo server with --deflate ${mode}`, async () => { server = await start(binary, ['--deflate', mode]); }],
    [`${mode}: ws's default offer`, () => exchange({ threshold: 0 }, afresh)],
    [`${mode}: no context takeover asked by the client`, () => exchange(
      { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true },
      { server_no_context_takeover: true, client_no_context_takeover: true })],
    [`${mode}: small windows`, () => exchange(
      { threshold: 0, serverMaxWindowBits: 10, clientMaxWindowBits: 9 },
      { ...afresh, server_max_window_bits: 10, client_max_window_bits: 9 })],
    [`${mode}: a window of 8 for the server's compressor is declined, the connection goes uncompressed`, async () => {
      const socket = await open({ serverMaxWindowBits: 8 });
      assert.equal(socket.extensions, '');  // no extension agreed
      socket.send(json(10));
      assert.equal((await next(socket)).data.toString(), json(10));
      socket.close();
      await closed(socket);
    }],
    [`stop the --deflate ${mode} server`, async () => { await stop(server); }],
  );
}
run(cases);
