// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_DETAIL_STREAM_OPS_HPP
#define HERALD_ASIO_DETAIL_STREAM_OPS_HPP

// Cancelling and closing "a stream" means different calls on a tcp::socket, an
// ssl::stream and herald's test stream; these helpers find the right one, so the
// operations stay templated on any AsyncReadStream.

#include <asio/error.hpp>
#include <asio/socket_base.hpp>

#include <system_error>

namespace herald::asio_detail {

template <class Stream>
void cancel_stream(Stream& s) noexcept {
    std::error_code ignored;
    if constexpr (requires { s.cancel(ignored); }) {
        s.cancel(ignored);
    } else if constexpr (requires { s.cancel(); }) {
        s.cancel();
    } else if constexpr (requires { s.next_layer(); }) {
        cancel_stream(s.next_layer());
    }
}

// Sends FIN after the last response (RFC 9112 §9.6: close the sending side first so
// the client reads the whole response), then closes.
template <class Stream>
void close_stream(Stream& s) noexcept {
    std::error_code ignored;
    if constexpr (requires { s.shutdown(asio::socket_base::shutdown_send, ignored); }) {
        s.shutdown(asio::socket_base::shutdown_send, ignored);
        s.close(ignored);
    } else if constexpr (requires { s.close(ignored); }) {
        s.close(ignored);
    } else if constexpr (requires { s.close(); }) {
        s.close();
    } else if constexpr (requires { s.next_layer(); }) {
        close_stream(s.next_layer());
    }
}

}  // namespace herald::asio_detail

#endif
