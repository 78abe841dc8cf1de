// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_HUB_ROUTES_HPP
#define HERALD_ASIO_HUB_ROUTES_HPP

// The hub over HTTP: one topic stream through all four transports, on the routes
// of an http::basic_server (prefix "/api" by default; `topic` defaults to "live"):
//
//   GET  /api/messages?topic=T&since=C   short polling: what came after C, at once
//   GET  /api/poll?topic=T&since=C&timeout=S
//                                        long polling: at once if anything came after
//                                        C, else parked until a message or S seconds
//   GET  /api/events?topic=T             SSE; resumes from Last-Event-ID (or ?since=C)
//   GET  /api/ws?topic=T&since=C         WebSocket: each message a text frame; a text
//                                        frame from the client is published to T
//   POST /api/publish?topic=T            the body is published -> {"id":C} | 400 | 413
//   GET  /api/stats                      hub::stats as JSON
//
// route_options::authorize decides who may read, publish and see the stats.
//
// A poll answers {"cursor":C,"reset":R,"messages":[M...]}, each M the message's JSON
// ({"id","topic","data"}), C the cursor to send next; R is true when the cursor
// could not be resumed (another epoch, evicted, never issued): the client
// resynchronises and continues from C. SSE sends the same as an
// `event: history-lost` whose id is the newest; WebSocket as a text frame
// {"type":"lost","topic":T,"id":C}. Every transport carries the same ids.
//
//   hub::service hub{epoch};
//   hub::routes<server_type> api{hub, io.get_executor()};
//   server_type server{io.get_executor(), [&](const http::request& req, http::responder respond) {
//       if (!api(req, respond)) respond({404, "text/plain", "not found\n"});
//   }};

#include <herald/asio/hub.hpp>
#include <herald/asio/server.hpp>
#include <herald/asio/sse.hpp>
#include <herald/asio/websocket.hpp>
#include <herald/longpoll/answer.hpp>
#include <herald/sse/replay.hpp>
#include <herald/timing/token_bucket.hpp>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <charconv>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace herald::hub {

// What a request asks to do, for route_options::authorize.
enum class access {
    read,     // short or long poll, SSE, WebSocket subscription
    publish,  // POST /publish, or text frames on a WebSocket
    stats,    // GET /stats
};

struct route_options {
    std::string prefix = "/api";
    std::string default_topic = "live";
    std::chrono::seconds default_poll{25};
    std::chrono::seconds max_poll{60};
    sse::stream_options sse{};
    websocket::stream_options websocket{};
    // Called when a streaming client comes or goes: ("open" | "close", transport,
    // topic), from the connection's thread; for a log line. Polls are requests,
    // not connections, and are not reported.
    std::function<void(std::string_view event, hub::transport, std::string_view topic)> on_connection{};
    // Who may do what: 0 lets `req` have `access` to `topic` (empty for stats), an
    // HTTP status refuses it with that status (401 without credentials, 403 with
    // the wrong ones, 429 ...). Unset: everyone may do everything. Browsers cannot
    // set fields on a WebSocket or an EventSource, so a token in the query string
    // (or a cookie) is what those bring. A WebSocket is asked for `read` at the
    // upgrade (refused: the upgrade is answered with the status) and for `publish`
    // once there too: a socket that may not publish gets an error frame for each
    // text frame it sends. Called on the connection's thread.
    std::function<unsigned(const http::request& req, hub::access, std::string_view topic)> authorize{};
    // How fast one client may publish (timing/token_bucket.hpp; unset: no limit):
    // POST /publish past it is answered 429 with Retry-After, per client_key(req);
    // a WebSocket past it, counted per connection, is closed with 1008.
    timing::rate_limit publish_rate{};
    // Whose publishes count together: your authenticated identity (or a proxy's
    // client address). Unset: every POST counts against one server-wide bucket.
    std::function<std::string(const http::request& req)> client_key{};
    std::size_t max_client_keys = 10000;  // buckets kept at once (keyed_limiter)
};

// A poll answer's body.
inline std::string poll_body(const std::string& cursor, bool reset, const std::vector<message_ptr>& messages) {
    std::string out = R"({"cursor":)";
    append_json_string(cursor, out);
    out += reset ? R"(,"reset":true,"messages":[)" : R"(,"reset":false,"messages":[)";
    for (std::size_t i = 0; i < messages.size(); ++i) {
        if (i) out += ',';
        out += messages[i]->json;
    }
    out += "]}";
    return out;
}

