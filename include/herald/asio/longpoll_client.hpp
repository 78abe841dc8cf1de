// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_LONGPOLL_CLIENT_HPP
#define HERALD_ASIO_LONGPOLL_CLIENT_HPP

// A long-poll client: polls `target?topic=T&since=C&timeout=S` in a loop on one
// kept-alive connection, moves its cursor with every answer, and hands out the
// answers that carry messages (or a reset). Polls that time out empty are polled
// again without a word to the caller.
//
//   longpoll::client polls{io.get_executor(), {.host = "127.0.0.1", .port = "8080", .topic = "news"}};
//   polls.async_next([](std::error_code ec, longpoll::answer a) { ... });
//
// Errors — a refused connection, a reset, a 5xx or 503, an answer that does not
// decode — are retried after a backoff with jitter (reset by the next good answer),
// so a restarted server is not hit by every client at the same instant. A 4xx
// other than 408 and 429 is the client's own fault and is not retried: async_next
// completes with error::bad_status. So does a backoff out of max_attempts.

#include <herald/asio/http_client.hpp>
#include <herald/longpoll/answer.hpp>
#include <herald/timing/backoff.hpp>

#include <asio/steady_timer.hpp>

#include <random>
#include <string>

namespace herald::longpoll {

struct client_options {
    std::string host = "127.0.0.1";
    std::string port = "80";
    std::string target = "/poll";
    std::string topic{};
    std::string since{};  // a cursor "<epoch>-<seq>" to resume from; empty: from now
    std::uint32_t timeout_seconds = 25;
    timing::backoff_policy backoff{std::chrono::milliseconds(250), std::chrono::seconds(30), 0, timing::jitter::full};
    std::uint64_t max_answer_bytes = 64 * 1024 * 1024;  // an answer body larger than this is an error
};

// `Transport`: http::plain_client, or tls::client_transport for https (tls.hpp).
template <class Transport = http::plain_client>
class basic_client {
public:
    using executor_type = asio::any_io_executor;

    basic_client(asio::any_io_executor ex, client_options options, std::uint64_t seed = std::random_device{}(),
                 Transport transport = {})
        : options_(std::move(options)), conn_(ex, options_.host, options_.port, answer_limits(options_), std::move(transport)),
          timer_(ex),
          backoff_(options_.backoff),
          rng_(seed), cursor_(options_.since) {}

    executor_type get_executor() noexcept { return timer_.get_executor(); }

    // The next answer with messages or a reset: (ec, answer). One at a time.
    template <class Token>
    auto async_next(Token&& token) {
        return asio::async_compose<Token, void(std::error_code, answer)>(next_op{this}, token, timer_);
    }

    void close() {
        closed_ = true;
        conn_.close();
        timer_.cancel();
    }

    const std::string& cursor() const noexcept { return cursor_; }
    // Answers that failed and were retried, since the last good one.
    std::uint32_t failures() const noexcept { return backoff_.attempts(); }

private:
    static http::limits answer_limits(const client_options& o) {
        http::limits l;
        l.max_body = o.max_answer_bytes;
        return l;
    }

    struct next_op {
        basic_client* c;
        enum class step { start, delay, head, body } at = step::start;

        template <class Self>
        void operator()(Self& self, std::error_code ec = {}, std::string_view piece = {}) {
            if (c->closed_) return self.complete(asio::error::operation_aborted, {});
            switch (at) {
            case step::start:
            case step::delay: return poll(self);
            case step::head: {
                if (ec) return retry(self, ec);
                const unsigned status = c->conn_.head().status;
                if (status != 200) {
                    c->conn_.close();
                    const bool transient = status >= 500 || status == 408 || status == 429;
                    return transient ? retry(self, error::bad_status) : self.complete(error::bad_status, {});
                }
                c->body_.clear();
                return read(self);
            }
            case step::body:
                if (ec) return retry(self, ec);
                if (!piece.empty()) {
                    c->body_.append(piece);
                    return read(self);
                }
                answer a;
                if (auto bad = decode_answer(c->body_, a)) return retry(self, bad);
                c->backoff_.reset();
                c->cursor_ = a.cursor;
                if (a.messages.empty() && !a.reset) return poll(self);  // timed out, or learnt "now": poll again
                return self.complete({}, std::move(a));
            }
        }

    private:
        template <class Self>
        void poll(Self& self) {
            auto& r = c->request_;
            r = "GET " + c->options_.target;
            append_poll_query(c->options_.topic, c->cursor_, c->options_.timeout_seconds, r);
            r += " HTTP/1.1\r\nHost: " + c->options_.host + ":" + c->options_.port + "\r\nAccept: application/json\r\n\r\n";
            at = step::head;
            c->conn_.async_request(r, std::move(self));
        }

        template <class Self>
        void read(Self& self) {
            at = step::body;
            c->conn_.async_read_body(std::move(self));
        }

        template <class Self>
        void retry(Self& self, std::error_code ec) {
            c->conn_.close();
            const auto delay = c->backoff_.next(c->rng_);
            if (!delay) return self.complete(ec, {});
            at = step::delay;
            c->timer_.expires_after(*delay);
            c->timer_.async_wait(std::move(self));
        }
    };

    client_options options_;
    http::basic_client_connection<Transport> conn_;
    asio::steady_timer timer_;
    timing::backoff backoff_;
    std::mt19937_64 rng_;
    std::string cursor_;
    std::string request_;
    std::string body_;
    bool closed_ = false;
};

using client = basic_client<>;

}  // namespace herald::longpoll

#endif
