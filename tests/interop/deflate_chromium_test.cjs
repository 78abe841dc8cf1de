// Headless Chromium's own WebSocket with permessage-deflate (the browser always
// offers it) against websocket_echo_server with --deflate on and --deflate
// takeover: the agreement the page sees, and text and binary messages of every
// size class echoed through compression both ways.
//   node deflate_chromium_test.cjs <websocket_echo_server binary> <node_modules dir> [chromium]
'use strict';
const assert = require('node:assert/strict');
const path = require('node:path');
const { start, stop, run } = require('./server.cjs');
const { chromium } = require(path.join(process.argv[3], 'playwright-core'));

const binary = process.argv[2];
const executablePath = process.argv[4] || '/usr/bin/chromium';
const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
               '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// In the page: opens the socket, echoes each message, reports what came back.
function inPage(url) {
  return new Promise((resolve, reject) => {
    const json = (n) => '[' + Array.from({ length: n }, (_, i) => `{"price":${100 + (i % 17)},"volume":${i * 31}}`).join(',') + ']';
    const sent = [json(1), json(100), json(100), 'ü'.repeat(70000), '', json(40000)];
    const binary = new Uint8Array(300000).map((_, i) => (i % 64 === 0 ? i % 251 : 0));
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    const got = [];
    ws.onerror = () => reject(new Error('socket error'));
    ws.onopen = () => {
      for (const m of sent) ws.send(m);
      ws.send(binary);
    };
    ws.onmessage = (e) => {
      got.push(e.data);
      if (got.length < sent.length + 1) return;
      const bin = new Uint8Array(got.pop());
      resolve({
        extensions: ws.extensions,
        textsEqual: got.every((m, i) => m === sent[i]),
        binaryEqual: bin.length === binary.length && bin.every((b, i) => b === binary[i]),
      });
      ws.close(1000);
    };
  });
}

const cases = [];
for (const mode of ['on', 'takeover']) {
  cases.push([`Chromium's WebSocket echoes through --deflate ${mode}`, async () => {
    const server = await start(binary, ['--deflate', mode]);
    const browser = await chromium.launch({ executablePath, args: flags });
    try {
      const page = await browser.newPage();
      await page.goto(server.url + '/');
      const result = await page.evaluate(inPage, server.url.replace('http', 'ws') + '/echo');
      // Chromium offers "permessage-deflate; client_max_window_bits"; herald's `on`
      // adds both no-context-takeover parameters, `takeover` neither.
      assert.equal(result.extensions, mode === 'on'
        ? 'permessage-deflate; server_no_context_takeover; client_no_context_takeover'
        : 'permessage-deflate');
      assert.ok(result.textsEqual, 'every text message came back as sent');
      assert.ok(result.binaryEqual, 'the binary message came back as sent');
    } finally {
      await browser.close();
      await stop(server);
    }
  }]);
}
run(cases);