// A poll answer: JSON, never cached (a cached poll would replay an old cursor).
inline http::response poll_response(std::string body) {
    http::response res{200, "application/json", std::move(body)};
    res.fields.append("Cache-Control", "no-store");
    return res;
}

namespace detail {

// An SSE stream as a hub subscriber: the message's SSE form, shared, no copy.
template <class Stream>
class sse_subscriber final : public subscriber {
public:
    explicit sse_subscriber(std::shared_ptr<sse::event_stream<Stream>> stream) : stream_(std::move(stream)) {}
    hub::transport transport() const noexcept override { return hub::transport::sse; }
    std::size_t deliver(const message_ptr& m) override {
        return stream_->send(sse::shared_event(m, &m->sse)) ? m->sse.size() : 0;
    }
    // `event: history-lost` with the newest id (sse/replay.hpp's signal).
    void lost(const topic& t) override { send_event(sse::history_lost_type, t.lost_signal(), t.last_id()); }
    // `event: ready` with the newest id: EventSource then carries it as its last
    // event id, and a client resumes from it.
    void ready(const topic& t) override { send_event("ready", t.ready_signal(), t.last_id()); }
    bool ended() const override { return stream_->ended(); }
    bool can_take(const std::vector<message_ptr>& messages) const override {
        std::size_t bytes = 0;
        for (const auto& m : messages) bytes += m->sse.size();
        return stream_->can_take(messages.size(), bytes);
    }

private:
    void send_event(std::string_view type, const std::string& data, const std::string& id) {
        std::error_code ignored;  // our ids and JSON always serialize
        stream_->send(sse::make_shared_event({type, data, std::string_view(id), std::nullopt}, ignored));
    }

    std::shared_ptr<sse::event_stream<Stream>> stream_;
};

// A WebSocket as a hub subscriber: each message a text frame of its JSON. deliver()
// runs on the publisher's thread, so frames wait in a queue of their own and one
// post wakes the socket's executor for all that queued meanwhile; that queue and
// the stream's output are each bounded by max_queued_bytes, and a client that
// cannot keep up is closed with 1008 (the slow-consumer policy). Text the client
// sends is published.
template <class Socket>
class websocket_subscriber final : public subscriber, public std::enable_shared_from_this<websocket_subscriber<Socket>> {
public:
    template <class Connection>
    websocket_subscriber(service& hub, std::string topic_name, const std::shared_ptr<Connection>& conn,
                         const route_options& options, bool may_publish)
        : hub_(hub), topic_(std::move(topic_name)), ws_(std::move(conn->next_layer()), options.websocket, conn->take_buffered()),
          keep_(conn), max_pending_(options.websocket.max_queued_bytes), report_(options.on_connection),
          may_publish_(may_publish), publish_rate_(options.publish_rate, timing::token_bucket::clock::now()) {}

    hub::transport transport() const noexcept override { return hub::transport::websocket; }

    std::size_t deliver(const message_ptr& m) override {
        if (ended_) return 0;
        send(std::shared_ptr<const std::string>(m, &m->json));
        return m->json.size();
    }
    void lost(const topic& t) override { send(std::make_shared<const std::string>(t.lost_signal())); }
    void ready(const topic& t) override { send(std::make_shared<const std::string>(t.ready_signal())); }
    bool ended() const override { return ended_; }
    bool can_take(const std::vector<message_ptr>& messages) const override {
        std::size_t bytes = 0;
        for (const auto& m : messages) bytes += m->json.size();
        return bytes <= max_pending_;
    }

    // Answers the upgrade, then subscribes from `since` and reads what the client publishes.
    // The handed-off connection stays in the server's table, and its close()
    // (server::stop, disconnect_all) closes this stream.
    template <class Connection>
    void start(Connection& conn, std::optional<std::string> since) {
        conn.on_close([weak = std::weak_ptr<websocket_subscriber>(this->shared_from_this())] {
            if (auto self = weak.lock()) asio_detail::close_stream(self->ws_.next_layer());
        });
        ws_.async_accept(conn.request(), [self = this->shared_from_this(), since = std::move(since)](std::error_code ec) {
            if (ec) return self->end();
            // Heartbeats find clients that vanished without a word (a sleeping laptop, a NAT timeout).
            self->ws_.start_heartbeat({std::chrono::seconds(20), std::chrono::seconds(30), std::chrono::seconds(10)});
            std::optional<std::string_view> cursor;
            if (since) cursor = *since;
            if (self->hub_.subscribe(self->topic_, cursor, self)) return self->close(1008, "bad topic");
            self->opened_ = true;
            if (self->report_) self->report_("open", hub::transport::websocket, self->topic_);
            self->read();
        });
    }

private:
    void send(std::shared_ptr<const std::string> text) {
        {
            std::lock_guard lock(mutex_);
            if (pending_bytes_ >= max_pending_) {
                overflow_ = true;  // dropped here; the client is closed when the executor runs
            } else {
                pending_bytes_ += text->size();
                pending_.push_back(std::move(text));
            }
            if (std::exchange(wake_posted_, true)) return;
        }
        asio::post(ws_.get_executor(), [self = this->shared_from_this()] { self->write_pending(); });
    }

