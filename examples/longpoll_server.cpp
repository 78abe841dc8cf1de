// Long polling: a poll waits until something newer than its cursor is published,
// or until its timeout, then the client polls again with the new cursor.
//
//   GET  /                 a page that long-polls in a loop
//   GET  /poll?since=N&timeout=S[&key=K]
//                          -> 200 {"cursor":M,"reset":false,"messages":[...]}
//                             (messages: [] when the timeout passed first)
//                          -> 400 bad parameters | 503 too many parked polls
//   POST /publish[?key=K]  publishes the body -> 200 {"cursor":M} | 400 (not UTF-8)
//   GET  /stats            {"waiting":N}
//
//   longpoll_server [--host 127.0.0.1] [--port 8080] [--threads 1] [--history 1000]
//                   [--max-waiters 100000]
#include "common.hpp"

#include <herald/asio/longpoll.hpp>
#include <herald/asio/server.hpp>

using namespace herald;

namespace {

constexpr std::string_view page = R"html(<!doctype html>
<meta charset="utf-8"><title>herald long polling</title>
<h1>Long polling</h1>
<form id="f"><input id="t" autocomplete="off" placeholder="publish something"><button>Publish</button></form>
<ul id="log"></ul>
<script>
let since = 0, failures = 0;
async function poll() {
  try {
    const r = await fetch('/poll?since=' + since + '&timeout=25');
    if (!r.ok) throw new Error(r.status);
    const j = await r.json();
    if (j.reset) console.log('history lost: resynchronise');
    for (const m of j.messages) {
      const li = document.createElement('li');
      li.textContent = m;
      document.getElementById('log').prepend(li);
    }
    since = j.cursor;
    failures = 0;
    poll();
  } catch (e) {
    // Back off with full jitter: up to 0.5 s, 1 s, 2 s ... capped at 30 s.
    failures++;
    setTimeout(poll, Math.random() * Math.min(30000, 500 * 2 ** failures));
  }
}
document.getElementById('f').onsubmit = async (e) => {
  e.preventDefault();
  const t = document.getElementById('t');
  await fetch('/publish', {method: 'POST', body: t.value});
  t.value = '';
};
poll();
</script>
)html";

}  // namespace

int main(int argc, char** argv) {
    const example::options opts(argc, argv,
                                "longpoll_server [--host 127.0.0.1] [--port 8080] [--threads 1] [--history 1000]\n"
                                "                [--max-waiters 100000]",
                                {"host", "port", "threads", "history", "max-waiters"});
    example::raise_descriptor_limit();
    asio::io_context io{static_cast<int>(opts.number("threads", 1))};
    longpoll::service_options options;
    options.backlog.max_entries = static_cast<std::size_t>(opts.number("history", 1000));
    options.limits.max_waiters = static_cast<std::size_t>(opts.number("max-waiters", 100000));
    options.limits.max_waiters_per_key = options.limits.max_waiters;
    longpoll::service polls{io.get_executor(), options};
    http::server server{io.get_executor(), [&](const http::request& req, http::responder respond) {
                            const auto path = req.path();
                            if (path == "/poll" && req.method == "GET") return polls.handle(req, std::move(respond));
                            if (path == "/publish" && req.method == "POST") {
                                longpoll::poll_query q;  // for its percent-decoded key
                                if (longpoll::parse_poll_query(req.target, q)) q.key.clear();
                                const auto cursor = polls.publish(q.key, req.body);
                                if (cursor == 0) return respond({400, "text/plain", "the message is not UTF-8\n"});
                                return respond({200, "application/json", "{\"cursor\":" + std::to_string(cursor) + "}"});
                            }
                            if (path == "/stats" && req.method == "GET")
                                return respond({200, "application/json", "{\"waiting\":" + std::to_string(polls.waiting()) + "}"});
                            if (path == "/" && req.method == "GET")
                                return respond({200, "text/html; charset=utf-8", std::string(page)});
                            respond({404, "text/plain", "not found\n"});
                        }};
    return example::run(io, server, opts, "long polling", [] {});
}
