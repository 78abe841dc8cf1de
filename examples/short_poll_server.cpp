// Short polling, the simplest push: the client asks "anything newer than N?" and
// the server answers at once.
//
//   GET  /messages?since=N   -> 200 {"messages":[{"id":..,"text":".."}],"last_id":M}
//                               or, when more is waiting than one answer carries,
//                               {"messages":[...],"last_id":K,"more":true}: ask again since K
//   POST /messages           -> 201 {"id":M}   (the body is the message text; 413 over --max-message)
//   GET  /                   -> a page that polls every second
//
// Each message is written as JSON once, when posted, and an answer carries at most
// --answer-messages of them and about --answer-bytes: a poll costs a copy of what it
// carries, however large the history or however many control bytes (6 bytes of JSON
// escape each) a client posted.
//
//   short_poll_server [--host 127.0.0.1] [--port 8080] [--threads 1] [--history 1000]
//                     [--max-message 65536] [--answer-messages 100] [--answer-bytes 262144]
//                     [--cert FILE --key FILE]
//
// --cert and --key (PEM: the certificate chain, then its key) serve https://
// instead (docs/tls.md).
#include "common.hpp"

#include <herald/asio/server.hpp>
#include <herald/json.hpp>

#include <asio/io_context.hpp>

#include <algorithm>
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
    if (j.more) return poll();  // more is waiting: ask again at once
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

// The message list: ids grow from 1; only the newest `capacity` are kept, each as
// its JSON element, built once.
class message_store {
public:
    struct limits {
        std::size_t capacity = 1000;
        std::size_t answer_messages = 100;
        std::size_t answer_bytes = 256 * 1024;
    };
    explicit message_store(limits l) : limits_(l) {}

    std::uint64_t add(std::string_view text) {
        // The text is escaped before the lock is taken; only the id needs it.
        std::string rest = ",\"text\":";
        herald::append_json_string(text, rest);
        rest += '}';
        std::lock_guard lock(mutex_);
        messages_.push_back("{\"id\":" + std::to_string(last_id_ + 1) + rest);
        if (messages_.size() > limits_.capacity) messages_.pop_front();
        return ++last_id_;
    }

    // What came after `since`, as much as one answer carries (at least one message).
    std::string newer_than(std::uint64_t since) const {
        std::lock_guard lock(mutex_);
        const std::uint64_t first_kept = last_id_ - messages_.size() + 1;  // ids are contiguous
        std::size_t at = since < first_kept ? 0 : static_cast<std::size_t>(std::min<std::uint64_t>(since - first_kept + 1, messages_.size()));
        std::string json = "{\"messages\":[";
        std::uint64_t last = 0;
        std::size_t count = 0;
        for (; at < messages_.size(); ++at, ++count) {
            const std::string& m = messages_[at];
            if (count > 0 && (count == limits_.answer_messages || json.size() + m.size() > limits_.answer_bytes)) break;
            if (count > 0) json += ',';
            json += m;
            last = first_kept + at;
        }
        const bool more = at < messages_.size();
        return json + "],\"last_id\":" + std::to_string(more ? last : last_id_) + (more ? ",\"more\":true}" : "}");
    }

private:
    limits limits_;
    mutable std::mutex mutex_;
    std::deque<std::string> messages_;
    std::uint64_t last_id_ = 0;
};

http::response route(message_store& store, std::size_t max_message, const http::request& req) {
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
        if (req.body.size() > max_message) return {413, "text/plain", "the message is longer than --max-message\n"};
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
                                "short_poll_server [--host 127.0.0.1] [--port 8080] [--threads 1] [--history 1000]\n"
                                "                  [--max-message 65536] [--answer-messages 100] [--answer-bytes 262144]\n"
                                "                  [--cert FILE --key FILE]",
                                {"host", "port", "threads", "history", "max-message", "answer-messages", "answer-bytes", "cert", "key"});
    asio::io_context io{static_cast<int>(opts.number("threads", 1))};
    message_store::limits limits;
    limits.capacity = static_cast<std::size_t>(opts.number("history", 1000));
    limits.answer_messages = static_cast<std::size_t>(std::max(1L, opts.number("answer-messages", 100)));
    limits.answer_bytes = static_cast<std::size_t>(opts.number("answer-bytes", 256 * 1024));
    const auto max_message = static_cast<std::size_t>(opts.number("max-message", 64 * 1024));
    message_store store{limits};
    const auto handle = [&store, max_message](const http::request& req) { return route(store, max_message, req); };
    using server_type = http::basic_server<asio::io_context::executor_type>;
    return example::serve_plain_or_tls<server_type>(
        opts, "short_poll_server", [&]<class Server>(std::type_identity<Server>, auto... transport) {
            Server server{io.get_executor(), handle, http::server_options{}, transport...};
            return example::run(io, server, opts, "short polling", [] {});
        });
}