    // On the socket's executor: what queued since the last wake-up into the
    // stream, which writes it all in one gathered write.
    void write_pending() {
        bool overflow = false;
        {
            std::lock_guard lock(mutex_);
            writing_.swap(pending_);
            pending_bytes_ = 0;
            wake_posted_ = false;
            overflow = std::exchange(overflow_, false);
        }
        for (const auto& text : writing_) {
            if (overflow || ended_) break;
            overflow = ws_.send(websocket::opcode::text, *text) == websocket::error::send_queue_full;
        }
        writing_.clear();
        if (overflow && !ended_) {
            hub_.count_drop();
            close(1008, "too slow");
        }
    }

    void read() {
        ws_.async_read(message_, [self = this->shared_from_this()](std::error_code ec, websocket::opcode type) {
            if (ec) return self->end();
            if (type == websocket::opcode::text) self->publish_text();  // binary is not a publish: the hub carries text
            self->read();
        });
    }

    // The client's text message, published; or {"type":"error","text":...} back
    // when it may not publish or the hub refuses it.
    void publish_text() {
        std::error_code refused;
        if (!may_publish_) send_error("publishing is not allowed");
        else if (publish_rate_.take(timing::token_bucket::clock::now())) close(1008, "publishing too fast");
        else if (!hub_.publish(topic_, message_, refused)) send_error(refused.message());
    }

    // {"type":"error","text":...}
    void send_error(std::string_view text) {
        std::string frame = R"({"type":"error","text":)";
        append_json_string(text, frame);
        send(std::make_shared<const std::string>(frame + "}"));
    }

    // Closes with `code`; the stream cuts the transport if the client has not
    // answered within its close_timeout (a client too slow to read will not read
    // the close either).
    void close(std::uint16_t code, std::string_view reason) {
        if (ended_.exchange(true)) return;
        ws_.async_close(code, reason, [self = this->shared_from_this()](std::error_code) {});
    }

    void end() {
        ended_ = true;
        hub_.unsubscribe(this);
        if (std::exchange(opened_, false) && report_) report_("close", hub::transport::websocket, topic_);
    }

    service& hub_;
    std::string topic_;
    websocket::stream<Socket> ws_;
    std::shared_ptr<void> keep_;  // the handed-off connection: tracked by the server while this lives
    std::string message_;
    std::mutex mutex_;  // guards the four below: deliver() may run on any thread
    std::vector<std::shared_ptr<const std::string>> pending_;
    std::size_t pending_bytes_ = 0;
    bool wake_posted_ = false;
    bool overflow_ = false;
    std::vector<std::shared_ptr<const std::string>> writing_;  // the socket's executor's
    std::size_t max_pending_;
    std::atomic<bool> ended_{false};
    std::function<void(std::string_view, hub::transport, std::string_view)> report_;
    bool opened_ = false;  // reported open, not yet closed (on the stream's executor)
    bool may_publish_;     // route_options::authorize's answer at the upgrade
    timing::token_bucket publish_rate_;  // this connection's route_options::publish_rate
};

// A parked long poll: answered by the first message, or empty at its timeout, or
// forgotten when the client leaves.
class poll_waiter final : public subscriber, public std::enable_shared_from_this<poll_waiter> {
public:
    // The timer is on a strand of its own: the answer (a publisher's thread) and an
    // abandon (the connection's) may both cancel it.
    poll_waiter(http::responder respond, std::string cursor, const asio::any_io_executor& ex)
        : respond_(std::move(respond)), cursor_(std::move(cursor)), timer_(asio::make_strand(ex)) {}

    hub::transport transport() const noexcept override { return hub::transport::long_poll; }

    std::size_t deliver(const message_ptr& m) override {
        if (done_.exchange(true)) return 0;
        answer(poll_body(m->id, false, {m}));
        return m->json.size();
    }
    void lost(const topic& t) override {
        if (!done_.exchange(true)) answer(poll_body(t.last_id(), true, {}));
    }
    void ready(const topic&) override {}  // a poll is never fresh: it always has a cursor
    bool ended() const override { return done_; }

