// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_SERVER_HPP
#define HERALD_ASIO_SERVER_HPP

// Runs an HTTP server on any executor: accepts TCP connections and serves each
// with async_serve on a strand of its own, so a thread_pool (or an io_context run
// from several threads) serves connections in parallel without data races.
//
//   asio::io_context io;
//   http::server server{io.get_executor(), [](const http::request& req) {
//       return http::response{200, "text/plain", "hello\n"};
//   }};
//   server.listen({asio::ip::make_address("127.0.0.1"), 8080});
//   server.start();
//   io.run();
//
// http::server type-erases the executor (asio::any_io_executor); when it is known,
// http::basic_server<asio::io_context::executor_type> spares every I/O completion
// the copying of a type-erased executor (a measurable share of a busy server's
// time: docs/benchmarks.md).
//
// A server whose executor is run by one thread only (an io_context per thread, as
// uWebSockets runs one loop per thread) needs no strands: name the connections'
// executor too, http::basic_server<E, E> (alias http::single_thread_server<E>),
// and every completion skips the strand's queue and its lock. Run from several
// threads, that server has data races: the default keeps the strands.
//
// The third parameter turns each accepted socket into the stream its connection
// reads and writes: plain_transport serves the socket itself; tls::server_transport
// (herald/asio/tls.hpp) runs the TLS handshake first, with a deadline, and serves
// an asio::ssl::stream (stream_type).

#include <herald/asio/detail/connection_table.hpp>
#include <herald/asio/detail/descriptor_reserve.hpp>
#include <herald/asio/serve.hpp>

#include <asio/dispatch.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <algorithm>
#include <type_traits>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string_view>

namespace herald::http {

// Serves each accepted socket as it is: plain HTTP.
struct plain_transport {
    template <class Socket>
    using stream_type = Socket;

    template <class Socket, class Done>
    void start(Socket socket, Done done) const {
        done(std::error_code{}, std::move(socket));
    }
};

template <class Executor = asio::any_io_executor, class ConnectionExecutor = asio::strand<Executor>,
          class Transport = plain_transport>
class basic_server {
public:
    using executor_type = Executor;
    // Each connection's socket runs on a strand of the server's executor (or on the
    // executor itself: see above).
    using socket_type = asio::basic_stream_socket<asio::ip::tcp, ConnectionExecutor>;
    // What a connection reads and writes: the socket, or the TLS stream over it.
    using stream_type = typename Transport::template stream_type<socket_type>;
    using connection_type = server_connection<stream_type>;
    using async_handler = std::function<void(const request&, responder)>;

    // `handler` is either form async_serve accepts; it is called on the
    // connection's executor (its strand, unless single_thread_server). Every
    // connection calls the same handler object, so with strands (several threads)
    // it is called from several threads at once and must be callable as const: a
    // mutable lambda is refused at compile time there.
    template <class Handler>
    basic_server(Executor ex, Handler handler, server_options options = {}, Transport transport = {})
        : executor_(std::move(ex)), acceptor_(asio::make_strand(executor_)), accept_delay_(acceptor_.get_executor()),
          options_(std::make_shared<const server_options>(std::move(options))), transport_(std::move(transport)),
          handler_(std::make_shared<const async_handler>(wrap(std::move(handler)))) {}

    basic_server(const basic_server&) = delete;
    basic_server& operator=(const basic_server&) = delete;
    // Connections still open are closed. Destroy the server on its executor's thread
    // or after the execution context stopped, as with any Asio I/O object.
    ~basic_server() {
        life_->alive = false;
        std::error_code ignored;
        acceptor_.close(ignored);
        accept_delay_.cancel();
        close_connections();
    }

    // Binds and listens. The port may be 0: local_endpoint() tells which one it got.
    std::error_code listen(const asio::ip::tcp::endpoint& endpoint, int backlog = asio::socket_base::max_listen_connections) {
        std::error_code ec;
        acceptor_.open(endpoint.protocol(), ec);
        if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec) acceptor_.bind(endpoint, ec);
        if (!ec) acceptor_.listen(backlog, ec);
        if (!ec) acceptor_.non_blocking(true, ec);  // refusing at the limit must never block
        if (ec) acceptor_.close();
        return ec;
    }

