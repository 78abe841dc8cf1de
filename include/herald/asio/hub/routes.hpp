// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_HUB_ROUTES_HPP
#define HERALD_ASIO_HUB_ROUTES_HPP

// The hub over HTTP: one topic stream through all four transports, on the routes
// of an http::basic_server. What each request means and whether it may is decided
// by hub/route.hpp (sans-I/O); this file carries the decision out with the
// transport adapters (sse.hpp, websocket.hpp, poll.hpp) and the publish limits.
//
//   hub::service hub{epoch};
//   hub::routes<server_type> api{hub, io.get_executor()};
//   server_type server{io.get_executor(), [&](const http::request& req, http::responder respond) {
//       if (!api(req, respond)) respond({404, "text/plain", "not found\n"});
//   }};
//
// The wire contract (message forms, lost and ready signals, poll answers) is in
// hub/wire.hpp. The hub must outlive the server's connections.

#include <herald/asio/hub/poll.hpp>
#include <herald/asio/server.hpp>
#include <herald/asio/hub/sse.hpp>
#include <herald/asio/hub/websocket.hpp>
#include <herald/hub/route.hpp>
#include <herald/timing/token_bucket.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace herald::hub {

struct route_options : route_config {
    sse::stream_options sse{};
    websocket::stream_options websocket{};
    timing::heartbeat_config websocket_heartbeat = default_websocket_heartbeat;
    // permessage-deflate, when websocket.handshake.deflate enables it: which topics'
    // messages are compressed, once for all subscribers (websocket_options).
    std::function<bool(std::string_view topic)> compress_topic{};
    bool share_compressed = true;
    longpoll::limits polls{};  // parked long polls, in total and per topic (past them: 503)
    // Called when a streaming client comes or goes: ("open" | "close", transport
    // name, topic), from the connection's thread; for a log line. Polls are
    // requests, not connections, and are not reported.
    report_fn on_connection{};
    // How fast one client may publish (timing/token_bucket.hpp; unset: no limit):
    // POST /publish past it is answered 429 with Retry-After, per client_key(req);
    // a WebSocket past it, counted per connection, is closed with 1008.
    timing::rate_limit publish_rate{};
    // Whose publishes count together: your authenticated identity (or a proxy's
    // client address). Unset: every POST counts against one server-wide bucket.
    std::function<std::string(const http::request& req)> client_key{};
    std::size_t max_client_keys = 10000;  // buckets kept at once (keyed_limiter)
    // Fields every answer of these routes carries, the SSE stream's head included
    // (not the WebSocket's 101): e.g. Access-Control-Allow-Origin for pages of
    // another origin (the demo's nodes on other ports).
    http::fields response_fields{};
};

template <class Server>
class routes {
public:
    routes(service& hub, const asio::any_io_executor& ex, route_options options = {})
        : state_(std::make_shared<state>(hub, ex, std::move(options))) {}

    routes(const routes&) = delete;
    routes& operator=(const routes&) = delete;
    // Parked long polls are answered with no messages, so their clients poll again.
    ~routes() { state_->polls->close(); }

    // Serves `req` when it is one of the hub's routes (and may take `respond`);
    // false when it is not, leaving `respond` to the caller.
    bool operator()(const http::request& req, http::responder& respond) {
        route r = decide(req, state_->options);
        if (r.what == route::kind::not_ours) return false;
        for (const auto f : state_->options.response_fields) respond.also(f.name, f.value);
        switch (r.what) {
        case route::kind::not_ours: return false;
        case route::kind::respond: respond(std::move(r.response)); break;
        case route::kind::stats: respond({200, "application/json", state_->hub.stats().json()}); break;
        case route::kind::publish: publish(req, r, respond); break;
        case route::kind::poll: state_->polls->poll(r, std::move(respond)); break;
        case route::kind::events: events(std::move(r), respond); break;
        case route::kind::websocket: upgrade(std::move(r), respond); break;
        }
        return true;
    }

    // Parked long polls now.
    std::size_t waiting() const { return state_->polls->waiting(); }

private:
    using connection_type = typename Server::connection_type;
    using socket_type = typename Server::stream_type;  // what a connection reads and writes: a socket, or TLS over one

    // What the routes' completions share: they hold it, never the routes object.
    struct state {
        state(service& h, const asio::any_io_executor& ex, route_options o)
            : hub(h), options(std::move(o)), polls(std::make_shared<poll_parking>(h, ex, options.polls)),
              publishers(options.publish_rate, options.max_client_keys) {}
        service& hub;
        route_options options;
        std::shared_ptr<poll_parking> polls;
        std::mutex publishers_mutex;  // routes serve every connection's strand
        timing::keyed_limiter publishers;
    };

    void publish(const http::request& req, const route& r, http::responder& respond) {
        if (const auto wait = too_fast(req)) {
            auto res = detail::text_response(429, "publishing too fast");  // RFC 6585 §4
            res.fields.append("Retry-After", std::to_string(std::chrono::ceil<std::chrono::seconds>(*wait).count()));
            return respond(std::move(res));
        }
        // Answered when the id is known: at once in one process, after Redis with a
        // Redis broker (the responder may be called from any thread).
        auto answer = std::make_shared<http::responder>(std::move(respond));  // move-only; the handler is copied
        state_->hub.publish(r.topic, req.body, r.idempotency_key, [answer](std::error_code ec, message_ptr m) {
            if (m) return (*answer)({200, "application/json", published_payload(m->id)});
            if (const unsigned status = status_for(ec)) return (*answer)(detail::text_response(status, ec.message()));
            // Not the message's fault: the broker could not number it now (Redis down).
            auto res = detail::text_response(503, ec.message());
            res.fields.append("Retry-After", "1");
            (*answer)(std::move(res));
        });
    }

    // route_options::publish_rate for POST /publish: how long to wait, when past it.
    std::optional<timing::token_bucket::clock::duration> too_fast(const http::request& req) {
        const auto& options = state_->options;
        if (!options.publish_rate.limited()) return std::nullopt;
        const std::string key = options.client_key ? options.client_key(req) : std::string();
        std::lock_guard lock(state_->publishers_mutex);
        return state_->publishers.take(key, timing::token_bucket::clock::now());
    }

    void events(route r, http::responder& respond) {
        respond.hand_off<connection_type>([s = state_, r = std::move(r)](std::shared_ptr<connection_type> conn) {
            auto head = sse::stream_response();
            for (const auto f : s->options.response_fields) head.fields.append(f.name, f.value);
            serve_events(s->hub, conn, r.topic, r.cursor, s->options.sse, s->options.on_connection, std::move(head));
        });
    }

    void upgrade(route r, http::responder& respond) {
        respond.hand_off<connection_type>([s = state_, r = std::move(r)](std::shared_ptr<connection_type> conn) {
            const websocket_options options{s->options.websocket, s->options.websocket_heartbeat, s->options.publish_rate,
                                            s->options.on_connection, s->options.compress_topic, s->options.share_compressed};
            auto sub = std::make_shared<websocket_subscriber<socket_type>>(s->hub, r.topic, conn, options, r.may_publish);
            sub->start(*conn, r.cursor);
        });
    }

    std::shared_ptr<state> state_;
};

}  // namespace herald::hub

#endif
