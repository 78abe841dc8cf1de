// Server-Sent Events with replay: every event gets an id `<epoch>-<seq>`, a client
// that reconnects with Last-Event-ID gets what it missed, and one whose id is from
// another life of the server gets a `history-lost` event instead.
//
//   GET  /            a page whose EventSource shows the stream
//   GET  /events      the event stream (text/event-stream)
//   POST /publish     publishes the body as one event; ?event=TYPE names its type
//                     -> 200 {"id":"<epoch>-<seq>"} | 400 (not UTF-8, bad type)
//   POST /disconnect  closes every stream now (clients reconnect and resume)
//   GET  /stats       {"subscribers":N,"last_id":"..."}
//
//   sse_server [--host 127.0.0.1] [--port 8080] [--threads 1] [--history 1000]
//              [--keepalive-ms 15000] [--retry-ms 1000] [--epoch WORD] [--cert FILE --key FILE]
//
// --cert and --key (PEM: the certificate chain, then its key) serve https://
// instead (docs/tls.md).
#include "common.hpp"

#include <herald/asio/server.hpp>
#include <herald/asio/sse_channel.hpp>

#include <random>

using namespace herald;

namespace {

constexpr std::string_view page = R"html(<!doctype html>
<meta charset="utf-8"><title>herald SSE</title>
<h1>Server-Sent Events</h1>
<p>Status: <b id="status">connecting</b></p>
<form id="f"><input id="t" autocomplete="off" placeholder="publish something"><button>Publish</button></form>
<ul id="log"></ul>
<script>
window.received = [];  // what arrived, for anyone (a test) who looks
const log = (text) => {
  const li = document.createElement('li');
  li.textContent = text;
  document.getElementById('log').prepend(li);
};
const source = new EventSource('/events');
source.onopen = () => document.getElementById('status').textContent = 'connected';
source.onerror = () => document.getElementById('status').textContent = 'reconnecting';
source.onmessage = (e) => {
  window.received.push({id: e.lastEventId, data: e.data});
  log(e.lastEventId + ': ' + e.data);
};
source.addEventListener('history-lost', (e) => {
  window.received.push({id: e.lastEventId, lost: true});
  log('history lost: the server restarted or we were away too long; resynchronise');
});
document.getElementById('f').onsubmit = async (e) => {
  e.preventDefault();
  const t = document.getElementById('t');
  await fetch('/publish', {method: 'POST', body: t.value});
  t.value = '';
};
</script>
)html";

// `Server`: plain, or over TLS.
template <class Server>
struct app {
    using connection_type = typename Server::connection_type;
    using stream_type = sse::event_stream<typename Server::stream_type>;

    sse::channel& channel;
    sse::stream_options stream_options;

    void handle(const http::request& req, http::responder respond) {
        const auto path = req.path();
        if (path == "/events" && (req.method == "GET" || req.method == "HEAD")) return open_stream(std::move(respond));
        respond(route(req));
    }

    void open_stream(http::responder respond) {
        respond.hand_off<connection_type>([this](std::shared_ptr<connection_type> conn) {
            auto stream = std::make_shared<stream_type>(conn, stream_options);
            channel.subscribe(stream, sse::last_event_id(conn->request()));
            stream->async_run([this, stream](std::error_code) { channel.unsubscribe(stream.get()); });
        });
    }

    http::response route(const http::request& req) {
        const auto path = req.path();
        if (path == "/" && req.method == "GET") return {200, "text/html; charset=utf-8", std::string(page)};
        if (path == "/publish" && req.method == "POST") {
            const auto type = http::query_parameter(req.target, "event").value_or("");
            std::error_code ec;
            auto bytes = channel.publish({type, req.body, std::nullopt, std::nullopt}, ec);
            if (!bytes) return {hub::status_for(ec), "text/plain; charset=utf-8", ec.message() + "\n"};
            return {200, "application/json", "{\"id\":\"" + channel.last_id() + "\"}"};
        }
        if (path == "/disconnect" && req.method == "POST")
            return {200, "application/json", "{\"closed\":" + std::to_string(channel.disconnect_all()) + "}"};
        if (path == "/stats" && req.method == "GET")
            return {200, "application/json",
                    "{\"subscribers\":" + std::to_string(channel.subscriber_count()) + ",\"last_id\":\"" +
                        channel.last_id() + "\"}"};
        return {404, "text/plain", "not found\n"};
    }
};

}  // namespace

int main(int argc, char** argv) {
    const example::options opts(argc, argv,
                                "sse_server [--host 127.0.0.1] [--port 8080] [--threads 1] [--history 1000]\n"
                                "           [--keepalive-ms 15000] [--retry-ms 1000] [--epoch WORD] [--cert FILE --key FILE]",
                                {"host", "port", "threads", "history", "keepalive-ms", "retry-ms", "epoch", "cert", "key"});
    example::raise_descriptor_limit();
    // A new epoch each start, so ids from before a restart are recognised as such.
    const std::string epoch = opts.get("epoch", make_epoch((std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}()));
    sse::channel channel{epoch, {static_cast<std::size_t>(opts.number("history", 1000)), 16 * 1024 * 1024}};
    sse::stream_options stream_options;
    stream_options.keepalive_interval = std::chrono::milliseconds(opts.number("keepalive-ms", 15000));
    stream_options.retry = static_cast<std::uint32_t>(opts.number("retry-ms", 1000));
    asio::io_context io{static_cast<int>(opts.number("threads", 1))};
    const auto serve = [&]<class Server>(std::type_identity<Server>, auto... transport) {
        app<Server> a{channel, stream_options};
        Server server{io.get_executor(), [&a](const http::request& req, http::responder respond) { a.handle(req, std::move(respond)); },
                      http::server_options{}, transport...};
        return example::run(io, server, opts, "server-sent events", [&] { channel.disconnect_all(); });
    };
    return example::serve_on_threads<asio::io_context::executor_type>(opts, "sse_server", serve);
}