    asio::ip::tcp::endpoint local_endpoint() const {
        std::error_code ignored;
        return acceptor_.local_endpoint(ignored);
    }

    void start() { accept(); }

    // Stops accepting and closes every open connection. Thread-safe.
    void stop() {
        life_->stopped = true;  // a TLS handshake that ends after this is not served
        asio::post(acceptor_.get_executor(), [life = life_, this] {
            if (!life->alive) return;
            std::error_code ignored;
            acceptor_.close(ignored);
            accept_delay_.cancel();
        });
        close_connections();
    }

    // Closes every open connection (handed-off streams included) but keeps
    // accepting: clients reconnect, as after a network blip. Thread-safe.
    void disconnect_all() { close_connections(); }

    std::size_t connection_count() const { return connections_->size(); }

    // Called with each connection's final error ({} for a normal end or a hand-off);
    // for logging. Set it before start(): connections read it on their own threads.
    void on_connection_end(std::function<void(std::error_code)> fn) { life_->on_end = std::move(fn); }

    // Called once each time accepting runs into the process's descriptor limit
    // (EMFILE, ENFILE) or out of memory for a socket, with that error; for one log
    // line. Until descriptors free up, clients waiting in the backlog are refused
    // (accepted and closed at once) and accepting is retried after a backoff from
    // 10 ms to 1 s, never in a spin.
    void on_accept_limit(std::function<void(std::error_code)> fn) { on_limit_ = std::move(fn); }

private:
    void close_connections() { connections_->close_all(); }

    // What each connection's loop calls: the server's handler through a pointer it
    // shares (16 bytes per connection, where a copy of the std::function was 32 and
    // a heap block more when the user's handler owned over 16 bytes). A connection
    // may outlive the server, so it is shared, not borrowed.
    struct shared_handler {
        std::shared_ptr<const async_handler> handler;
        void operator()(const request& req, responder respond) const { (*handler)(req, std::move(respond)); }
    };

    template <class Handler>
    static async_handler wrap(Handler handler) {
        static_assert(std::is_same_v<Executor, ConnectionExecutor> ||
                          std::is_invocable_r_v<response, const Handler&, const request&> ||
                          std::is_invocable_v<const Handler&, const request&, responder>,
                      "a server whose connections run on strands calls its one handler from several "
                      "threads at once: the handler's call operator must be const (no mutable lambda)");
        if constexpr (std::is_invocable_r_v<response, Handler&, const request&>) {
            return [h = std::move(handler)](const request& req, responder respond) mutable { respond(h(req)); };
        } else {
            return async_handler(std::move(handler));
        }
    }

