// herald.js: a dependency-free browser client for a herald hub (herald/asio/hub/routes.hpp).
// One stream of messages over the best transport the network allows, falling back
// WebSocket → SSE → long polling → short polling when one fails, reconnecting with
// exponential backoff and full jitter, and resuming from the last id it saw.
//
//   import { subscribe } from './herald.js';
//   const sub = subscribe({ topic: 'live', onMessage: (m) => ..., onLost: (newestId) => ... });
//   sub.publish('hello');   // over the WebSocket when that is the transport, else POST
//   sub.close();
//
// Options: base ('/api'), topic ('live'), transports (the order to try; the default
// is all four), nodes (origins of a cluster's nodes, e.g. ['http://a:8081',
// 'http://b:8082']; default: this page's origin), pollIntervalMs (short polling, 1000), pollTimeoutS (long polling, 25),
// backoff ({baseMs: 500, capMs: 15000}), climbBackMs (60000), onStatus(status,
// transport), onStats(stats). A transport is given up for the next one after
// `failuresBeforeFallback` (2) failed attempts in a row that never received anything.
// On a fallback, the best transport is probed on the side every climbBackMs or so
// (0: never); once a probe is answered the client moves back to it, resuming from
// the last id, so nothing is lost or repeated. A failed probe doubles the wait for
// the next, up to ten times climbBackMs.
//
// With several nodes (docs/cluster.md: they share ids through Redis), a connection
// that fails before receiving anything moves to the next node, resuming from the
// last id; a transport is given up only after failing on every node. onStatus gets
// the node as its third argument; `sub.node` is the one in use. Pages of another
// origin need the nodes to allow it (live_server --allow-origin).

export const TRANSPORTS = ['websocket', 'sse', 'long-poll', 'short-poll'];

