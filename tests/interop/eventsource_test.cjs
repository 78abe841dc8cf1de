// npm's `eventsource` (an EventSource for Node, written to the WHATWG rules) reads
// herald's sse_server: multi-line data, custom event types, and a reconnect that
// resumes with Last-Event-ID.
//   node eventsource_test.cjs <sse_server binary> <node_modules dir>
'use strict';
const assert = require('node:assert/strict');
const path = require('node:path');
const { start, stop, request, until, run } = require('./server.cjs');
const { EventSource } = require(path.join(process.argv[3], 'eventsource'));

const binary = process.argv[2];

function collect(source, types) {
  const got = [];
  for (const type of types) source.addEventListener(type, (e) => got.push({ type, data: e.data, id: e.lastEventId }));
  return got;
}

run([
  ['multi-line data and custom event types arrive as sent', async () => {
    const server = await start(binary, ['--epoch', 'js', '--retry-ms', '100']);
    const source = new EventSource(server.url + '/events');
    const got = collect(source, ['message', 'tick']);
    await new Promise((resolve, reject) => { source.onopen = resolve; source.onerror = reject; });
    await request(server, 'POST', '/publish', 'first line\nsecond line\r\nthird\rfourth');
    await request(server, 'POST', '/publish?event=tick', '{"n":1}');
    await request(server, 'POST', '/publish', '');
    await until(() => got.length === 3, 5000, 'three events');
    assert.deepEqual(got, [
      { type: 'message', data: 'first line\nsecond line\nthird\nfourth', id: 'js-1' },
      { type: 'tick', data: '{"n":1}', id: 'js-2' },
      { type: 'message', data: '', id: 'js-3' },
    ]);
    source.close();
    await stop(server);
  }],
  ['a dropped stream reconnects with Last-Event-ID and misses nothing', async () => {
    const server = await start(binary, ['--epoch', 'rc', '--retry-ms', '100']);
    const source = new EventSource(server.url + '/events');
    const got = collect(source, ['message']);
    let opens = 0;
    source.onopen = () => opens++;
    await until(() => opens === 1, 5000, 'the stream to open');
    for (let i = 1; i <= 3; i++) await request(server, 'POST', '/publish', 'e' + i);
    await until(() => got.length === 3, 5000, 'three events');
    assert.equal((await request(server, 'POST', '/disconnect')).status, 200);
    for (let i = 4; i <= 8; i++) await request(server, 'POST', '/publish', 'e' + i);
    await until(() => got.length >= 8 && opens === 2, 5000, 'the missed events after the reconnect');
    await new Promise((r) => setTimeout(r, 200));  // room for a duplicate to show up
    assert.deepEqual(got.map((e) => e.data), ['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8']);
    assert.deepEqual(got.map((e) => e.id), ['rc-1', 'rc-2', 'rc-3', 'rc-4', 'rc-5', 'rc-6', 'rc-7', 'rc-8']);
    source.close();
    await stop(server);
  }],
  ['an id from before a restart is answered with history-lost', async () => {
    let server = await start(binary, ['--epoch', 'old', '--retry-ms', '100']);
    const port = server.port;
    const source = new EventSource(server.url + '/events');
    const got = collect(source, ['message', 'history-lost']);
    let opens = 0;
    source.onopen = () => opens++;
    await until(() => opens === 1, 5000, 'the stream to open');
    await request(server, 'POST', '/publish', 'before');
    await until(() => got.length === 1, 5000, 'one event');
    await stop(server);
    server = await start(binary, ['--epoch', 'new', '--retry-ms', '100'], port);
    await until(() => got.length === 2, 10000, 'the history-lost event');
    assert.deepEqual(got[1], { type: 'history-lost', data: '{"type":"lost","topic":"events","id":"new-0"}', id: 'new-0' });
    await request(server, 'POST', '/publish', 'after');
    await until(() => got.length === 3, 5000, 'the live event');
    assert.deepEqual(got[2], { type: 'message', data: 'after', id: 'new-1' });
    source.close();
    await stop(server);
  }],
]);
