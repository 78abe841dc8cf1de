// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_SSE_CLIENT_HPP
#define HERALD_ASIO_SSE_CLIENT_HPP

// An EventSource for C++ (WHATWG HTML §9.2): connects, reads the event stream,
// hands out one event per async_next, and reconnects when the connection drops,
// sending the last event id it saw as Last-Event-ID so the server can replay
// what was missed.
//
//   sse::client events{io.get_executor(), {.host = "127.0.0.1", .port = "8080"}};
//   events.async_next([](std::error_code ec, sse::received_event ev) { ... });
//
// Reconnection (§9.2.3 "reestablish the connection"): wait the reconnection time —
// the server's last `retry:`, else client_options::reconnection_time — plus a
// backoff with jitter that grows while attempts keep failing and is reset by a
// stream that opens, so a fleet of clients does not come back all at once after a
// server restart. Per §9.2.3, an answer that is not 200 or not
// text/event-stream fails the connection for good: async_next completes with
// error::bad_status or error::bad_content_type and the client does not retry. So
// does a backoff whose max_attempts are used up, with the last network error.

#include <herald/asio/http_client.hpp>
#include <herald/sse/error.hpp>
#include <herald/sse/parser.hpp>
#include <herald/timing/backoff.hpp>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <optional>
#include <random>
#include <string>

namespace herald::sse {

struct client_options {
    std::string host = "127.0.0.1";
    std::string port = "80";
    std::string target = "/events";
    std::chrono::milliseconds reconnection_time = std::chrono::seconds(3);
    timing::backoff_policy backoff{std::chrono::milliseconds(250), std::chrono::seconds(30), 0, timing::jitter::full};
    sse::limits limits{};
    std::string last_event_id{};  // resume from here on the first connection
};

struct received_event {
    std::string type;  // "message" when the stream named none
    std::string data;
    std::string id;  // the last event id as of this event
};

class client {
public:
    using executor_type = asio::any_io_executor;

    // `seed` seeds the jitter (randomness is an input; pass std::random_device{}()).
    client(asio::any_io_executor ex, client_options options, std::uint64_t seed = std::random_device{}())
        : options_(std::move(options)), conn_(ex, options_.host, options_.port, unlimited_body()), timer_(ex),
          parser_(options_.limits),
          backoff_(options_.backoff), rng_(seed) {
        last_event_id_ = options_.last_event_id;
    }

    executor_type get_executor() noexcept { return timer_.get_executor(); }

    // The next event: (ec, event). Reconnects as needed in between. One at a time.
    template <class Token>
    auto async_next(Token&& token) {
        return asio::async_compose<Token, void(std::error_code, received_event)>(next_op{this}, token, timer_);
    }

    // Stops: a pending async_next completes with operation_aborted. On the executor.
    void close() {
        closed_ = true;
        conn_.close();
        timer_.cancel();
    }

    // The last event id string, sent as Last-Event-ID on reconnection.
    const std::string& last_event_id() const noexcept { return last_event_id_; }
    // How many times a stream opened (1 + the successful reconnections).
    std::size_t connections() const noexcept { return connections_; }

private:
    // An event stream is one body that never ends: the HTTP body limit would cut
    // it every megabyte. sse::limits bound what matters, one line and one event.
    static http::limits unlimited_body() {
        http::limits l;
        l.max_body = ~std::uint64_t{0};
        return l;
    }

    struct next_op {
        client* c;
        enum class step { start, delay, open, body } at = step::start;
        bool posted = false;

