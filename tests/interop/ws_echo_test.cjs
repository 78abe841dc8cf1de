// npm's `ws` (the WebSocket implementation most of Node uses) against herald's
// websocket_echo_server: every payload size class of RFC 6455 §5.2, fragmented
// messages, ping/pong, close codes, and a protocol error answered with 1002.
//   node ws_echo_test.cjs <websocket_echo_server binary> <node_modules dir>
'use strict';
const assert = require('node:assert/strict');
const net = require('node:net');
const path = require('node:path');
const { start, stop, run } = require('./server.cjs');
const WebSocket = require(path.join(process.argv[3], 'ws'));

const binary = process.argv[2];
let server;

function open() {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(server.url.replace('http', 'ws') + '/echo');
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

function next(socket) {
  return new Promise((resolve) => socket.once('message', (data, isBinary) => resolve({ data, isBinary })));
}

function closed(socket) {
  return new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

run([
  ['start the echo server', async () => { server = await start(binary, []); }],
  ['text and binary messages of every length form come back as sent', async () => {
    const socket = await open();
    for (const size of [0, 1, 125, 126, 127, 65535, 65536, 1 << 20]) {
      const bin = Buffer.alloc(size, size % 251);
      socket.send(bin);
      const echo = await next(socket);
      assert.equal(echo.isBinary, true);
      assert.ok(bin.equals(echo.data), 'binary of ' + size + ' bytes');
      const text = 'é'.repeat(Math.floor(size / 2)) + (size % 2 ? 'x' : '');
      socket.send(text);
      const back = await next(socket);
      assert.equal(back.isBinary, false);
      assert.equal(back.data.toString(), text, 'text of ' + size + ' bytes');
    }
    socket.close(1000);
    assert.equal((await closed(socket)).code, 1000);
  }],
  ['a fragmented message is reassembled', async () => {
    const socket = await open();
    socket.send('frag', { fin: false });
    socket.send('men', { fin: false });
    socket.send('ted ✓', { fin: true });
    assert.equal((await next(socket)).data.toString(), 'fragmented ✓');
    socket.close();
    await closed(socket);
  }],
  ['a ping is answered with a pong carrying its payload', async () => {
    const socket = await open();
    const pong = new Promise((resolve) => socket.once('pong', resolve));
    socket.ping('are you there');
    assert.equal((await pong).toString(), 'are you there');
    socket.close();
    await closed(socket);
  }],
  ['close codes and reasons are echoed', async () => {
    for (const code of [1000, 1001, 1003, 1011, 3000, 4999]) {
      const socket = await open();
      socket.close(code, 'reason ' + code);
      const got = await closed(socket);
      assert.equal(got.code, code);
    }
  }],
  ['a frame with a reserved opcode is answered with close 1002', async () => {
    const reply = await new Promise((resolve, reject) => {
      const raw = net.connect(server.port, '127.0.0.1');
      let data = Buffer.alloc(0);
      raw.on('connect', () => raw.write(
        'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'));
      raw.on('data', (chunk) => {
        data = Buffer.concat([data, chunk]);
        const end = data.indexOf('\r\n\r\n');
        if (end >= 0 && !raw.sentBad) {
          raw.sentBad = true;
          raw.write(Buffer.from([0x83, 0x80, 1, 2, 3, 4]));  // opcode 3, masked, empty
        }
      });
      raw.on('close', () => resolve(data));
      raw.on('error', reject);
    });
    const head = reply.indexOf('\r\n\r\n') + 4;
    assert.match(reply.subarray(0, head).toString(), /^HTTP\/1\.1 101 /);
    const frame = reply.subarray(head);
    assert.equal(frame[0], 0x88);
    assert.equal(frame.readUInt16BE(2), 1002);
  }],
  ['stop the echo server', async () => { await stop(server); }],
]);
