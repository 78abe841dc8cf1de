// The live demo: one stream through all four transports, side by side in a browser.
//
//   GET  /                 the page: four panes (short polling, long polling, SSE,
//                          WebSocket), each with its latency, requests and bytes
//   GET  /herald.js        the browser client (fallback, backoff, resume)
//   /api/...               the hub's routes (include/herald/asio/hub/routes.hpp)
//   POST /admin/disconnect closes every client connection (they come back and resume)
//   POST /admin/ticker?on=0|1  stops or starts the ticker
//
// A ticker publishes {"tick":N,"t":<server time in ms>} to topic "live" every
// --ticker-ms (0: off); the page measures delivery latency from `t`.
//
//   live_server [--host 127.0.0.1] [--port 8080] [--ticker-ms 1000] [--history 1000] [--publish-rate 0]
//               [--static DIR] [--epoch WORD] [--quiet 1] [--memory-budget-mib 256]
//               [--redis HOST:PORT] [--node NAME] [--allow-origin ORIGIN]
//               [--deflate-topics T1,T2|*] [--deflate-share 1] [--cert FILE --key FILE]
//
// --cert and --key (PEM) serve the page and every transport over TLS: https://,
// wss:// (docs/tls.md).
//
// --deflate-topics: WebSocket clients that offer permessage-deflate (browsers do)
// get those topics' messages compressed, each message once for all of them
// (--deflate-share 0: once per client, for comparison). Opt-in per topic: see
// docs/websocket.md on compression and secrets.
//
// --redis joins the other nodes on that Redis (docs/cluster.md): every node's
// clients get every message with the same ids, and a client resumes on any node.
//
// Logs a line to standard error per WebSocket or SSE client coming and going and
// per connection ending in an error, and one at the start (--quiet 1: none).
//
// --static is where index.html and herald.js are (the source folder by default);
// --epoch fixes the hub's epoch (by default a random word: a restart makes every
// client's cursor "lost", which the page shows).
#include "../common.hpp"

#include <herald/asio/hub.hpp>
#ifdef HERALD_LIVE_REDIS
#include <herald/asio/redis/broker.hpp>
#endif

#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <type_traits>

using namespace herald;

namespace {

// One thread runs the io_context, so connections need no strands (docs/http.md).
using server_type = http::single_thread_server<asio::io_context::executor_type>;

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

class ticker {
public:
    ticker(asio::io_context& io, hub::service& hub, std::chrono::milliseconds every) : timer_(io), hub_(hub), every_(every) {}

    void set(bool on) {
        on_ = on && every_.count() > 0;
        timer_.cancel();
        if (on_) arm();
    }

private:
    void arm() {
        timer_.expires_after(every_);
        timer_.async_wait([this](std::error_code ec) {
            if (ec || !on_) return;
            const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch()).count();
            // A tick that cannot be published (a broker that is down) is skipped.
            hub_.publish("live", "{\"tick\":" + std::to_string(++count_) + ",\"t\":" + std::to_string(now) + "}",
                         [](std::error_code, hub::message_ptr) {});
            arm();
        });
    }

    asio::steady_timer timer_;
    hub::service& hub_;
    std::chrono::milliseconds every_;
    std::uint64_t count_ = 0;
    bool on_ = false;
};

}  // namespace

