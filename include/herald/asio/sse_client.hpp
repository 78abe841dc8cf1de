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
//
// As a browser's: redirects (301, 302, 303, 307, 308) are followed to an http://
// URL (https:// for sse::basic_client<tls::client_transport>) or a path, at most 20 in a row (the Fetch standard's limit), and each
// reconnection starts again from the configured target (§9.2.3 fetches the event
// source's request again); a redirect loop or a Location it cannot follow fails
// for good (error::too_many_redirects, error::bad_redirect), since retrying would
// end the same way. The last event ID is the parser's (§9.2.6): an `id:` line with
// no value clears it, so no Last-Event-ID is sent, and an `id:` in a block with no
// data still counts for the reconnection. A line or an event over sse::limits fails
// the stream for good with line_too_long or event_too_large: reconnecting would
// download the same oversize event again and again.

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

// `Transport`: http::plain_client, or tls::client_transport for https (tls.hpp).
template <class Transport = http::plain_client>
class basic_client {
public:
    using executor_type = asio::any_io_executor;

    // `seed` seeds the jitter (randomness is an input; pass std::random_device{}()).
    basic_client(asio::any_io_executor ex, client_options options, std::uint64_t seed = std::random_device{}(),
                 Transport transport = {})
        : options_(std::move(options)), conn_(ex, options_.host, options_.port, unlimited_body(), std::move(transport)), timer_(ex),
          parser_(options_.limits),
          backoff_(options_.backoff), rng_(seed), host_(options_.host), port_(options_.port), target_(options_.target) {
        parser_.set_last_event_id(options_.last_event_id);
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

    // The last event id string, sent as Last-Event-ID on reconnection when not empty.
    std::string_view last_event_id() const noexcept { return parser_.last_event_id(); }
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
        basic_client* c;
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
                if (is_redirect(c->conn_.head().status)) return redirect(self);
                if (auto refused = check(c->conn_.head())) {
                    c->close();
                    return self.complete(refused, {});
                }
                c->streaming_ = true;
                ++c->connections_;
                c->redirects_ = 0;
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

        static bool is_redirect(unsigned status) noexcept {
            return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
        }

        // Follows the answer's Location: a path on the same server, or an http:// URL.
        template <class Self>
        void redirect(Self& self) {
            const auto location = c->conn_.head().fields.find("Location");
            std::error_code refused = error::too_many_redirects;
            if (++c->redirects_ <= max_redirects) refused = location ? c->follow(*location) : error::bad_redirect;
            if (refused) {
                c->close();
                return self.complete(refused, {});
            }
            open(self);
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
                    received_event ev{std::string(c->parser_.type()), std::string(c->parser_.data()),
                                      std::string(c->parser_.last_event_id())};
                    c->pending_.erase(0, c->pending_.size() - input.size());
                    return self.complete({}, std::move(ev));
                }
                if (r == parse_result::error) {  // over a limit: for good (see the top)
                    const auto failure = c->parser_.error();
                    c->close();
                    return self.complete(failure, {});
                }
                break;  // need_more: the parser keeps a partial line itself
            }
            c->pending_.clear();
            at = step::body;
            c->conn_.async_read_body(std::move(self));
        }

        template <class Self>
        void open(Self& self) {
            auto& r = c->request_;
            r = "GET " + c->target_ + " HTTP/1.1\r\nHost: " + c->host_ + ":" + c->port_ +
                "\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n";
            // §9.2.4: a non-empty last event ID string goes back as Last-Event-ID.
            if (!c->last_event_id().empty()) r.append("Last-Event-ID: ").append(c->last_event_id()).append("\r\n");
            r += "\r\n";
            at = step::open;
            c->conn_.async_request(r, std::move(self));
        }

        template <class Self>
        void retry(Self& self, std::error_code ec) {
            c->streaming_ = false;
            c->redirects_ = 0;
            c->restart_location();
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

    static constexpr unsigned max_redirects = 20;

    // Where the next request goes after a redirect to `location`; {} or bad_redirect.
    std::error_code follow(std::string_view location) {
        location = location.substr(0, location.find('#'));  // a fragment is never sent (RFC 9110 §7.1)
        if (location.substr(0, 2) == "//") return error::bad_redirect;  // scheme-relative: not followed
        if (!location.empty() && location.front() == '/') {
            conn_.close();  // the redirect's own body is not read: start afresh
            target_.assign(location);
            return {};
        }
        // The client's own scheme only: a TLS client does not follow to http://.
        constexpr std::string_view scheme = Transport::secure ? "https://" : "http://";
        if (location.size() <= scheme.size() || !http::iequals(location.substr(0, scheme.size()), scheme))
            return error::bad_redirect;
        location.remove_prefix(scheme.size());
        const auto slash = location.find_first_of("/?");
        const std::string_view authority = location.substr(0, slash);
        const std::string_view rest = slash == std::string_view::npos ? std::string_view{} : location.substr(slash);
        const auto colon = authority.rfind(':');
        const bool has_port = colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos;
        std::string host{has_port ? authority.substr(0, colon) : authority};
        std::string port{has_port ? authority.substr(colon + 1) : std::string_view{Transport::secure ? "443" : "80"}};
        const bool digits = !port.empty() && port.size() <= 5 && port.find_first_not_of("0123456789") == std::string::npos;
        if (host.empty() || !digits || host.find('@') != std::string::npos) return error::bad_redirect;
        host_ = host;  // the Host field keeps an IPv6 literal's brackets, the resolver takes none
        port_ = port;
        if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
        conn_.retarget(std::move(host), std::move(port));
        target_.clear();
        if (rest.empty() || rest.front() != '/') target_.push_back('/');
        target_.append(rest);
        return {};
    }

    // A reconnection fetches the configured URL again, not where it was redirected.
    void restart_location() {
        if (host_ != options_.host || port_ != options_.port) conn_.retarget(options_.host, options_.port);
        else conn_.close();
        host_ = options_.host;
        port_ = options_.port;
        target_ = options_.target;
    }

    client_options options_;
    http::basic_client_connection<Transport> conn_;
    asio::steady_timer timer_;
    event_parser parser_;
    timing::backoff backoff_;
    std::mt19937_64 rng_;
    std::optional<std::chrono::milliseconds> retry_time_;
    std::string host_;    // where the next request goes: the options', or a redirect's
    std::string port_;
    std::string target_;
    unsigned redirects_ = 0;  // in a row, since the last stream opened
    std::string request_;
    std::string pending_;
    std::size_t connections_ = 0;
    bool streaming_ = false;
    bool waiting_ = false;
    bool closed_ = false;
};

using client = basic_client<>;

}  // namespace herald::sse

#endif