    void accept() {
        acceptor_.async_accept(connection_executor(), [this, life = life_](std::error_code ec, socket_type socket) {
            if (!life->alive || ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
            if (asio_detail::out_of_descriptors(ec)) return at_limit(ec);
            if (!ec) {
                limit_delay_ = {};
                serve(std::move(socket));
            }
            accept();  // another failed accept (a client that reset first) must not stop the server
        });
    }

    ConnectionExecutor connection_executor() const {
        if constexpr (std::is_same_v<ConnectionExecutor, Executor>) return executor_;
        else return asio::make_strand(executor_);
    }

    // See on_accept_limit() and asio_detail::descriptor_reserve.
    void at_limit(std::error_code ec) {
        if (limit_delay_ == std::chrono::milliseconds{}) {
            if (on_limit_) on_limit_(ec);  // once per episode
            limit_delay_ = std::chrono::milliseconds(10);
        } else {
            limit_delay_ = std::min<std::chrono::milliseconds>(limit_delay_ * 2, std::chrono::seconds(1));
        }
        reserve_.refuse_waiting(acceptor_.native_handle());
        accept_delay_.expires_after(limit_delay_);
        accept_delay_.async_wait([this, life = life_](std::error_code wait_ec) {
            if (wait_ec || !life->alive || !acceptor_.is_open()) return;
            accept();
        });
    }

    void serve(socket_type socket) {
        std::error_code ignored;
        // Connections in their TLS handshake count too: a flood of handshakes must
        // not pass the limit.
        if (options_->max_connections && connection_count() + life_->handshakes >= options_->max_connections) return refuse(socket);
        socket.set_option(asio::ip::tcp::no_delay(true), ignored);  // small pushes must not wait for Nagle
        if constexpr (std::is_same_v<stream_type, socket_type>) {
            register_and_serve(std::move(socket));
        } else {
            ++life_->handshakes;
            transport_.start(std::move(socket), [this, life = life_](
                                                    std::error_code ec, stream_type stream) mutable {
                --life->handshakes;
                // A failed handshake, or one that ended after stop(): the stream just goes.
                if (!ec && life->alive && !life->stopped) register_and_serve(std::move(stream));
            });
        }
    }

    void register_and_serve(stream_type stream) {
        // The connection leaves the table when it is destroyed, not when serving
        // ends: a connection handed off (a WebSocket) is still tracked, so stop()
        // closes it too, and a stream that takes it over takes its ticket.
        auto conn = std::make_shared<connection_type>(std::move(stream), options_);
        conn->hold_ticket(connections_->add(conn, [](const std::shared_ptr<void>& owner) {
            auto c = std::static_pointer_cast<connection_type>(owner);
            asio::post(c->get_executor(), [c] { c->close(); });
        }));
        asio::dispatch(conn->get_executor(), [conn, handler = handler_, life = life_]() mutable {
            // The completion runs on the connection's executor without a binding:
            // it is the socket's, a composed operation's default (and a parked
            // operation, one of many thousands, is smaller by an executor for it:
            // 8 bytes on one thread, 24 with a strand). It holds one pointer pair,
            // not `this` beside it (8 bytes more a parked operation).
            async_serve(std::move(conn), shared_handler{std::move(handler)}, [life = std::move(life)](std::error_code ec) {
                if (life->alive && life->on_end) life->on_end(ec);
            });
        });
    }

    // Past max_connections: 503 (RFC 9110 §15.6.4) with Retry-After, written at once
    // without waiting (a client that does not read it loses nothing it was promised),
    // and the connection closed. Nothing of the request is read. Over TLS (no
    // handshake yet) the connection is closed only.
    static void refuse(socket_type& socket) {
        if constexpr (!std::is_same_v<stream_type, socket_type>) {
            std::error_code ignored;
            socket.close(ignored);
            return;
        }
        static constexpr std::string_view busy =
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain\r\n"
            "Content-Length: 21\r\nConnection: close\r\n\r\ntoo many connections\n";
        std::error_code ignored;
        socket.non_blocking(true, ignored);
        socket.write_some(asio::buffer(busy), ignored);
        socket.shutdown(asio::socket_base::shutdown_send, ignored);
        socket.close(ignored);
    }

    Executor executor_;
    // The acceptor, its backoff timer and stop() share a strand: on a thread pool
    // stop() must not close the acceptor while an accept handler uses it.
    asio::ip::tcp::acceptor acceptor_;
    asio::steady_timer accept_delay_;  // the backoff at the descriptor limit
    std::chrono::milliseconds limit_delay_{};  // zero: not at the limit
    asio_detail::descriptor_reserve reserve_;
    std::shared_ptr<const server_options> options_;  // shared with every connection
    Transport transport_;
    std::shared_ptr<const async_handler> handler_;
    std::function<void(std::error_code)> on_limit_;
    // Shared with the handlers that may outlive the server: whether it is still
    // there (read on any thread, cleared by the destructor: atomic), whether stop()
    // ran, the TLS handshakes under way, and what a connection's end calls (set
    // before start()).
    struct lifetime {
        std::atomic<bool> alive{true};
        std::atomic<bool> stopped{false};
        std::atomic<std::size_t> handshakes{0};
        std::function<void(std::error_code)> on_end;
    };
    std::shared_ptr<lifetime> life_ = std::make_shared<lifetime>();
    std::shared_ptr<asio_detail::connection_table> connections_ = std::make_shared<asio_detail::connection_table>();
};

using server = basic_server<>;

// For an executor run by one thread only: connections without strands.
template <class Executor, class Transport = plain_transport>
using single_thread_server = basic_server<Executor, Executor, Transport>;

}  // namespace herald::http

#endif
