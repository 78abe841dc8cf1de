// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_HUB_WEBSOCKET_HPP
#define HERALD_ASIO_HUB_WEBSOCKET_HPP

// The WebSocket transport of the hub: each message a text frame of its JSON form,
// written from the message itself (its shared header and JSON: no copy per
// subscriber), the signals and refusals as JSON text frames (hub/wire.hpp); a text
// frame from the client is a publish to the socket's topic.
//
// permessage-deflate (RFC 7692), when stream.handshake.deflate enables it and
// compress_topic() says yes for the topic: a message is compressed once, by the
// first subscriber that needs it, and the same bytes go to every subscriber whose
// stream agreed (message::ws_deflated); one that asked for a smaller window gets
// the plain frame.

#include <herald/asio/detail/connection_table.hpp>
#include <herald/asio/hub/service.hpp>
#include <herald/buffer.hpp>
#include <herald/asio/websocket.hpp>
#include <herald/timing/heartbeat.hpp>
#include <herald/timing/token_bucket.hpp>

#include <asio/post.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace herald::hub {

// Called when a streaming client comes or goes: ("open" | "close", transport, topic).
using report_fn = std::function<void(std::string_view event, std::string_view transport, std::string_view topic)>;

// The hub's WebSocket heartbeat: a ping after 20 s with nothing sent, the client
// dead after 30 s with nothing received or 10 s without its pong. Heartbeats find
// clients that vanished without a word (a sleeping laptop, a NAT timeout).
inline constexpr timing::heartbeat_config default_websocket_heartbeat{std::chrono::seconds(20), std::chrono::seconds(30),
                                                                      std::chrono::seconds(10)};

struct websocket_options {
    websocket::stream_options stream{};  // stream.handshake.deflate: permessage-deflate
    timing::heartbeat_config heartbeat = default_websocket_heartbeat;
    timing::rate_limit publish_rate{};  // per connection; past it: close 1008
    report_fn report{};
    // Which topics' messages are compressed (opt-in: compressing secrets together
    // with what an attacker chooses leaks them, the CRIME/BREACH class). Unset: none.
    std::function<bool(std::string_view topic)> compress_topic{};
    // false: each subscriber's stream compresses the message itself, as other
    // libraries do (for comparison in benchmarks); true: once for all.
    bool share_compressed = true;
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
                         const websocket_options& options, bool may_publish)
        : hub_(hub), topic_(std::move(topic_name)), ws_(std::move(conn->next_layer()), options.stream, conn->take_buffered()),
          ticket_(conn->take_ticket()), max_pending_(options.stream.max_queued_bytes), report_(options.report),
          may_publish_(may_publish), publish_rate_(options.publish_rate, timing::token_bucket::clock::now()),
          heartbeat_(options.heartbeat), executor_(ws_.get_executor()), deflate_(options.stream.handshake.deflate),
          compress_(deflate_.enabled && options.compress_topic && options.compress_topic(topic_)),
          share_compressed_(options.share_compressed) {}

    std::string_view transport() const noexcept override { return "websocket"; }

    std::size_t deliver(const message_ptr& m) override {
        if (ended_) return 0;
        if (compressed_window_ != 0 && m->json.size() >= deflate_.min_size) {
            if (!share_compressed_) {
                send({m, {}, m->json});  // the stream compresses it (as other libraries do)
                return m->json.size();
            }
            const auto& d = m->ws_deflated(deflate_, [this] { hub_.count_deflated(); });
            if (!d.head.empty() && d.window <= compressed_window_) {  // made for a window this stream takes
                send({m, d.head, d.body});  // compressed once, the same bytes for every subscriber
                return d.body.size();
            }
        }
        send({m, m->ws_head, m->json});  // the frame every subscriber shares
        return m->json.size();
    }
    void lost(std::string_view topic, std::string_view id) override { send(own(lost_payload(topic, id))); }
    void ready(std::string_view topic, std::string_view id) override { send(own(ready_payload(topic, id))); }
    // 1013 Try Again Later (IANA): the client reconnects with its cursor. Called
    // on the hub's thread: the close runs on the socket's executor.
    bool unavailable(std::string_view, std::string_view) override {
        if (ended_.exchange(true)) return true;
        asio::post(executor_, [self = this->shared_from_this()] {
            self->ws_.async_close(1013, "try again later", [self](std::error_code) {});
        });
        return true;
    }
    bool ended() const override { return ended_; }
    bool can_take(const std::vector<message_ptr>& messages) const override {
        std::size_t bytes = 0;
        for (const auto& m : messages) bytes += m->json.size();
        return bytes <= max_pending_;
    }
    asio::any_io_executor executor() const override { return executor_; }

    // Answers the upgrade, then subscribes from `since` and reads what the client publishes.
    // The stream takes the connection's place in the server's table (server::stop and
    // disconnect_all close it), and the connection itself goes.
    template <class Connection>
    void start(Connection& conn, std::optional<std::string> since) {
        const bool stopped = ticket_.follow(this->weak_from_this(), [](const std::shared_ptr<void>& owner) {
            auto self = std::static_pointer_cast<websocket_subscriber>(owner);
            auto ex = self->executor_;
            asio::post(ex, [self = std::move(self)] { asio_detail::close_stream(self->ws_.next_layer()); });
        });
        if (stopped) asio_detail::close_stream(ws_.next_layer());  // stop() ran during the hand-off: the accept fails
        ws_.async_accept(conn.request(), [self = this->shared_from_this(), since = std::move(since)](std::error_code ec) {
            if (ec) return self->end();
            // Heartbeats find clients that vanished without a word (a sleeping laptop, a NAT timeout).
            self->ws_.start_heartbeat(self->heartbeat_);
            // Read by deliver() on other threads: set before subscribing, never after.
            const int window = std::clamp(self->deflate_.server_max_window_bits, 9, 15);
            if (self->compress_ && (self->ws_.takes_compressed(window) || !self->share_compressed_))
                self->compressed_window_ = self->ws_.compressing() ? window : 0;
            std::optional<std::string_view> cursor;
            if (since) cursor = *since;
            if (self->hub_.subscribe(self->topic_, cursor, self)) return self->close(1008, "bad topic");
            self->opened_ = true;
            if (self->report_) self->report_("open", self->transport(), self->topic_);
            self->read();
        });
    }

