// Headless Chromium (Debian's, driven by npm's playwright-core) opens chat_server's
// page twice: the browser's own WebSocket joins a room, sends and receives; then
// the server restarts and both pages come back by themselves (backoff with jitter)
// and chat again; a page in another room hears nothing of it.
//   node chat_chromium_test.cjs <chat_server binary> <node_modules dir> [chromium]
'use strict';
const assert = require('node:assert/strict');
const path = require('node:path');
const { start, stop, until, run } = require('./server.cjs');
const { chromium } = require(path.join(process.argv[3], 'playwright-core'));

const binary = process.argv[2];
const executablePath = process.argv[4] || '/usr/bin/chromium';
const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
               '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const chat = (page) => page.evaluate(() => window.chat);
const connected = (page, connects) =>
  page.waitForFunction((n) => window.chat.status === 'connected' && window.chat.connects >= n, connects, { timeout: 15000 });
async function say(page, text) {
  await page.fill('#text', text);
  await page.click('#say button');
}
const texts = async (page) => (await chat(page)).messages.map((m) => m.name + ': ' + m.text);

run([
  ['the page chats over WebSocket and comes back after a server restart', async () => {
    let server = await start(binary, []);
    const browser = await chromium.launch({ executablePath, args: flags });
    try {
      const open = async (query) => {
        const page = await browser.newPage();
        await page.goto(server.url + '/?base_ms=100&cap_ms=1000&' + query);
        await connected(page, 1);
        return page;
      };
      const alice = await open('room=lobby&name=alice');
      const bob = await open('room=lobby&name=bob');
      const carol = await open('room=elsewhere&name=carol');

      await say(alice, 'hello from a browser ☕');
      await until(async () => (await texts(bob)).includes('alice: hello from a browser ☕'), 5000, 'bob to hear alice');
      await say(bob, 'hi alice');
      await until(async () => (await texts(alice)).includes('bob: hi alice'), 5000, 'alice to hear bob');
      assert.deepEqual(await texts(alice), ['alice: hello from a browser ☕', 'bob: hi alice']);
      const events = (await chat(alice)).events.map((e) => e.type);
      assert.ok(events.includes('join'), 'alice saw bob join: ' + events);

      // A restart on the same port: each page notices the close, waits its
      // jittered delay and reconnects without anyone touching it.
      const port = server.port;
      await stop(server);
      await until(async () => (await chat(alice)).status !== 'connected', 5000, 'alice to notice the restart');
      server = await start(binary, [], port);
      await connected(alice, 2);
      await connected(bob, 2);
      await say(bob, 'back again');
      await until(async () => (await texts(alice)).includes('bob: back again'), 5000, 'alice to hear bob after the restart');

      await new Promise((r) => setTimeout(r, 200));  // room for a stray delivery to show up
      assert.deepEqual(await texts(carol), [], 'another room hears nothing');
      assert.equal((await texts(alice)).filter((t) => t === 'bob: back again').length, 1, 'no duplicate');
    } finally {
      await browser.close();
      await stop(server);
    }
  }],
]);
