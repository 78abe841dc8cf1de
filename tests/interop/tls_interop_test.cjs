// The live demo's server over TLS (live_server --cert --key) with clients nobody
// here wrote: npm `ws` (wss://) and npm `eventsource` (https://) trusting the
// test's own certificate through NODE_EXTRA_CA_CERTS, refusing it without; and
// headless Chromium trusting that certificate only (by its key's hash), whose page
// reads the hub over EventSource and WebSocket and publishes with fetch.
//   node tls_interop_test.cjs <live_server binary> <node_modules dir> [chromium]
'use strict';
const assert = require('node:assert/strict');
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const modules = process.argv[2] === '--child' ? process.argv[5] : process.argv[3];

// The client half, run in a child node whose NODE_EXTRA_CA_CERTS is the test's
// certificate (or is not set: then every connection must be refused).
async function child(url, trusted) {
  const WebSocket = require(path.join(modules, 'ws'));
  const { EventSource } = require(path.join(modules, 'eventsource'));
  const wsUrl = url.replace('https', 'wss') + '/api/ws?topic=node';
  if (!trusted) {
    const error = await new Promise((resolve) => {
      const socket = new WebSocket(wsUrl);
      socket.on('open', () => resolve(null));
      socket.on('error', (e) => resolve(e));
    });
    assert.ok(error, 'an untrusted certificate must be refused');
    assert.match(String(error.code || error.message), /SELF_SIGNED|self.signed|verify/i);
    return;
  }
  const socket = new WebSocket(wsUrl, { perMessageDeflate: true });
  const frames = [];
  await new Promise((resolve, reject) => { socket.on('open', resolve); socket.on('error', reject); });
  socket.on('message', (data) => frames.push(JSON.parse(data.toString())));
  const source = new EventSource(url + '/api/events?topic=node');
  const events = [];
  source.onmessage = (e) => events.push(e.data);  // SSE carries the published text as it is
  await new Promise((resolve, reject) => {
    source.addEventListener('ready', resolve);
    source.onerror = (e) => reject(new Error('eventsource: ' + (e.message || e.code)));
  });
  for (let i = 0; i < 5; i++) {
    const res = await fetch(url + '/api/publish?topic=node', { method: 'POST', body: 'over tls ' + i });
    assert.equal(res.status, 200);
  }
  const deadline = Date.now() + 10000;
  while ((frames.filter((f) => f.data).length < 5 || events.length < 5) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(frames.filter((f) => f.data).map((f) => f.data), [0, 1, 2, 3, 4].map((i) => 'over tls ' + i));
  assert.deepEqual(events, [0, 1, 2, 3, 4].map((i) => 'over tls ' + i));
  socket.close();
  source.close();
}

async function parent() {
  const { start, stop, run } = require('./server.cjs');
  const { chromium } = require(path.join(modules, 'playwright-core'));
  const binary = process.argv[2];
  const executablePath = process.argv[4] || '/usr/bin/chromium';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-tls-'));
  const cert = path.join(dir, 'cert.pem'), key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-days', '1', '-subj', '/CN=herald-test', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', key, '-out', cert], { stdio: 'ignore' });
  // The base64 SHA-256 of the certificate's public key: what Chromium is told to trust.
  const spki = execFileSync('sh', ['-c', `openssl x509 -pubkey -noout -in ${cert} | openssl pkey -pubin -outform der | ` +
    'openssl dgst -sha256 -binary | base64']).toString().trim();
  let server;
  const runChild = (trusted) => new Promise((resolve, reject) => {
    const env = { ...process.env };
    if (trusted) env.NODE_EXTRA_CA_CERTS = cert;
    else delete env.NODE_EXTRA_CA_CERTS;
    const c = spawn(process.execPath, [__filename, '--child', server.url, trusted ? 'trusted' : 'untrusted', modules],
      { env, stdio: 'inherit' });
    c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error('the client exited with ' + code))));
  });
  await run([
    ['live_server starts over TLS', async () => {
      server = await start(binary, ['--ticker-ms', '0', '--quiet', '1', '--cert', cert, '--key', key]);
      server.url = 'https://localhost:' + server.port;
    }],
    ['npm ws and eventsource read the hub over wss:// and https:// with the certificate trusted', () => runChild(true)],
    ['npm ws refuses the certificate when it is not trusted', () => runChild(false)],
    ['headless Chromium trusting that certificate only reads the hub over EventSource and WebSocket', async () => {
      const browser = await chromium.launch({ executablePath,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--ignore-certificate-errors-spki-list=' + spki] });
      try {
        const page = await browser.newPage();
        await page.goto(server.url + '/');
        const got = await page.evaluate(async () => {
          const texts = { sse: [], ws: [] };
          const source = new EventSource('/api/events?topic=page');
          source.onmessage = (e) => texts.sse.push(e.data);  // SSE: the text as published; WebSocket: its JSON
          const socket = new WebSocket(location.origin.replace('https', 'wss') + '/api/ws?topic=page');
          socket.onmessage = (e) => { const m = JSON.parse(e.data); if (m.data) texts.ws.push(m.data); };
          await Promise.all([new Promise((r) => source.addEventListener('ready', r, { once: true })),
                             new Promise((r) => socket.addEventListener('message', r, { once: true }))]);
          for (let i = 0; i < 3; i++) await fetch('/api/publish?topic=page', { method: 'POST', body: 'page ' + i });
          for (let t = 0; t < 200 && (texts.sse.length < 3 || texts.ws.length < 3); t++) await new Promise((r) => setTimeout(r, 50));
          return { protocol: location.protocol, ...texts };
        });
        assert.equal(got.protocol, 'https:', JSON.stringify(got));
        assert.deepEqual(got.sse, ['page 0', 'page 1', 'page 2'], JSON.stringify(got));
        assert.deepEqual(got.ws, ['page 0', 'page 1', 'page 2']);
      } finally {
        await browser.close();
      }
    }],
    ['headless Chromium without that trust refuses the page', async () => {
      const browser = await chromium.launch({ executablePath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
      try {
        const page = await browser.newPage();
        await assert.rejects(page.goto(server.url + '/'), /ERR_CERT_AUTHORITY_INVALID/);
      } finally {
        await browser.close();
      }
    }],
    ['stop', async () => { await stop(server); fs.rmSync(dir, { recursive: true, force: true }); }],
  ]);
}

if (process.argv[2] === '--child') {
  child(process.argv[3], process.argv[4] === 'trusted').then(() => process.exit(0), (e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  parent();
}
