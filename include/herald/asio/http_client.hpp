// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_HTTP_CLIENT_HPP
#define HERALD_ASIO_HTTP_CLIENT_HPP

// The client side of HTTP/1.1 over TCP, as much as herald's own clients need: one
// request at a time on a kept-alive connection that is opened on demand, the head
// read whole, the body handed out piece by piece (an event stream never ends, so
// it cannot be read whole). The SSE and long-poll clients are built on it.
//
// The Transport makes the stream of each new connection: plain_client a TCP
// socket; tls::client_transport (herald/asio/tls.hpp) a TLS stream, whose
// handshake runs after the TCP connect with the host verified (https).
//
//   http::client_connection conn{ex, "127.0.0.1", "8080"};
//   conn.async_request("GET /poll HTTP/1.1\r\nHost: x\r\n\r\n", token);  // -> (ec); conn.head()
//   conn.async_read_body(token);  // -> (ec, string_view piece); empty piece: the body ended

#include <herald/asio/detail/stream_ops.hpp>
#include <herald/buffer.hpp>
#include <herald/http/message.hpp>
#include <herald/http/parser.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/compose.hpp>
#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace herald::http {

// A client's connections over plain TCP.
struct plain_client {
    using stream_type = asio::ip::tcp::socket;
    static constexpr bool secure = false;
    stream_type make_stream(const asio::any_io_executor& ex) const { return stream_type(ex); }
};

template <class Transport = plain_client>
class basic_client_connection {
public:
    using executor_type = asio::any_io_executor;
    using stream_type = typename Transport::stream_type;

    basic_client_connection(asio::any_io_executor ex, std::string host, std::string port, const http::limits& limits = {},
                            Transport transport = {})
        : transport_(std::move(transport)), stream_(transport_.make_stream(ex)), resolver_(ex), host_(std::move(host)),
          port_(std::move(port)), parser_(limits) {}

    executor_type get_executor() noexcept { return stream_->get_executor(); }
    // The TCP socket under the stream.
    auto& socket() noexcept { return stream_->lowest_layer(); }

    // The head of the response to the last request.
    const response& head() const noexcept { return head_; }

    // Connects when not connected, sends `wire` (a whole request, kept by the
    // caller until completion) and reads the response head. Completes with the
    // network error, asio::error::eof when the server closed first, or an
    // http::error for a malformed response.
    template <class Token>
    auto async_request(std::string_view wire, Token&& token) {
        return asio::async_compose<Token, void(std::error_code)>(request_op{this, wire}, token, socket());
    }

    // The next piece of the body: (ec, piece), an empty piece when the body has
    // ended. A body delimited by the close of the connection ends at EOF.
    template <class Token>
    auto async_read_body(Token&& token) {
        return asio::async_compose<Token, void(std::error_code, std::string_view)>(body_op{this}, token, socket());
    }

    void close() noexcept {
        std::error_code ignored;
        stream_->lowest_layer().close(ignored);
        resolver_.cancel();
    }

    // close() once a response was read whole: over TLS, close_notify first (RFC
    // 8446 §6.1), as the server's connection does (http.hpp).
    void close_gracefully() noexcept {
        asio_detail::send_close_notify(*stream_);
        close();
    }

    bool is_open() noexcept { return stream_->lowest_layer().is_open(); }

    // Closes, and connects to `host`:`port` at the next request (a redirect elsewhere).
    void retarget(std::string host, std::string port) {
        close();
        host_ = std::move(host);
        port_ = std::move(port);
    }

private:
    // Pulls the next parser event from the buffered bytes.
    event pull() {
        std::string_view input = buffer_.data();
        const std::size_t before = input.size();
        const event ev = parser_.next(input);
        buffer_.consume(before - input.size());
        return ev;
    }

    template <class Self>
    void read_more(Self& self) {
        const auto space = buffer_.prepare(16 * 1024);
        stream_->async_read_some(asio::buffer(space.data(), space.size()), std::move(self));
    }

    struct request_op {
        basic_client_connection* c;
        std::string_view wire;
        enum class step { start, resolve, connect, secure, write, read } at = step::start;

