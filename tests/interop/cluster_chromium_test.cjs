// The cluster demo (docs/cluster.md, tools/cluster) with clients nobody here wrote:
// three live_server nodes on one Redis; headless Chromium opens the page with
// ?nodes=..., so each of its four panes (short polling, long polling, SSE,
// WebSocket; herald.js) and the auto client is on a node; npm ws and npm
// eventsource clients too, each moving to the next node with its last id when its
// node goes. A publisher retries each message with its Idempotency-Key on the next
// node. In turn: node 0 killed (SIGKILL), node 1 stopped (SIGSTOP) for 2 s, every
// subscription killed (CLIENT KILL TYPE pubsub), DEBUG SLEEP 2, CLIENT PAUSE 1500
// WRITE, Redis killed with AOF always and restarted (same epoch), killed and
// restarted empty (a new epoch), and restarted from an older snapshot (a new
// epoch). Every client gets every id of each epoch once, in order, and exactly one
// lost signal for each epoch Redis lost, none for the rest.
//   node cluster_chromium_test.cjs <live_server> <node_modules> <chromium> <redis-server>
'use strict';
const assert = require('node:assert/strict');
const path = require('node:path');
const net = require('node:net');
const fs = require('node:fs');
const os = require('node:os');
const { spawn, execFileSync } = require('node:child_process');
const { start, stop, request, until, run } = require('./server.cjs');
const modules = process.argv[3];
const { chromium } = require(path.join(modules, 'playwright-core'));
const WebSocket = require(path.join(modules, 'ws'));
const { EventSource } = require(path.join(modules, 'eventsource'));

const [binary, , executablePath = '/usr/bin/chromium', redisServer = '/usr/bin/redis-server'] = process.argv.slice(2);
const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
               '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const seq = (id) => Number(id.slice(id.lastIndexOf('-') + 1));
const pause = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

const epochOf = (id) => id.slice(0, id.lastIndexOf('-'));

// Within an epoch each id follows the one before; a new epoch begins right after
// the position its lost signal gave (`losts`, in order). -> the epochs seen.
function contiguous(ids, losts, what) {
  assert.ok(ids.length > 0, what + ' got something');
  const epochs = [epochOf(ids[0])];
  for (let i = 1; i < ids.length; i++) {
    if (epochOf(ids[i]) === epochOf(ids[i - 1])) {
      assert.equal(seq(ids[i]), seq(ids[i - 1]) + 1, `${what}: ${ids[i - 1]} then ${ids[i]}`);
      continue;
    }
    const at = losts.find((l) => epochOf(l) === epochOf(ids[i]));
    assert.ok(at, `${what}: ${ids[i]} in a new epoch without a lost signal`);
    assert.equal(seq(ids[i]), seq(at) + 1, `${what}: lost at ${at}, then ${ids[i]}`);
    epochs.push(epochOf(ids[i]));
  }
  return epochs;
}

// A redis-server on `port`, with `args` after the common ones.
function startRedis(port, args) {
  return spawn(redisServer, ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--enable-debug-command', 'local',
                             '--loglevel', 'warning', ...args], { stdio: 'ignore' });
}
const redisCli = (port, ...args) => execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 10000 }).trim();
const killed = (child) => new Promise((resolve) => { child.on('exit', resolve); child.kill('SIGKILL'); });

