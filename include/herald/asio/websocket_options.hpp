// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_WEBSOCKET_OPTIONS_HPP
#define HERALD_ASIO_WEBSOCKET_OPTIONS_HPP

// What a websocket::stream (asio/websocket.hpp) is made with: the protocol's
// limits, the handshake's choices and the stream's own bounds.

#include <herald/http/parser.hpp>
#include <herald/websocket/connection.hpp>
#include <herald/websocket/handshake.hpp>

#include <chrono>
#include <cstddef>

namespace herald::websocket {

namespace detail {
// The largest read: the rest of a large frame in one recv, and the size of the
// thread's receive buffer (impl/websocket_read_op.hpp).
inline constexpr std::size_t max_read_size = 256 * 1024;
}  // namespace detail

struct stream_options {
    websocket::limits limits{};
    websocket::server_options handshake{};  // the server's checks and subprotocols
    websocket::client_options client{};     // what a client offers
    http::limits request_limits{};           // async_accept(token) reading the request itself
    std::size_t max_queued_bytes = 4 * 1024 * 1024;  // output not yet written
    std::size_t read_size = 16 * 1024;
    // On a socket a stream keeps no read buffer between messages: it waits for
    // readability and reads into the thread's shared buffer, one syscall more per
    // read than a pending read (Asio re-arms epoll for each wait). Non-zero: while
    // the peer's bytes come in reads smaller than this, the stream keeps a buffer
    // of this size (at most 256 KiB) and reads straight into it instead. Speed for many small
    // messages (about 3% at 16 B) against memory (this much more per connection
    // that has sent anything): docs/benchmarks.md.
    std::size_t small_read_buffer = 0;
    // After async_close, how long the peer has to answer with its close before the
    // transport is closed anyway: a peer that stopped reading (the usual reason to
    // close it with 1008) never will. RFC 6455 §7.1.1 lets the server close TCP
    // first. Zero: wait for as long as the peer takes.
    std::chrono::milliseconds close_timeout{5000};
};

}  // namespace herald::websocket

#endif
