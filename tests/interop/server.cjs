// Starts an example server on a free loopback port and talks to it over HTTP; for
// the interop scripts, which drive herald with clients nobody here wrote.
'use strict';
const { spawn } = require('node:child_process');
const http = require('node:http');

// Starts `binary args...` with --port (0: any free one) and resolves once it
// prints where it listens.
function start(binary, args, port = 0) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['--port', String(port), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error(binary + ' did not start')), 10000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const found = /(https?):\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (found) {
        clearTimeout(timer);
        resolve({ child, port: Number(found[2]), url: found[1] + '://127.0.0.1:' + found[2] });
      }
    });
    child.on('exit', (code) => reject(new Error(binary + ' exited with ' + code)));
  });
}

function stop(server) {
  return new Promise((resolve) => {
    server.child.removeAllListeners('exit');
    server.child.on('exit', () => resolve());
    server.child.kill('SIGTERM');
  });
}

function request(server, method, path, body = '') {
  return new Promise((resolve, reject) => {
    const req = http.request(server.url + path, { method, agent: false }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// Resolves when check() is true; rejects after `ms`.
async function until(check, ms, what) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('timed out waiting for ' + what);
}

// Runs named async checks in order and prints the closing line ctest reads.
async function run(cases) {
  let passed = 0, failed = 0;
  for (const [name, fn] of cases) {
    try {
      await fn();
      console.log('ok   ' + name);
      passed++;
    } catch (e) {
      console.log('FAIL ' + name + '\n     ' + (e && e.stack ? e.stack : e));
      failed++;
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

module.exports = { start, stop, request, until, run };
