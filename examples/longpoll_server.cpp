// Long polling: a poll waits until something newer than its cursor is published,
// or until its timeout, then the client polls again with the new cursor.
//
//   GET  /                 a page that long-polls in a loop
//   GET  /poll?since=C&timeout=S[&topic=T]
//                          -> 200 {"cursor":C2,"reset":false,"messages":[{"id","topic","data"}...]}
//                             (messages: [] when the timeout passed first, or when
//                             the poll had no cursor: C2 is then "now")
//                          -> 400 bad parameters | 503 too many parked polls
//   POST /publish[?topic=T] publishes the body -> 200 {"id":C} | 400 (not UTF-8) | 413
//   GET  /stats            {"waiting":N}
//
// Cursors are "<epoch>-<seq>": after a restart (a new epoch) a client's old cursor
// is answered with "reset":true and the newest cursor, never with unrelated messages.
//
//   longpoll_server [--host 127.0.0.1] [--port 8080] [--threads 1] [--history 1000]
//                   [--max-waiters 100000] [--epoch WORD] [--cert FILE --key FILE]
//
// --cert and --key (PEM: the certificate chain, then its key) serve https://
// instead (docs/tls.md).
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
let since = '', failures = 0;
async function poll() {
  try {
    const r = await fetch('/poll?timeout=25' + (since ? '&since=' + encodeURIComponent(since) : ''));
    if (!r.ok) throw new Error(r.status);
    const j = await r.json();
    if (j.reset) console.log('history lost: resynchronise');
    for (const m of j.messages) {
      const li = document.createElement('li');
      li.textContent = m.data;
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
                                "                [--max-waiters 100000] [--epoch WORD] [--cert FILE --key FILE]",
                                {"host", "port", "threads", "history", "max-waiters", "epoch", "cert", "key"});
    example::raise_descriptor_limit();
    asio::io_context io{static_cast<int>(opts.number("threads", 1))};
    longpoll::service_options options;
    options.backlog.max_entries = static_cast<std::size_t>(opts.number("history", 1000));
    options.limits.max_waiters = static_cast<std::size_t>(opts.number("max-waiters", 100000));
    options.limits.max_waiters_per_key = options.limits.max_waiters;
    longpoll::service polls{io.get_executor(), options, opts.get("epoch", "")};
    const auto handle = [&](const http::request& req, http::responder respond) {
        const auto path = req.path();
        if (path == "/poll" && req.method == "GET") return polls.handle(req, std::move(respond));
        if (path == "/publish" && req.method == "POST") {
            std::error_code ec;
            const auto id = polls.publish(http::query_value(req.target, "topic").value_or(""), req.body, ec);
            if (ec) return respond({hub::status_for(ec), "text/plain; charset=utf-8", ec.message() + "\n"});
            return respond({200, "application/json", hub::published_payload(id)});
        }
        if (path == "/stats" && req.method == "GET")
            return respond({200, "application/json", "{\"waiting\":" + std::to_string(polls.waiting()) + "}"});
        if (path == "/" && req.method == "GET") return respond({200, "text/html; charset=utf-8", std::string(page)});
        respond({404, "text/plain", "not found\n"});
    };
    return example::serve_on_threads<asio::io_context::executor_type>(
        opts, "longpoll_server", [&]<class Server>(std::type_identity<Server>, auto... transport) {
            Server server{io.get_executor(), handle, http::server_options{}, transport...};
            return example::run(io, server, opts, "long polling", [] {});
        });
}
