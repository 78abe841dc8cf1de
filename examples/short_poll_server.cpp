// Short polling, the simplest push: the client asks "anything newer than N?" and
// the server answers at once.
//
//   GET  /messages?since=N   -> 200 {"messages":[{"id":..,"text":".."}],"last_id":M}
//   POST /messages           -> 201 {"id":M}   (the body is the message text)
//   GET  /                   -> a page that polls every second
//
//   short_poll_server [--host 127.0.0.1] [--port 8080] [--threads 1] [--history 1000]
#include "common.hpp"

#include <herald/asio/server.hpp>
#include <herald/json.hpp>

#include <asio/io_context.hpp>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace herald;

namespace {

constexpr std::string_view page = R"html(<!doctype html>
<meta charset="utf-8"><title>herald short polling</title>
<h1>Short polling</h1>
<form id="f"><input id="t" autocomplete="off" placeholder="say something"><button>Send</button></form>
<ul id="log"></ul>
<script>
let since = 0;
async function poll() {
  try {
    const r = await fetch('/messages?since=' + since);
    const j = await r.json();
    for (const m of j.messages) {
      const li = document.createElement('li');
      li.textContent = '#' + m.id + ' ' + m.text;
      document.getElementById('log').append(li);
    }
    since = j.last_id;
  } catch (e) { /* the server is away: try again at the next tick */ }
  setTimeout(poll, 1000);
}
document.getElementById('f').onsubmit = async (e) => {
  e.preventDefault();
  const t = document.getElementById('t');
  await fetch('/messages', {method: 'POST', body: t.value});
  t.value = '';
};
poll();
</script>
)html";

std::string json_string(std::string_view text) {
    std::string out;
    herald::append_json_string(text, out);
    return out;
}

// The message list: ids grow from 1; only the newest `capacity` are kept.
class message_store {
public:
    explicit message_store(std::size_t capacity) : capacity_(capacity) {}

    std::uint64_t add(std::string text) {
        std::lock_guard lock(mutex_);
        messages_.push_back({++last_id_, std::move(text)});
        if (messages_.size() > capacity_) messages_.pop_front();
        return last_id_;
    }

    std::string newer_than(std::uint64_t since) const {
        std::lock_guard lock(mutex_);
        std::string json = "{\"messages\":[";
        bool first = true;
        for (const auto& m : messages_) {
            if (m.id <= since) continue;
            json += first ? "" : ",";
            json += "{\"id\":" + std::to_string(m.id) + ",\"text\":" + json_string(m.text) + "}";
            first = false;
        }
        return json + "],\"last_id\":" + std::to_string(last_id_) + "}";
    }

private:
    struct message {
        std::uint64_t id;
        std::string text;
    };
    mutable std::mutex mutex_;
    std::deque<message> messages_;
    std::uint64_t last_id_ = 0;
    std::size_t capacity_;
};

http::response route(message_store& store, const http::request& req) {
    const auto path = req.path();
    if (path == "/" && req.method == "GET") return {200, "text/html; charset=utf-8", std::string(page)};
    if (path != "/messages") return {404, "text/plain", "not found\n"};
    if (req.method == "GET") {
        std::uint64_t since = 0;
        if (auto value = http::query_parameter(req.target, "since")) {
            auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), since);
            if (ec != std::errc{} || end != value->data() + value->size())
                return {400, "text/plain", "since must be a non-negative integer\n"};
        }
        http::response res{200, "application/json", store.newer_than(since)};
        res.fields.append("Cache-Control", "no-store");
        return res;
    }
    if (req.method == "POST") {
        const auto id = store.add(req.body);
        return {201, "application/json", "{\"id\":" + std::to_string(id) + "}"};
    }
    http::response res{405, "text/plain", "use GET or POST\n"};
    res.fields.append("Allow", "GET, POST");
    return res;
}

}  // namespace

int main(int argc, char** argv) {
    const example::options opts(argc, argv,
                                "short_poll_server [--host 127.0.0.1] [--port 8080] [--threads 1] [--history 1000]",
                                {"host", "port", "threads", "history"});
    asio::io_context io{static_cast<int>(opts.number("threads", 1))};
    message_store store{static_cast<std::size_t>(opts.number("history", 1000))};
    http::server server{io.get_executor(), [&store](const http::request& req) { return route(store, req); }};
    return example::run(io, server, opts, "short polling", [] {});
}