        template <class Self>
        void operator()(Self& self, std::error_code ec = {}, std::string_view piece = {}) {
            if (!posted) {
                // Buffered events would complete the operation inside async_next;
                // a completion handler never runs before its initiating call returns.
                posted = true;
                return asio::post(c->get_executor(), std::move(self));
            }
            if (c->closed_) return self.complete(asio::error::operation_aborted, {});
            switch (at) {
            case step::start: break;
            case step::delay:
                c->waiting_ = false;
                return open(self);
            case step::open:
                if (ec) return retry(self, ec);
                if (auto refused = check(c->conn_.head())) {
                    c->close();
                    return self.complete(refused, {});
                }
                c->streaming_ = true;
                ++c->connections_;
                c->backoff_.reset();
                c->parser_.restart();
                c->pending_.clear();
                break;
            case step::body:
                if (ec) return retry(self, ec);
                if (piece.empty()) return retry(self, asio::error::eof);  // the server ended the stream
                c->pending_.append(piece);
                break;
            }
            if (!c->streaming_) return c->waiting_ ? wait(self) : open(self);
            deliver(self);
        }

    private:
        // §9.2.3: only `200 OK` with a text/event-stream type is a stream.
        static std::error_code check(const http::response& head) {
            if (head.status != 200) return error::bad_status;
            const auto type = head.fields.find("Content-Type").value_or("");
            const auto essence = type.substr(0, type.find(';'));
            if (!http::iequals(http::detail::trim_ows(essence), "text/event-stream")) return error::bad_content_type;
            return {};
        }

        template <class Self>
        void deliver(Self& self) {
            std::string_view input = c->pending_;
            while (true) {
                const auto r = c->parser_.next(input);
                if (r == parse_result::retry) {
                    c->retry_time_ = std::chrono::milliseconds(
                        std::min<std::uint64_t>(*c->parser_.reconnection_time(), 24u * 3600 * 1000));
                    continue;
                }
                if (r == parse_result::event) {
                    // The parser starts without the seeded id: until the stream names
                    // one, the seed stays (an `id:` that clears it is not told apart).
                    if (!c->parser_.last_event_id().empty()) c->last_event_id_ = c->parser_.last_event_id();
                    received_event ev{std::string(c->parser_.type()), std::string(c->parser_.data()), c->last_event_id_};
                    c->pending_.erase(0, c->pending_.size() - input.size());
                    return self.complete({}, std::move(ev));
                }
                if (r == parse_result::error) return retry(self, c->parser_.error());
                break;  // need_more: the parser keeps a partial line itself
            }
            c->pending_.clear();
            at = step::body;
            c->conn_.async_read_body(std::move(self));
        }

        template <class Self>
        void open(Self& self) {
            auto& r = c->request_;
            r = "GET " + c->options_.target + " HTTP/1.1\r\nHost: " + c->options_.host + ":" + c->options_.port +
                "\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n";
            // §9.2.4: a non-empty last event ID string goes back as Last-Event-ID.
            if (!c->last_event_id_.empty()) r += "Last-Event-ID: " + c->last_event_id_ + "\r\n";
            r += "\r\n";
            at = step::open;
            c->conn_.async_request(r, std::move(self));
        }

        template <class Self>
        void retry(Self& self, std::error_code ec) {
            c->streaming_ = false;
            c->conn_.close();
            const auto jitter = c->backoff_.next(c->rng_);
            if (!jitter) return self.complete(ec, {});  // max_attempts used up
            c->timer_.expires_after(c->retry_time_.value_or(c->options_.reconnection_time) + *jitter);
            c->waiting_ = true;
            wait(self);
        }

        template <class Self>
        void wait(Self& self) {
            at = step::delay;
            c->timer_.async_wait(std::move(self));
        }
    };

    client_options options_;
    http::client_connection conn_;
    asio::steady_timer timer_;
    event_parser parser_;
    timing::backoff backoff_;
    std::mt19937_64 rng_;
    std::optional<std::chrono::milliseconds> retry_time_;
    std::string last_event_id_;
    std::string request_;
    std::string pending_;
    std::size_t connections_ = 0;
    bool streaming_ = false;
    bool waiting_ = false;
    bool closed_ = false;
};

}  // namespace herald::sse

#endif