// A client of npm ws or npm eventsource that moves to the next node when its
// connection ends, resuming from the last id it was given (?since=).
function mover(kind, ports) {
  const state = { ids: [], lost: 0, losts: [], moves: 0, last: '', closed: false };
  let at = 0;
  const open = () => {
    if (state.closed) return;
    const query = `topic=live${state.last ? '&since=' + encodeURIComponent(state.last) : ''}`;
    const base = `127.0.0.1:${ports[at % ports.length]}/api`;
    const next = () => { if (!state.closed) { at++; state.moves++; setTimeout(open, 100); } };
    if (kind === 'ws') {
      const ws = new WebSocket(`ws://${base}/ws?${query}`);
      state.end = () => ws.terminate();
      ws.on('message', (data) => {
        const m = JSON.parse(data.toString());
        if (m.type === 'lost') { state.lost++; state.losts.push(m.id); state.last = m.id; } else if (m.type === 'ready') state.last = m.id;
        else if (m.id) { state.ids.push(m.id); state.last = m.id; }
      });
      ws.on('error', () => {});
      ws.on('close', next);
      // A stopped node answers nothing: a client without a word in 3 s moves on
      // (the hub's WebSocket heartbeat pings every 15 s; ws answers them).
      const watch = setInterval(() => { if (Date.now() - (state.heard || Date.now()) > 3000) ws.terminate(); }, 500);
      ws.on('message', () => { state.heard = Date.now(); });
      ws.on('open', () => { state.heard = Date.now(); });
      ws.on('close', () => clearInterval(watch));
    } else {
      const es = new EventSource(`http://${base}/events?${query}`);
      state.end = () => es.close();
      let heard = Date.now();
      const moveOn = () => { clearInterval(watch); es.close(); next(); };
      const watch = setInterval(() => { if (Date.now() - heard > 3000) moveOn(); }, 500);
      es.addEventListener('ready', (e) => { heard = Date.now(); state.last = e.lastEventId; });
      es.addEventListener('history-lost', (e) => { heard = Date.now(); state.lost++; state.losts.push(e.lastEventId); state.last = e.lastEventId; });
      es.onmessage = (e) => { heard = Date.now(); state.ids.push(e.lastEventId); state.last = e.lastEventId; };
      es.onerror = moveOn;  // herald.js's way: its own reconnect, to the next node
    }
  };
  open();
  state.close = () => { state.closed = true; if (state.end) state.end(); };
  return state;
}

// Publishes m1, m2, ... one request at a time, 1 ms apart, each retried with its
// Idempotency-Key on the next node until acknowledged.
function publisher(nodes) {
  const state = { acked: [], going: true };
  (async () => {
    let node = 0;
    for (let i = 1; state.going; i++) {
      for (let tries = 0; tries < 200; tries++) {
        const target = nodes[node % nodes.length];
        const answer = await new Promise((resolve) => {
          const req = require('node:http').request(`http://127.0.0.1:${target.port}/api/publish?topic=live`,
            { method: 'POST', agent: false, timeout: 2000, headers: { 'Idempotency-Key': 'p' + i } }, (res) => {
              let body = '';
              res.on('data', (d) => (body += d));
              res.on('end', () => resolve(res.statusCode === 200 ? JSON.parse(body).id : null));
            });
          req.on('timeout', () => req.destroy());
          req.on('error', () => resolve(null));
          req.end('m' + i);
        });
        if (answer) { state.acked.push(answer); break; }
        node++;
        await pause(50);
      }
      await pause(1);
    }
    state.done = true;
  })();
  return state;
}

