// Headless Chromium (Debian's, driven by npm's playwright-core) opens sse_server's
// page, whose EventSource receives events; the server drops the stream while
// events keep being published, and the page reconnects and gets the missed ones
// with no gap and no duplicate; after a restart it is told its history is lost.
//   node chromium_test.cjs <sse_server binary> <node_modules dir> [chromium]
'use strict';
const assert = require('node:assert/strict');
const path = require('node:path');
const { start, stop, request, until, run } = require('./server.cjs');
const { chromium } = require(path.join(process.argv[3], 'playwright-core'));

const binary = process.argv[2];
const executablePath = process.argv[4] || '/usr/bin/chromium';
const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
               '--disable-background-networking', '--disable-component-update', '--disable-sync'];

async function received(page) {
  return page.evaluate(() => window.received);
}

run([
  ['EventSource resumes after drops and restarts with no gap and no duplicate', async () => {
    let server = await start(binary, ['--epoch', 'web', '--retry-ms', '200']);
    const browser = await chromium.launch({ executablePath, args: flags });
    try {
      const page = await browser.newPage();
      await page.goto(server.url + '/');
      await page.waitForFunction(() => document.getElementById('status').textContent === 'connected', null, { timeout: 10000 });
      for (let i = 1; i <= 3; i++) await request(server, 'POST', '/publish', 'm' + i);
      await until(async () => (await received(page)).length === 3, 5000, 'three events in the page');

      // Drop the stream twice while publishing keeps going.
      let next = 4;
      for (let round = 0; round < 2; round++) {
        await request(server, 'POST', '/disconnect');
        for (let k = 0; k < 4; k++, next++) await request(server, 'POST', '/publish', 'm' + next);
        await page.waitForFunction(() => document.getElementById('status').textContent === 'connected', null, { timeout: 10000 });
      }
      const total = next - 1;
      await until(async () => (await received(page)).length >= total, 10000, total + ' events in the page');
      await new Promise((r) => setTimeout(r, 300));  // room for a duplicate to show up
      const got = await received(page);
      assert.deepEqual(got.map((e) => e.data), Array.from({ length: total }, (_, i) => 'm' + (i + 1)));
      assert.deepEqual(got.map((e) => e.id), Array.from({ length: total }, (_, i) => 'web-' + (i + 1)));

      // A full restart: new epoch, empty history. The page's old id must not be
      // resumed against the new numbering.
      const port = server.port;
      await stop(server);
      server = await start(binary, ['--epoch', 'reborn', '--retry-ms', '200'], port);
      await until(async () => (await received(page)).some((e) => e.lost), 15000, 'the history-lost event');
      const lost = (await received(page)).find((e) => e.lost);
      assert.equal(lost.id, 'reborn-0');
      await request(server, 'POST', '/publish', 'fresh');
      await until(async () => (await received(page)).some((e) => e.data === 'fresh'), 5000, 'the first event after the restart');
      assert.equal((await received(page)).at(-1).id, 'reborn-1');
    } finally {
      await browser.close();
      await stop(server);
    }
  }],
]);
