// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_IMPL_WRITE_RESPONSE_OP_HPP
#define HERALD_ASIO_IMPL_WRITE_RESPONSE_OP_HPP

// Included at the end of http.hpp; including it first works too.
#include <herald/asio/http.hpp>

// How it works: the head is serialized into the connection's reused string, and
// head and body go out in one gathered write (no copy of the body; a body of up to
// small_body_copied bytes is copied behind the head instead, for one buffer). The write
// deadline (server_options::write_timeout) is armed when the write starts and again
// whenever the client takes more bytes, so only a client that stops reading is cut
// (the stream is cancelled, the operation completes with timed_out). After a
// response that ends the connection, or a failed write, the stream is shut down and
// closed.

#include <array>
#include <cstddef>
#include <string_view>

namespace herald::http {

// The largest body copied behind the head (see below).
inline constexpr std::size_t small_body_copied = 512;

template <class Stream>
struct write_response_op {
    server_connection<Stream>* conn;
    const response* res;
    bool started = false;

    template <class Self>
    void operator()(Self& self, std::error_code ec = {}, std::size_t = 0) {
        auto& c = *conn;
        if (!started) {
            started = true;
            if (auto local = c.prepare_head(*res)) return asio_detail::post_complete(self, c.get_executor(), local);
            const bool send_body = !c.head_request() && !status_has_no_body(res->status);
            const std::string_view body = send_body ? std::string_view(res->body) : std::string_view();
            // A small body is copied behind the head, so one buffer goes out by
            // send(), not two by sendmsg() (the kernel copies no message header or
            // vector in), as uWebSockets corks a whole response. Small: the kept
            // head stays small too (rest() frees it while a request is parked).
            if (body.size() <= small_body_copied) {
                c.io().head.append(body);
                asio::async_write(c.stream_, asio::buffer(c.io().head), progress{&c}, std::move(self));
                return;
            }
            const std::array<asio::const_buffer, 2> buffers{asio::buffer(c.io().head), asio::buffer(body)};
            asio::async_write(c.stream_, buffers, progress{&c}, std::move(self));
            return;
        }
        const bool late = ec && c.deadline_.expired();
        c.pause_deadline();
        if (ec) c.close();
        else if (!c.keep_alive_) c.close_gracefully();
        self.complete(late ? std::error_code{asio::error::timed_out} : ec);
    }

    // asio::async_write's completion condition (transfer_all's answers), which also
    // re-arms the write deadline each time the client has taken more bytes.
    struct progress {
        server_connection<Stream>* conn;
        std::size_t armed_at = ~std::size_t{0};
        std::size_t operator()(std::error_code ec, std::size_t written) {
            if (ec) return 0;
            if (written != armed_at) {
                armed_at = written;
                conn->arm(server_connection<Stream>::phase::write);
            }
            return 64 * 1024;
        }
    };
};

template <class Stream>
template <class Token>
auto server_connection<Stream>::async_write_response(const response& res, Token&& token) {
    return asio::async_compose<Token, void(std::error_code)>(write_response_op<Stream>{this, &res}, token, stream_);
}

}  // namespace herald::http

#endif