private:
    // A text frame to send: a message's shared (head, json), or a signal of its
    // own (no head: the stream frames it).
    struct frame {
        std::shared_ptr<const void> owner;
        std::string_view head, text;
    };

    static frame own(std::string text) {
        auto owned = std::make_shared<const std::string>(std::move(text));
        return {owned, {}, *owned};
    }

    void send(frame f) {
        {
            std::lock_guard lock(mutex_);
            if (pending_bytes_ >= max_pending_) {
                overflow_ = true;  // dropped here; the client is closed when the executor runs
            } else {
                pending_bytes_ += f.text.size();
                pending_.push_back(std::move(f));
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
        for (auto& f : writing_) {
            if (overflow || ended_) break;
            const auto sent = f.head.empty() ? ws_.send(websocket::opcode::text, f.text)
                                             : ws_.send_shared(std::move(f.owner), f.head, f.text);
            overflow = sent && (sent == websocket::error::send_queue_full || sent == budget_error::exhausted);
        }
        writing_.clear();
        if (overflow && !ended_) {
            hub_.count_drop();
            close(1008, "too slow");
        }
    }

    // Every client message, as it is parsed (the subscriber keeps no string of its
    // own for it), until the stream ends; the operation keeps this alive.
    void read() {
        ws_.async_read_each(
            [this](websocket::opcode type, std::string_view message) {
                if (type == websocket::opcode::text) publish_text(message);  // binary is not a publish: the hub carries text
            },
            [self = this->shared_from_this()](std::error_code) { self->end(); });
    }

    // The client's text message, published; or {"type":"error","text":...} back
    // when it may not publish or the hub refuses it.
    void publish_text(std::string_view message) {
        if (!may_publish_) return send_error("publishing is not allowed");
        if (publish_rate_.take(timing::token_bucket::clock::now())) return close(1008, "publishing too fast");
        hub_.publish(topic_, message, [weak = this->weak_from_this()](std::error_code refused, message_ptr m) {
            if (auto self = weak.lock(); self && !m) self->send_error(refused.message());  // send() is thread-safe
        });
    }

    void send_error(std::string_view text) { send(own(error_payload(text))); }

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
        if (std::exchange(opened_, false) && report_) report_("close", transport(), topic_);
    }

    service& hub_;
    std::string topic_;
    websocket::stream<Socket> ws_;
    asio_detail::connection_table::ticket ticket_;  // the connection's place in the server's table
    std::mutex mutex_;  // guards the four below: deliver() may run on any thread
    std::vector<frame> pending_;
    std::size_t pending_bytes_ = 0;
    bool wake_posted_ = false;
    bool overflow_ = false;
    std::vector<frame> writing_;  // the socket's executor's
    std::size_t max_pending_;
    std::atomic<bool> ended_{false};
    report_fn report_;
    bool opened_ = false;  // reported open, not yet closed (on the stream's executor)
    bool may_publish_;     // route_options::authorize's answer at the upgrade
    timing::token_bucket publish_rate_;  // this connection's websocket_options::publish_rate
    timing::heartbeat_config heartbeat_;
    asio::any_io_executor executor_;  // the socket's
    websocket::deflate_options deflate_;  // the server's permessage-deflate settings
    bool compress_;                       // this topic's messages are compressed (compress_topic)
    bool share_compressed_;
    int compressed_window_ = 0;  // the window of the shared compressed frames this stream takes; 0: none
};

}  // namespace herald::hub

#endif