let browser;
run([
  ['every client moves on through node failures and Redis failures, and loses nothing Redis kept', async () => {
    const redisPort = await freePort();
    const aofDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-aof-'));
    const plainDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-rdb-'));
    const aof = ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', aofDir];
    const plain = ['--appendonly', 'no', '--dir', plainDir];
    let redis = startRedis(redisPort, aof);
    const nodes = [];
    try {
      await pause(300);
      for (const name of ['c0', 'c1', 'c2'])
        nodes.push(await start(binary, ['--redis', `127.0.0.1:${redisPort}`, '--node', name, '--ticker-ms', '0',
                                        '--allow-origin', '*', '--quiet', '1']));
      const ports = nodes.map((n) => n.port);
      const pub = publisher(nodes);
      await until(() => pub.acked.length >= 3, 15000, 'the first publishes');
      browser = await chromium.launch({ executablePath, args: flags });
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(`${nodes[0].url}/?nodes=${ports.join(',')}`);
      const clients = [mover('ws', ports), mover('eventsource', ports)];
      const panes = () => page.evaluate(() => Object.fromEntries(Object.entries(window.panes).map(
        ([k, v]) => [k, { ids: v.ids, lost: v.lost, losts: v.losts, status: v.status, nodes: v.nodes }])));
      await until(async () => Object.values(await panes(page)).every((p) => p.status === 'connected' && p.ids.length >= 3) &&
                               clients.every((c) => c.ids.length >= 3), 20000, 'every client receiving');
      const firstEpoch = redisCli(redisPort, 'HGET', 'herald:{live}:meta', 'epoch');

      process.kill(nodes[0].child.pid, 'SIGKILL');  // every client starts on node 0
      await pause(2500);
      process.kill(nodes[1].child.pid, 'SIGSTOP');
      await pause(2000);
      process.kill(nodes[1].child.pid, 'SIGCONT');
      await pause(1500);
      redisCli(redisPort, 'CLIENT', 'KILL', 'TYPE', 'pubsub');
      await pause(1500);
      redisCli(redisPort, 'DEBUG', 'SLEEP', '2');
      await pause(1000);
      redisCli(redisPort, 'CLIENT', 'PAUSE', '1500', 'WRITE');
      await pause(2500);
      await killed(redis);  // AOF always: Redis comes back with every message it answered
      redis = startRedis(redisPort, aof);
      await pause(2500);
      assert.equal(redisCli(redisPort, 'HGET', 'herald:{live}:meta', 'epoch'), firstEpoch, 'the same epoch after an AOF restart');
      await killed(redis);  // no persistence: Redis comes back empty
      redis = startRedis(redisPort, plain);
      await pause(2500);
      const secondEpoch = redisCli(redisPort, 'HGET', 'herald:{live}:meta', 'epoch');
      assert.equal(redisCli(redisPort, 'SAVE'), 'OK');
      await pause(1000);
      await killed(redis);  // back to the snapshot: its numbering went back
      redis = startRedis(redisPort, plain);
      await pause(3000);
      pub.going = false;
      await until(() => pub.done, 20000, 'the publisher done');
      const epoch = redisCli(redisPort, 'HGET', 'herald:{live}:meta', 'epoch');
      const lastSeq = Number(redisCli(redisPort, 'HGET', 'herald:{live}:meta', 'seq'));
      const epochs = [firstEpoch, secondEpoch, epoch];
      assert.equal(new Set(epochs).size, 3, `three epochs: ${epochs}`);
      const reached = (ids) => ids.length && ids.at(-1) === `${epoch}-${lastSeq}`;
      await until(async () => Object.values(await panes(page)).every((p) => reached(p.ids)) && clients.every((c) => reached(c.ids)) &&
                               reached(await page.evaluate(() => window.auto.ids)), 30000, `every client at ${epoch}-${lastSeq}`);
      const summary = Object.entries(await panes(page)).map(([k, p]) => `${k} ${p.ids.length} ids on ${p.nodes.map((n) => n.split(':').pop()).join('>')}`);
      console.log(`     epochs ${epochs.join(', ')}, last ${lastSeq}; ${summary.join('; ')}; ws ${clients[0].ids.length} ids, ` +
                  `${clients[0].moves} moves; eventsource ${clients[1].ids.length} ids, ${clients[1].moves} moves`);
      // Nothing acknowledged twice; in the last epoch every stored message was acknowledged.
      assert.equal(new Set(pub.acked).size, pub.acked.length, 'no id acknowledged twice');
      assert.deepEqual(pub.acked.filter((id) => epochOf(id) === epoch).map(seq).sort((a, b) => a - b),
                       Array.from({ length: lastSeq }, (_, i) => i + 1));
      const judge = (ids, losts, what) => {
        assert.deepEqual(contiguous(ids, losts, what), epochs, what + ': the three epochs, in order');
        assert.equal(losts.length, 2, what + ': one lost signal per epoch Redis lost');
      };
      for (const [name, p] of Object.entries(await panes(page))) {
        judge(p.ids, p.losts, 'pane ' + name);
        assert.ok(p.nodes.length >= 2, `pane ${name} moved to another node (${p.nodes})`);
      }
      const auto = await page.evaluate(() => window.auto);
      judge(auto.ids, auto.losts, 'auto client');
      for (const [i, c] of clients.entries()) {
        judge(c.ids, c.losts, ['npm ws', 'npm eventsource'][i]);
        assert.ok(c.moves >= 1, 'moved');
        c.close();
      }
    } finally {
      if (browser) await browser.close();
      for (const n of nodes.slice(1)) { try { process.kill(n.child.pid, 'SIGCONT'); } catch (e) {} await stop(n); }
      redis.kill('SIGKILL');
      fs.rmSync(aofDir, { recursive: true, force: true });
      fs.rmSync(plainDir, { recursive: true, force: true });
    }
  }],
]);