    void park(service& hub, std::chrono::seconds timeout) {
        respond_.on_abandon([self = shared_from_this(), &hub] {
            self->done_ = true;
            hub.unsubscribe(self.get());
            asio::post(self->timer_.get_executor(), [self] { self->timer_.cancel(); });
        });
        timer_.expires_after(timeout);
        timer_.async_wait([self = shared_from_this(), &hub](std::error_code ec) {
            if (ec || self->done_.exchange(true)) return;
            hub.unsubscribe(self.get());
            self->respond_(poll_response(poll_body(self->cursor_, false, {})));
        });
    }

private:
    void answer(std::string body) {
        respond_(poll_response(std::move(body)));
        asio::post(timer_.get_executor(), [self = shared_from_this()] { self->timer_.cancel(); });
    }

    http::responder respond_;
    std::string cursor_;
    asio::steady_timer timer_;
    std::atomic<bool> done_{false};
};

// A query parameter, percent-decoded (a topic "a:b" arrives as a%3Ab).
inline std::optional<std::string> query(const http::request& req, std::string_view name) {
    if (auto v = http::query_parameter(req.target, name)) return longpoll::detail::form_decode(*v);  // the long-poll wire format's decoder: the same rules
    return std::nullopt;
}

}  // namespace detail

template <class Server>
class routes {
public:
    routes(service& hub, asio::any_io_executor ex, route_options options = {})
        : hub_(hub), ex_(std::move(ex)), options_(std::move(options)),
          publishers_(options_.publish_rate, options_.max_client_keys) {}

    // Serves `req` when it is one of the hub's routes (and may take `respond`);
    // false when it is not, leaving `respond` to the caller.
    bool operator()(const http::request& req, http::responder& respond) {
        const std::string_view target = req.target;
        const std::string_view path = target.substr(0, target.find('?'));
        if (path.substr(0, options_.prefix.size()) != options_.prefix) return false;
        const std::string_view route = path.substr(options_.prefix.size());
        const std::string topic_name = detail::query(req, "topic").value_or(options_.default_topic);
        if (route == "/publish" && req.method == "POST") {
            if (refused(req, access::publish, topic_name, respond) || too_fast(req, respond)) return true;
            publish(topic_name, req.body, respond);
        } else if (route == "/publish") {
            respond(not_allowed("POST"));
        } else if (req.method != "GET" && req.method != "HEAD") {
            if (route != "/stats" && route != "/messages" && route != "/poll" && route != "/events" && route != "/ws") return false;
            respond(not_allowed("GET"));
        } else if (route == "/stats") {
            if (refused(req, access::stats, "", respond)) return true;
            respond({200, "application/json", hub_.stats().json()});
        } else if (route != "/messages" && route != "/poll" && route != "/events" && route != "/ws") {
            return false;
        } else if (refused(req, access::read, topic_name, respond)) {
            return true;
        } else if (route == "/messages") {
            poll(topic_name, detail::query(req, "since"), std::chrono::seconds(0), respond);
        } else if (route == "/poll") {
            poll(topic_name, detail::query(req, "since"), poll_timeout(req), respond);
        } else if ((route == "/events" || route == "/ws") && !valid_topic_name(topic_name)) {
            const std::error_code bad = error::bad_topic_name;
            respond({400, "text/plain; charset=utf-8", bad.message() + "\n"});  // before any stream starts
        } else if (route == "/events") {
            events(req, topic_name, respond);
        } else if (route == "/ws") {
            if (websocket::is_upgrade(req)) return upgrade(req, topic_name, detail::query(req, "since"), respond), true;
            http::response res{426, "text/plain; charset=utf-8", "WebSocket upgrade expected\n"};
            res.fields.append("Upgrade", "websocket");
            res.fields.append("Connection", "Upgrade");
            respond(std::move(res));
        } else {
            return false;
        }
        return true;
    }

private:
    using connection_type = typename Server::connection_type;
    using socket_type = typename Server::socket_type;

    // Asks options_.authorize; a refusal is answered here. -> whether it refused.
    bool refused(const http::request& req, access what, std::string_view topic_name, http::responder& respond) const {
        const unsigned status = options_.authorize ? options_.authorize(req, what, topic_name) : 0;
        if (status == 0) return false;
        respond({status, "text/plain; charset=utf-8", status == 401 ? "credentials required\n" : "not allowed\n"});
        return true;
    }

