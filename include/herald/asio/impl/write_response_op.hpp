// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_IMPL_WRITE_RESPONSE_OP_HPP
#define HERALD_ASIO_IMPL_WRITE_RESPONSE_OP_HPP

// Included at the end of http.hpp; including it first works too.
#include <herald/asio/http.hpp>

// How it works: the answer is laid out (server_connection::prepare_answer: the
// head serialized into the connection's reused string, a small body copied behind
// it) and written with async_write: one buffer, or the head and a larger body
// gathered, uncopied. async_serve on a socket tries the write at once first
// (serve.hpp) and hands the rest, if any, to this operation (async_write_rest).
// The write deadline (server_options::write_timeout) is armed when the write
// starts and again whenever the client takes more bytes, so only a client that
// stops reading is cut (the stream is cancelled, the operation completes with
// timed_out). After a response that ends the connection, or a failed write, the
// stream is shut down and closed.

#include <array>
#include <cstddef>

namespace herald::http {

template <class Stream>
struct write_response_op {
    server_connection<Stream>* conn;
    const response* res;
    // async_write_rest: the answer is laid out already, and `written` bytes of it
    // are out (possibly none).
    bool laid_out = false;
    std::size_t written = 0;
    bool started = false;

    template <class Self>
    void operator()(Self& self, std::error_code ec = {}, std::size_t = 0) {
        auto& c = *conn;
        if (!started) {
            started = true;
            if (!laid_out)
                if (auto local = c.prepare_answer(*res)) return asio_detail::post_complete(self, c.get_executor(), local);
            auto bytes = c.answer_bytes(*res);
            for (std::size_t skip = written; auto& b : bytes) {
                const std::size_t n = std::min(skip, b.size());
                b += n;
                skip -= n;
            }
            // One buffer when the body is behind the head: Asio sends it with send().
            if (bytes[1].size() == 0) return asio::async_write(c.stream_, bytes[0], progress{&c}, std::move(self));
            return asio::async_write(c.stream_, bytes, progress{&c}, std::move(self));
        }
        self.complete(c.answer_written(ec));
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

template <class Stream>
template <class Token>
auto server_connection<Stream>::async_write_rest(const response& res, std::size_t written, Token&& token) {
    return asio::async_compose<Token, void(std::error_code)>(write_response_op<Stream>{this, &res, true, written}, token, stream_);
}

}  // namespace herald::http

#endif
