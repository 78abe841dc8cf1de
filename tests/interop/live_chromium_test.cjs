// Headless Chromium (Debian's, driven by npm's playwright-core) opens the live
// demo: all four panes (short polling, long polling, SSE, WebSocket) get the same
// stream; every client connection is dropped while the ticker keeps publishing and
// every pane comes back with no gap and no duplicate; a restart (new epoch) is
// shown as "history lost" in every pane, which then resynchronises; with
// WebSocket blocked the auto client falls back to SSE, and with SSE blocked too,
// to long polling; unblocked, it probes WebSocket and climbs back. A screenshot is saved as a test artifact (live.png).
//   node live_chromium_test.cjs <live_server binary> <node_modules dir> [chromium] [artifact dir]
'use strict';
const assert = require('node:assert/strict');
const path = require('node:path');
const { start, stop, request, until, run } = require('./server.cjs');
const { chromium } = require(path.join(process.argv[3], 'playwright-core'));

const binary = process.argv[2];
const executablePath = process.argv[4] || '/usr/bin/chromium';
const artifacts = process.argv[5] || '.';
const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
               '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const transports = ['short-poll', 'long-poll', 'sse', 'websocket'];

const panes = (page) => page.evaluate(() => Object.fromEntries(Object.entries(window.panes).map(
  ([k, v]) => [k, { ids: v.ids, data: v.data, lost: v.lost, status: v.status }])));
const seq = (id) => Number(id.slice(id.lastIndexOf('-') + 1));

// Within one epoch, ids must follow each other with no gap and no repeat.
function contiguous(ids, what) {
  for (let i = 1; i < ids.length; i++) assert.equal(seq(ids[i]), seq(ids[i - 1]) + 1, `${what}: ${ids[i - 1]} then ${ids[i]}`);
}

let browser;
run([
  ['every pane gets the stream, survives drops without a gap, and sees a restart as history lost', async () => {
    let server = await start(binary, ['--ticker-ms', '150', '--epoch', 'one', '--quiet', '1']);
    browser = await chromium.launch({ executablePath, args: flags });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
      await page.goto(server.url + '/');
      await until(async () => Object.values(await panes(page)).every((p) => p.status === 'connected' && p.ids.length >= 3), 15000, 'all panes receiving');

      await request(server, 'POST', '/api/publish?topic=live', 'hello from the test');
      await until(async () => Object.values(await panes(page)).every((p) => p.data.includes('hello from the test')), 10000, 'the publish in every pane');

      for (let round = 0; round < 2; round++) {
        await request(server, 'POST', '/admin/disconnect');
        await new Promise((r) => setTimeout(r, 600));  // the ticker publishes meanwhile
      }
      const target = seq((await request(server, 'POST', '/api/publish?topic=live', 'after the drops')).body.match(/"id":"([^"]+)"/)[1]);
      await until(async () => Object.values(await panes(page)).every((p) => p.ids.length && seq(p.ids.at(-1)) >= target), 15000, 'every pane caught up');
      for (const [name, p] of Object.entries(await panes(page))) {
        contiguous(p.ids, name);
        assert.equal(p.lost, 0, name + ' lost nothing');
      }
      await page.screenshot({ path: path.join(artifacts, 'live.png') });

      // A restart: a new epoch, an empty history.
      const port = server.port;
      await stop(server);
      server = await start(binary, ['--ticker-ms', '150', '--epoch', 'two', '--quiet', '1'], port);
      await until(async () => Object.values(await panes(page)).every((p) => p.lost >= 1 && p.ids.some((id) => id.startsWith('two-'))), 20000, 'history lost, then the new stream, in every pane');
      for (const [name, p] of Object.entries(await panes(page))) contiguous(p.ids.filter((id) => id.startsWith('two-')), name + ' after the restart');
    } finally {
      await browser.close();
      await stop(server);
    }
  }],
  ['the auto client falls back: WebSocket blocked to SSE, SSE blocked too to long polling; unblocked, it climbs back', async () => {
    const server = await start(binary, ['--ticker-ms', '150', '--quiet', '1']);
    browser = await chromium.launch({ executablePath, args: flags });
    try {
      const blockedWs = await browser.newPage();
      await blockedWs.routeWebSocket(/\/api\/ws/, (ws) => ws.close());
      await blockedWs.goto(server.url + '/');
      await until(async () => (await blockedWs.evaluate(() => window.auto.transport)) === 'sse', 15000, 'fallback to SSE');
      const before = await blockedWs.evaluate(() => window.auto.ids.length);
      await until(async () => (await blockedWs.evaluate(() => window.auto.ids.length)) > before + 2, 10000, 'messages over SSE');

      const blockedBoth = await browser.newPage();
      await blockedBoth.routeWebSocket(/\/api\/ws/, (ws) => ws.close());
      await blockedBoth.route(/\/api\/events/, (route) => route.abort());
      await blockedBoth.goto(server.url + '/');
      await until(async () => (await blockedBoth.evaluate(() => window.auto.transport)) === 'long-poll', 20000, 'fallback to long polling');
      const got = await blockedBoth.evaluate(() => window.auto.ids.length);
      await until(async () => (await blockedBoth.evaluate(() => window.auto.ids.length)) > got + 2, 10000, 'messages over long polling');
      contiguous(await blockedBoth.evaluate(() => window.auto.ids), 'auto client');

      // Climbing back: WebSocket blocked at first, so SSE; unblocked, the client's
      // probe finds it and moves back, and no message is lost or repeated on the way.
      let blocked = true;
      const climbing = await browser.newPage();
      await climbing.routeWebSocket(/\/api\/ws/, (ws) => (blocked ? ws.close() : ws.connectToServer()));
      await climbing.goto(server.url + '/?climb=1000');
      await until(async () => (await climbing.evaluate(() => window.auto.transport)) === 'sse', 15000, 'fallback to SSE before climbing');
      const onSse = await climbing.evaluate(() => window.auto.ids.length);
      await until(async () => (await climbing.evaluate(() => window.auto.ids.length)) > onSse + 2, 10000, 'messages over SSE');
      blocked = false;
      await until(async () => (await climbing.evaluate(() => window.auto.transport)) === 'websocket', 15000, 'back to WebSocket');
      const onWs = await climbing.evaluate(() => window.auto.ids.length);
      await until(async () => (await climbing.evaluate(() => window.auto.ids.length)) > onWs + 2, 10000, 'messages over WebSocket again');
      contiguous(await climbing.evaluate(() => window.auto.ids), 'auto client climbing back');
    } finally {
      await browser.close();
      await stop(server);
    }
  }],
]);