        template <class Self>
        void operator()(Self& self, std::error_code ec = {}, std::size_t n = 0) {
            switch (at) {
            case step::start:
                if (c->is_open()) return write(self);
                // A new connection, a new stream: a TLS session cannot be used again.
                // (Destroyed, then made: Asio 1.22's ssl::stream move assignment
                // would leak the old session.)
                if constexpr (Transport::secure) {
                    c->stream_.reset();
                    c->stream_.emplace(c->transport_.make_stream(c->resolver_.get_executor()));
                }
                at = step::resolve;
                return c->resolver_.async_resolve(
                    c->host_, c->port_,
                    [self = std::move(self), c = c](std::error_code e, asio::ip::tcp::resolver::results_type r) mutable {
                        c->endpoints_ = std::move(r);
                        self(e);
                    });
            case step::resolve:
                if (ec) return self.complete(ec);
                at = step::connect;
                return asio::async_connect(c->socket(), c->endpoints_,
                                           [self = std::move(self)](std::error_code e, const asio::ip::tcp::endpoint&) mutable {
                                               self(e);
                                           });
            case step::connect:
                if (ec) return fail(self, ec);
                if constexpr (Transport::secure) {
                    at = step::secure;
                    if (auto refused = c->transport_.prepare(*c->stream_, c->host_)) return fail(self, refused);
                    return c->stream_->async_handshake(Transport::client_side, std::move(self));
                }
                return write(self);
            case step::secure:
                if (ec) return fail(self, ec);
                return write(self);
            case step::write:
                if (ec) return fail(self, ec);
                break;
            case step::read:
                if (ec) return fail(self, ec);
                c->buffer_.commit(n);
                break;
            }
            read_head(self);
        }

    private:
        template <class Self>
        void write(Self& self) {
            c->parser_.reset();
            c->buffer_.consume(c->buffer_.size());
            at = step::write;
            asio::async_write(*c->stream_, asio::buffer(wire), std::move(self));
        }

        template <class Self>
        void read_head(Self& self) {
            while (true) {
                const event ev = c->pull();
                if (ev.type == event_type::head) {
                    c->parser_.head_into(c->head_);
                    return self.complete({});
                }
                if (ev.type == event_type::error) return fail(self, c->parser_.error());
                if (ev.type == event_type::need_more) break;
            }
            at = step::read;
            c->read_more(self);  // the parser's head limit bounds this (header_too_large)
        }

        template <class Self>
        void fail(Self& self, std::error_code ec) {
            c->close();
            self.complete(ec);
        }
    };

    struct body_op {
        basic_client_connection* c;
        bool started = false;
        bool posted = false;

        template <class Self>
        void operator()(Self& self, std::error_code ec = {}, std::size_t n = 0) {
            if (!posted) {
                // A buffered piece must not complete inside async_read_body.
                posted = true;
                return asio::post(c->get_executor(), std::move(self));
            }
            if (started) {
                if (ec == asio::error::eof) {
                    const event ev = c->parser_.finish();
                    c->close();
                    if (ev.type == event_type::end_of_message) return self.complete({}, {});
                    return self.complete(ev.type == event_type::error ? c->parser_.error() : ec, {});
                }
                if (ec) {
                    c->close();
                    return self.complete(ec, {});
                }
                c->buffer_.commit(n);
            }
            started = true;
            while (true) {
                const event ev = c->pull();
                switch (ev.type) {
                case event_type::body:
                    c->piece_.assign(ev.data);
                    return self.complete({}, c->piece_);
                case event_type::end_of_message:
                    if (!c->parser_.keep_alive()) c->close_gracefully();
                    return self.complete({}, {});
                case event_type::error: {
                    const auto failure = c->parser_.error();
                    c->close();
                    return self.complete(failure, {});
                }
                case event_type::need_more: return read(self);
                default: continue;
                }
            }
        }

    private:
        template <class Self>
        void read(Self& self) {
            const auto space = c->buffer_.prepare(16 * 1024);
            c->stream_->async_read_some(asio::buffer(space.data(), space.size()), std::move(self));
        }
    };

    Transport transport_;
    std::optional<stream_type> stream_;  // always holds one (see request_op for why optional)
    asio::ip::tcp::resolver resolver_;
    std::string host_;
    std::string port_;
    response_parser parser_;
    flat_buffer buffer_{1024 * 1024};
    response head_;
    std::string piece_;
    asio::ip::tcp::resolver::results_type endpoints_;
};

using client_connection = basic_client_connection<>;

}  // namespace herald::http

#endif
