// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_DETAIL_STREAM_OPS_HPP
#define HERALD_ASIO_DETAIL_STREAM_OPS_HPP

// Cancelling and closing "a stream" means different calls on a tcp::socket, an
// ssl::stream and herald's test stream; these helpers find the right one, so the
// operations stay templated on any AsyncReadStream.

#include <asio/error.hpp>
#include <asio/socket_base.hpp>

#include <asio/buffer.hpp>

#include <algorithm>
#include <cerrno>
#include <concepts>
#include <span>
#include <system_error>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/socket.h>
#include <sys/uio.h>
#endif

namespace herald::asio_detail {

// A socket, as opposed to TLS over one or herald's test stream: it can wait for
// readiness and read and write without blocking, which the WebSocket's hot paths
// use (a read into the thread's shared buffer, a write tried at once).
template <class Stream>
concept nonblocking_socket = requires(Stream& s, std::error_code& ec) {
    s.async_wait(asio::socket_base::wait_read, [](std::error_code) {});
    s.read_some(asio::mutable_buffer(), ec);
    s.write_some(asio::const_buffer(), ec);
    s.non_blocking(true, ec);
};

// Puts the socket in non-blocking mode once; false (and `ec`) when it cannot be
// (a closed socket).
template <nonblocking_socket Socket>
bool make_non_blocking(Socket& s, std::error_code& ec) noexcept {
    if (!s.non_blocking()) s.non_blocking(true, ec);
    return !ec;
}

// Whether a non-blocking call failed only because it would have had to wait.
// Success is told first: the comparisons below look up Asio's category each time,
// and every read and write of a hot path asks.
inline bool would_block(std::error_code ec) noexcept {
    return ec && (ec == asio::error::would_block || ec == asio::error::try_again);
}

// One read or write tried at once, without blocking: what it moved, with a
// would-block counted as 0 bytes and no error.
template <nonblocking_socket Socket, class Transfer>
std::size_t transfer_now(Socket& s, std::error_code& ec, Transfer transfer) noexcept {
    std::size_t n = 0;
    if (make_non_blocking(s, ec)) n = transfer(ec);
    if (would_block(ec)) ec = {};
    return n;
}

// The bytes the kernel took (0 when its send buffer is full), or the socket's error.
template <nonblocking_socket Socket, class ConstBufferSequence>
std::size_t write_now(Socket& s, const ConstBufferSequence& buffers, std::error_code& ec) noexcept {
    return transfer_now(s, ec, [&](std::error_code& e) { return s.write_some(buffers, e); });
}

// The bytes the socket held (0 when it held none: a wake-up can be spurious), or
// the socket's error, eof included.
template <nonblocking_socket Socket, class MutableBufferSequence>
std::size_t read_now(Socket& s, const MutableBufferSequence& buffers, std::error_code& ec) noexcept {
    return transfer_now(s, ec, [&](std::error_code& e) { return s.read_some(buffers, e); });
}

// A socket whose bytes can be sent once without blocking and without touching its
// mode (POSIX MSG_DONTWAIT): the HTTP loop writes its answers so, as the socket
// stays in blocking mode for an owner that takes it over (serve.hpp, write).
template <class Socket>
concept dontwait_socket = nonblocking_socket<Socket> && requires(Socket& s) {
    { s.native_handle() } -> std::convertible_to<int>;
};
#if defined(MSG_DONTWAIT) && defined(MSG_NOSIGNAL)
inline constexpr bool has_send_dontwait = true;
#else
inline constexpr bool has_send_dontwait = false;
#endif

// The bytes of `buffers` (at most two) the kernel took at once (0 when its send
// buffer is full, or the call was interrupted), or the socket's error.
template <dontwait_socket Socket>
std::size_t send_dontwait(Socket& s, std::span<const asio::const_buffer> buffers, std::error_code& ec) noexcept {
#if defined(MSG_DONTWAIT) && defined(MSG_NOSIGNAL)
    iovec vectors[2]{};
    std::size_t count = 0;
    for (const auto& b : buffers.first(std::min<std::size_t>(buffers.size(), 2)))
        if (b.size() != 0) vectors[count++] = {const_cast<void*>(b.data()), b.size()};
    if (count == 0) return 0;
    msghdr message{};
    message.msg_iov = vectors;
    message.msg_iovlen = static_cast<decltype(message.msg_iovlen)>(count);  // an int on BSDs
    const ssize_t n = count == 1 ? ::send(s.native_handle(), vectors[0].iov_base, vectors[0].iov_len, MSG_DONTWAIT | MSG_NOSIGNAL)
                                 : ::sendmsg(s.native_handle(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ec.assign(errno, asio::error::get_system_category());
    return 0;
#else
    (void)s;
    (void)buffers;
    ec = asio::error::operation_not_supported;
    return 0;
#endif
}

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

// TLS's close_notify before the connection closes (RFC 8446 §6.1: "Each party MUST
// send a close_notify alert before closing its write side of the connection"), so
// the peer can tell the end of the data from a cut: a client reading a body that
// ends with the connection, or an SSE stream, sees an end and not
// stream_truncated. Sent only if the kernel takes it now (the socket is made
// non-blocking for it) and the peer's own close_notify is not waited for (§6.1
// does not ask it), so no peer can hold a connection open by never answering.
// Only between writes: the alert in the middle of a record being written would
// cut that record. Nothing for a stream that is not TLS.
//
// OpenSSL is first told the peer's close_notify came (SSL_RECEIVED_SHUTDOWN, whose
// value tls.hpp checks), so shutdown() only writes ours and never reads: a read
// here would race the read the connection may have pending (an SSE stream watching
// for its client to leave, a parked long poll).
inline constexpr int ssl_received_shutdown = 2;

template <class Stream>
void send_close_notify(Stream& s) noexcept {
    std::error_code ec;
    if constexpr (requires { s.shutdown(ec); s.native_handle(); s.lowest_layer().non_blocking(true, ec); }) {
        s.lowest_layer().non_blocking(true, ec);
        if (ec) return;
        // Found by argument-dependent lookup on OpenSSL's SSL*, declared by asio/ssl.hpp.
        SSL_set_shutdown(s.native_handle(), SSL_get_shutdown(s.native_handle()) | ssl_received_shutdown);
        s.shutdown(ec);
    }
}

// A close after the last write: close_notify first over TLS, then close_stream().
template <class Stream>
void close_stream_gracefully(Stream& s) noexcept {
    send_close_notify(s);
    close_stream(s);
}

}  // namespace herald::asio_detail

#endif