    // route_options::publish_rate for POST /publish: 429 with Retry-After (RFC 6585 §4).
    bool too_fast(const http::request& req, http::responder& respond) {
        if (!options_.publish_rate.limited()) return false;
        const std::string key = options_.client_key ? options_.client_key(req) : std::string();
        std::optional<timing::token_bucket::clock::duration> wait;
        {
            std::lock_guard lock(publishers_mutex_);  // routes serve every connection's strand
            wait = publishers_.take(key, timing::token_bucket::clock::now());
        }
        if (!wait) return false;
        http::response res{429, "text/plain; charset=utf-8", "publishing too fast\n"};
        res.fields.append("Retry-After", std::to_string(std::chrono::ceil<std::chrono::seconds>(*wait).count()));
        respond(std::move(res));
        return true;
    }

    static http::response not_allowed(std::string_view allow) {
        http::response res{405, "text/plain; charset=utf-8", "method not allowed\n"};
        res.fields.append("Allow", allow);
        return res;
    }

    std::chrono::seconds poll_timeout(const http::request& req) const {
        const auto text = detail::query(req, "timeout");
        if (!text) return options_.default_poll;
        long seconds = 0;
        const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), seconds);
        if (ec != std::errc{} || end != text->data() + text->size() || seconds < 0) return options_.default_poll;
        return std::min(std::chrono::seconds(seconds), options_.max_poll);
    }

    void publish(const std::string& topic_name, std::string_view data, http::responder& respond) {
        std::error_code ec;
        const auto m = hub_.publish(topic_name, data, ec);
        if (!m) return respond({status_for(ec), "text/plain; charset=utf-8", ec.message() + "\n"});
        std::string body = R"({"id":)";
        append_json_string(m->id, body);
        respond({200, "application/json", body + "}"});
    }

    void poll(const std::string& topic_name, std::optional<std::string> since, std::chrono::seconds timeout,
              http::responder& respond) {
        std::error_code ec;
        std::optional<std::string_view> cursor;
        if (since) cursor = *since;
        auto a = hub_.poll(topic_name, cursor, ec);
        if (ec) return respond({status_for(ec), "text/plain; charset=utf-8", ec.message() + "\n"});
        const bool reset = a.state == topic::outcome::lost;
        if (reset || !a.messages.empty() || timeout.count() == 0 || a.state == topic::outcome::fresh)
            return respond(poll_response(poll_body(a.cursor, reset, a.messages)));
        // Nothing yet: park. Subscribing from the same cursor closes the window
        // between the poll above and a publish now.
        auto waiter = std::make_shared<detail::poll_waiter>(std::move(respond), a.cursor, ex_);
        waiter->park(hub_, timeout);
        (void)hub_.subscribe(topic_name, cursor, waiter);
    }

    void events(const http::request& req, const std::string& topic_name, http::responder& respond) {
        std::optional<std::string> cursor;
        if (auto id = sse::last_event_id(req)) cursor = std::string(*id);
        else cursor = detail::query(req, "since");
        respond.hand_off<connection_type>([this, topic_name, cursor](std::shared_ptr<connection_type> conn) {
            auto stream = std::make_shared<sse::event_stream<socket_type>>(conn, options_.sse);
            auto sub = std::make_shared<detail::sse_subscriber<socket_type>>(stream);
            std::optional<std::string_view> from;
            if (cursor) from = *cursor;
            (void)hub_.subscribe(topic_name, from, sub);  // the name was checked before the hand-off
            if (options_.on_connection) options_.on_connection("open", transport::sse, topic_name);
            stream->async_run([this, sub, topic_name](std::error_code ec) {
                if (ec == sse::error::send_queue_full) hub_.count_drop();
                hub_.unsubscribe(sub.get());
                if (options_.on_connection) options_.on_connection("close", transport::sse, topic_name);
            });
        });
    }

    void upgrade(const http::request& req, const std::string& topic_name, std::optional<std::string> since,
                 http::responder& respond) {
        const bool may_publish = !options_.authorize || options_.authorize(req, access::publish, topic_name) == 0;
        respond.hand_off<connection_type>([this, topic_name, since, may_publish](std::shared_ptr<connection_type> conn) {
            auto sub = std::make_shared<detail::websocket_subscriber<socket_type>>(hub_, topic_name, conn, options_, may_publish);
            sub->start(*conn, since);
        });
    }

    service& hub_;
    asio::any_io_executor ex_;
    route_options options_;
    std::mutex publishers_mutex_;
    timing::keyed_limiter publishers_;
};

}  // namespace herald::hub

#endif