int main(int argc, char** argv) {
    const example::options opts(argc, argv,
                                "live_server [--host 127.0.0.1] [--port 8080] [--ticker-ms 1000] [--history 1000]\n"
                                "            [--static DIR] [--epoch WORD] [--quiet 1] [--publish-rate 0]\n"
                                "  --ticker-ms  publish a tick to topic \"live\" this often (0: never)\n"
                                "  --history    messages kept per topic for clients that reconnect\n"
                                "  --static     where index.html and herald.js are\n"
                                "  --epoch      the hub's epoch (default: random, so a restart loses history)\n"
                                "  --quiet      1: no log lines (the start, WebSocket or SSE clients coming and going, errors)\n"
                                "  --publish-rate  publishes a second one client may make, 5 at once (0: no limit); a\n"
                                "               POST past it gets 429, a WebSocket 1008. Without accounts the demo keys\n"
                                "               POSTs by their X-Forwarded-For (one bucket when absent)\n"
                                "  --memory-budget-mib  what all clients together may hold in bodies being read, WebSocket\n"
                                "               messages being received and output queued (docs/limits.md)\n"
                                "  --redis      HOST:PORT of the Redis the nodes share (docs/cluster.md); --node names\n"
                                "               this node (default node-<port>)\n"
                                "  --allow-origin  pages of that origin (or *) may read the hub: the cluster demo's page\n"
                                "               talks to nodes on other ports (tools/cluster)\n"
                                "  --deflate-topics  topics (comma-separated, or *) whose messages go compressed to\n"
                                "               WebSocket clients that offer permessage-deflate; --deflate-share 0\n"
                                "               compresses per client instead of once for all\n"
                                "  --cert, --key  PEM certificate chain and key: serve over TLS (https, wss)",
                                {"host", "port", "ticker-ms", "history", "static", "epoch", "quiet", "publish-rate",
                                 "memory-budget-mib", "redis", "node", "allow-origin", "deflate-topics", "deflate-share",
                                 "cert", "key"});
    example::raise_descriptor_limit();
    asio::io_context io{1};
    hub::hub_limits limits;
    limits.topic.max_messages = static_cast<std::size_t>(opts.number("history", 1000));
    const std::string epoch = opts.get("epoch", make_epoch(std::random_device{}() * 0x100000001ull));
    const std::string redis_at = opts.get("redis", "");
#ifdef HERALD_LIVE_REDIS
    std::shared_ptr<redis::link> link;
    std::unique_ptr<redis::broker> broker;  // before the hub: the hub detaches from it when destroyed
    if (!redis_at.empty()) {
        redis::link_options to;
        to.host = redis_at.substr(0, redis_at.rfind(':'));
        to.port = redis_at.substr(redis_at.rfind(':') + 1);
        to.name = opts.get("node", "node-" + std::to_string(opts.number("port", 8080)));
        to.seed = std::random_device{}();
        link = redis::link::make(io.get_executor(), to);
        broker = std::make_unique<redis::broker>(io.get_executor(), link);
    }
    hub::service hub{epoch, limits, broker.get()};
    if (broker) {
        broker->join(hub);
        link->start();
    }
#else
    if (!redis_at.empty()) {
        std::fprintf(stderr, "live_server: built without herald::redis (hiredis): no --redis\n");
        return 1;
    }
    hub::service hub{epoch, limits};
#endif
    hub::route_options routes;
    if (const std::string origin = opts.get("allow-origin", ""); !origin.empty())
        routes.response_fields.append("Access-Control-Allow-Origin", origin);  // Fetch §3.2.3 (CORS)
    memory_budget budget{static_cast<std::size_t>(opts.number("memory-budget-mib", 256)) << 20};
    routes.websocket.limits.budget = &budget;
    if (const std::string topics = opts.get("deflate-topics", ""); !topics.empty()) {
        routes.websocket.handshake.deflate.enabled = true;
        routes.compress_topic = [list = "," + topics + ","](std::string_view topic) {
            return list == ",*," || list.find("," + std::string(topic) + ",") != std::string::npos;
        };
        routes.share_compressed = opts.number("deflate-share", 1) != 0;
    }
    http::server_options server_options;
    server_options.budget = &budget;
    const bool quiet = opts.number("quiet", 0) != 0;
    if (const long rate = opts.number("publish-rate", 0); rate > 0) {
        routes.publish_rate = {static_cast<double>(rate), 5};
        // A real deployment keys by its authenticated user; behind a proxy, its address.
        routes.client_key = [](const http::request& req) { return std::string(req.fields.value_or("X-Forwarded-For", "")); };
    }
    if (!quiet)
        routes.on_connection = [](std::string_view event, std::string_view name, std::string_view topic) {
            std::fprintf(stderr, "live_server: %.*s %.*s (topic %.*s)\n", static_cast<int>(name.size()), name.data(),
                         static_cast<int>(event.size()), event.data(), static_cast<int>(topic.size()), topic.data());
        };
    const std::string dir = opts.get("static", HERALD_LIVE_DIR);
    const std::string page = read_file(dir + "/index.html"), client = read_file(dir + "/herald.js");
    if (page.empty() || client.empty()) {
        std::fprintf(stderr, "live_server: cannot read index.html and herald.js in %s (--static DIR)\n", dir.c_str());
        return 1;
    }
    ticker tick{io, hub, std::chrono::milliseconds(opts.number("ticker-ms", 1000))};
    tick.set(true);
    // Serves on a Server: plain, or TLS with --cert and --key (its transport given).
    const auto serve = [&]<class Server>(std::type_identity<Server>, auto... transport) -> int {
        hub::routes<Server> api{hub, io.get_executor(), routes};
        Server* self = nullptr;
        Server server{io.get_executor(), [&](const http::request& req, http::responder respond) {
                               const std::string_view path = std::string_view(req.target).substr(0, req.target.find('?'));
                               if (api(req, respond)) return;
                               if (path == "/") return respond({200, "text/html; charset=utf-8", page});
                               if (path == "/herald.js") return respond({200, "text/javascript; charset=utf-8", client});
                               if (path == "/admin/disconnect" && req.method == "POST") {
                                   respond({200, "text/plain; charset=utf-8", "closing every connection\n"});
                                   // A moment later, so that this answer is out before its connection goes too.
                                   auto later = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(50));
                                   return later->async_wait([later, &self](std::error_code) { self->disconnect_all(); });
                               }
                               if (path == "/admin/ticker" && req.method == "POST") {
                                   tick.set(http::query_parameter(req.target, "on").value_or("1") != "0");
                                   return respond({200, "text/plain; charset=utf-8", "ok\n"});
                               }
                               respond({404, "text/plain; charset=utf-8", "not found\n"});
                           },
                           server_options, transport...};
        self = &server;
        if (!quiet)
            server.on_connection_end([](std::error_code ec) {
                if (ec) std::fprintf(stderr, "live_server: connection ended: %s\n", ec.message().c_str());
            });
        if (!quiet) std::fprintf(stderr, "live_server: epoch %s, ticker every %ld ms\n", hub.epoch().c_str(), opts.number("ticker-ms", 1000));
        return example::run(io, server, opts, "herald live demo", [&] {
            tick.set(false);
#ifdef HERALD_LIVE_REDIS
            if (broker) broker->stop();
#endif
        });
    };
    return example::serve_plain_or_tls<server_type>(opts, "live_server", serve);
}