export function subscribe(options = {}) {
  const o = {
    base: '/api', topic: 'live', transports: TRANSPORTS, nodes: [], pollIntervalMs: 1000, pollTimeoutS: 25,
    backoff: { baseMs: 500, capMs: 15000 }, failuresBeforeFallback: 2, climbBackMs: 60000,
    onMessage: () => {}, onLost: () => {}, onStatus: () => {}, onStats: () => {}, ...options,
  };
  const stats = { transport: null, requests: 0, bytes: 0, messages: 0, reconnects: 0 };
  let lastId = o.since || '';
  let index = 0, failures = 0, attempt = 0, closed = false, current = null, timer = null;
  let probeTimer = null, probeDelay = o.climbBackMs, node = 0;

  const query = (extra) => `topic=${encodeURIComponent(o.topic)}` + (lastId ? `&since=${encodeURIComponent(lastId)}` : '') + (extra || '');
  const origin = () => o.nodes.length ? o.nodes[node] : location.origin;
  const api = (path) => `${origin()}${o.base}${path}`;
  const wsApi = (path) => api(path).replace(/^http/, 'ws');  // http: → ws:, https: → wss:
  const status = (s) => o.onStatus(s, o.transports[index], origin());
  const count = (bytes) => { stats.bytes += bytes; o.onStats({ ...stats }); };

  function deliver(m) {
    if (!m || m.id === undefined) return;
    lastId = m.id;
    stats.messages++;
    failures = 0;
    o.onMessage(m);
  }
  function lost(newestId) {
    lastId = newestId;
    failures = 0;
    o.onLost(newestId);
  }

  // After a drop: the same transport again after a jittered delay, or the next one
  // when this one keeps failing before it ever worked.
  function retry(gotSomething) {
    if (closed) return;
    current = null;
    if (gotSomething) { failures = 0; attempt = 0; } else {
      if (o.nodes.length > 1) node = (node + 1) % o.nodes.length;  // its node may be gone: the next one
      if (++failures >= o.failuresBeforeFallback * Math.max(1, o.nodes.length) && index < o.transports.length - 1) {
        index++; failures = 0; attempt = 0;
      }
    }
    stats.reconnects++;
    const delay = Math.random() * Math.min(o.backoff.capMs, o.backoff.baseMs * 2 ** attempt++);  // full jitter
    status('reconnecting');
    timer = setTimeout(open, delay);
  }

  const openers = {
    websocket() {
      const ws = new WebSocket(wsApi(`/ws?${query()}`));
      // `got` (it worked: reset the backoff, keep this transport) is set by the
      // first frame, not by open: a socket that opens and closes at once must back off.
      let got = false;
      stats.requests++;
      ws.onopen = () => status('connected');
      ws.onmessage = (e) => {
        got = true;
        count(e.data.length);
        const m = JSON.parse(e.data);
        if (m.type === 'lost') lost(m.id);
        else if (m.type === 'ready') lastId = m.id;  // a fresh start: resume from here after a drop
        else if (m.type !== 'error') deliver(m);
      };
      ws.onclose = () => retry(got);
      return { close: () => { ws.onclose = null; ws.close(); }, send: (text) => ws.readyState === 1 && (ws.send(text), true) };
    },
    sse() {
      // Reconnects are ours (backoff, fallback), not EventSource's: the cursor goes
      // in the query.
      const es = new EventSource(api(`/events?${query()}`));
      let got = false;
      stats.requests++;
      es.onopen = () => status('connected');
      es.addEventListener('ready', (e) => { got = true; lastId = e.lastEventId; });
      // The SSE form is SSE's own: the id in `id:`, the data as it was published.
      es.onmessage = (e) => { got = true; count(e.data.length + e.lastEventId.length + 16); deliver({ id: e.lastEventId, topic: o.topic, data: e.data }); };
      es.addEventListener('history-lost', (e) => { got = true; lost(e.lastEventId); });
      es.onerror = () => { es.close(); retry(got); };
      return { close: () => es.close() };
    },
    'long-poll'() { return poller(true); },
    'short-poll'() { return poller(false); },
  };

  function poller(long) {
    let stop = false, got = false;
    (async function loop() {
      while (!stop && !closed) {
        const url = long ? api(`/poll?${query(`&timeout=${o.pollTimeoutS}`)}`) : api(`/messages?${query()}`);
        let body;
        try {
          stats.requests++;
          const res = await fetch(url, { cache: 'no-store' });
          if (!res.ok) throw new Error('HTTP ' + res.status);
          const text = await res.text();
          if (stop) return;  // replaced meanwhile: report nothing
          count(text.length);
          body = JSON.parse(text);
        } catch (e) {
          if (!stop) retry(got);
          return;
        }
        if (!got) { got = true; status('connected'); }
        if (body.reset) lost(body.cursor);
        for (const m of body.messages) deliver(m);
        lastId = body.cursor;  // what to send next (after a fresh start: "now")
        if (!long) await new Promise((r) => setTimeout(r, o.pollIntervalMs));
      }
    })();
    return { close: () => { stop = true; } };
  }

  function open() {
    if (closed) return;
    const name = o.transports[index];
    stats.transport = name;
    status('connecting');
    current = openers[name]();
    scheduleProbe();
  }

  // Climbing back from a fallback: a fresh subscription to the best transport on
  // the side (it answers at once with `ready`); answered, the client moves to it.
  function scheduleProbe() {
    clearTimeout(probeTimer);
    if (closed || !o.climbBackMs || index === 0) return;
    probeTimer = setTimeout(probe, probeDelay * (0.8 + 0.4 * Math.random()));
  }
  function probe() {
    const best = o.transports[0];
    if (closed || index === 0 || (best !== 'websocket' && best !== 'sse')) return;
    let done = false, end = () => {};
    const finish = (answered) => {
      if (done) return;
      done = true;
      clearTimeout(limit);
      end();
      if (closed || index === 0) return;
      if (!answered) {
        probeDelay = Math.min(probeDelay * 2, 10 * o.climbBackMs);
        return scheduleProbe();
      }
      probeDelay = o.climbBackMs;
      if (current) current.close();
      clearTimeout(timer);
      index = 0; failures = 0; attempt = 0;
      open();  // from lastId: what came meanwhile is replayed, once
    };
    const limit = setTimeout(() => finish(false), 10000);
    const path = `/${best === 'websocket' ? 'ws' : 'events'}?topic=${encodeURIComponent(o.topic)}`;
    stats.requests++;
    if (best === 'websocket') {
      const ws = new WebSocket(wsApi(path));
      ws.onmessage = () => finish(true);
      ws.onclose = () => finish(false);
      end = () => { ws.onclose = null; ws.onmessage = null; ws.close(); };
    } else {
      const es = new EventSource(api(path));
      es.addEventListener('ready', () => finish(true));
      es.onmessage = () => finish(true);
      es.onerror = () => finish(false);
      end = () => es.close();
    }
  }

  open();
  return {
    get transport() { return o.transports[index]; },
    get node() { return origin(); },
    get lastId() { return lastId; },
    get stats() { return { ...stats }; },
    publish(text) {
      if (current && current.send && current.send(text)) return Promise.resolve();
      return fetch(api(`/publish?topic=${encodeURIComponent(o.topic)}`), { method: 'POST', body: text });
    },
    // Drops the current connection now (a test or a "reconnect" button).
    reconnect() { if (current) { current.close(); retry(true); } },
    close() { closed = true; clearTimeout(timer); clearTimeout(probeTimer); if (current) current.close(); },
  };
}
