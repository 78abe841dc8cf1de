// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_HTTP_HPP
#define HERALD_ASIO_HTTP_HPP

// The server side of one HTTP/1.1 connection over any AsyncReadStream and
// AsyncWriteStream (tcp::socket, ssl::stream, herald::test::stream).
//
//   http::server_connection<tcp::socket> conn{std::move(socket)};
//   conn.async_read_request(token);     // -> (error_code); the request is conn.request()
//   conn.async_write_response(res, token);  // -> (error_code)
//
// All protocol decisions live in the sans-I/O core (request_parser, serializer);
// this layer moves bytes, arms the idle, header, body and write deadlines, sends
// `100 Continue` when a client waits for it, and answers a parse error with the
// status the core names (400, 413, 414, 431, 501, 505) before closing.
//
// Thread safety: like a socket, one operation of each kind at a time, and all of
// them on the connection's executor (a strand when the executor is a pool).

#include <herald/asio/detail/connection_table.hpp>
#include <herald/asio/detail/deadline.hpp>
#include <herald/asio/detail/exact_allocator.hpp>
#include <herald/asio/detail/post_complete.hpp>
#include <herald/asio/detail/stream_ops.hpp>
#include <herald/buffer.hpp>
#include <herald/http/message.hpp>
#include <herald/http/parser.hpp>
#include <herald/http/serializer.hpp>
#include <herald/memory_budget.hpp>

#include <asio/async_result.hpp>
#include <asio/buffer.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/compose.hpp>
#include <asio/error.hpp>
#include <asio/socket_base.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>

namespace herald::http {

struct server_options {
    http::limits limits;
    // Waiting for the first byte of a request on a kept-alive connection.
    std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds(60);
    // From the first byte of a request to the end of its head: slow-loris protection.
    std::chrono::steady_clock::duration header_timeout = std::chrono::seconds(10);
    // From the end of the head to the end of the body.
    std::chrono::steady_clock::duration body_timeout = std::chrono::seconds(60);
    // Writing an answer: the longest the client may take no bytes of it (nginx's
    // send_timeout). A client that never reads would otherwise hold the connection
    // and the whole answer for ever; when it passes the connection is closed.
    std::chrono::steady_clock::duration write_timeout = std::chrono::seconds(30);
    std::size_t read_size = 16 * 1024;  // bytes asked of each read_some
    bool send_date = true;
    // http::basic_server only: open connections (handed-off streams included) past
    // which a new one is answered 503 with Retry-After and closed; 0: no cap but the
    // process's descriptor limit (see basic_server::on_accept_limit).
    std::size_t max_connections = 0;
    // Request bodies are held against it while they are read (herald/memory_budget.hpp):
    // one it cannot hold is answered 503 with Retry-After and the connection closed.
    memory_budget* budget = nullptr;
};

// The largest body an answer copies behind its head (server_connection::prepare_answer).
inline constexpr std::size_t small_body_copied = 512;

template <class Stream>
class server_connection {
public:
    using executor_type = typename Stream::executor_type;
    using next_layer_type = Stream;

    explicit server_connection(Stream stream, const server_options& options = {})
        : server_connection(std::move(stream), std::make_shared<const server_options>(options)) {}
    // Shares `options` (a server's, with all its connections): a pointer each, not
    // a copy of 96 bytes (docs/benchmarks.md, memory per connection).
    server_connection(Stream stream, std::shared_ptr<const server_options> options)
        : stream_(std::move(stream)), options_(std::move(options)),
          deadline_(stream_.get_executor(), expire{this}) {}

    server_connection(const server_connection&) = delete;
    server_connection& operator=(const server_connection&) = delete;

    executor_type get_executor() noexcept { return stream_.get_executor(); }
    Stream& next_layer() noexcept { return stream_; }
    const server_options& options() const noexcept { return *options_; }

    // The request read by the last async_read_request. A request parked for long
    // (async_serve, responder::on_abandon) is let go of while it waits: request()
    // is then empty (a default GET /), as after a new connection, and only the
    // facts its answer needs are kept (head_request()).
    http::request& request() { return held().request; }
    const http::request& request() const noexcept {
        static const http::request none;
        return request_ ? request_->request : none;
    }

    // Whether the request being answered is a HEAD, let go of or not: its answer,
    // a response or a stream handed this connection, has no content (RFC 9110 §9.3.2).
    bool head_request() const noexcept { return let_go_.held ? let_go_.head : request().method == "HEAD"; }

    // False once a response said or implied `Connection: close`, or the stream ended.
    bool keep_alive() const noexcept { return keep_alive_; }

    // Bytes read past the last request: the first bytes of an upgraded protocol, or
    // pipelined requests. An upgrade takes them with take_buffered().
    std::string_view buffered() const noexcept { return io_ ? io_->buffer.data() : std::string_view{}; }
    // The read buffer's memory: none while the connection waits with nothing
    // buffered after a parked request or before its first (docs/http.md).
    std::size_t read_buffer_capacity() const noexcept { return io_ ? io_->buffer.capacity() : 0; }
    flat_buffer take_buffered() noexcept { return io_ ? std::move(io_->buffer) : flat_buffer{}; }

    // Reads one whole request (head and body) into request().
    // Completes with: {} | asio::error::eof (closed between requests) |
    // asio::error::timed_out | an http::error (already answered when it has a status)
    // | the stream's error.
    template <class Token>
    auto async_read_request(Token&& token);

    // Writes `res` (which must outlive the operation) as the answer to the last request:
    // adds Date, Content-Length and `Connection: close` as needed, sends no body to
    // HEAD, and closes the stream after a response that ends the connection.
    template <class Token>
    auto async_write_response(const http::response& res, Token&& token);

    // Closes the stream now; pending operations complete with operation_aborted,
    // async_serve's wait for a late answer included.
    void close() noexcept {
        deadline_.cancel();
        keep_alive_ = false;
        asio_detail::close_stream(stream_);
        closing_.emit(asio::cancellation_type::all);
    }

    // close() after the last response has been written: over TLS, close_notify
    // first (RFC 8446 §6.1), so the client sees an end and not a truncation. Only
    // when nothing is being written on the stream.
    void close_gracefully() noexcept {
        asio_detail::send_close_notify(stream_);
        close();
    }

    // Emitted by close(): operations that wait on something other than the stream
    // bind their wait to this slot.
    asio::cancellation_slot close_slot() noexcept { return closing_.slot(); }

    // The connection's place in its server's table (server::stop, max_connections),
    // given by the server. A new owner that takes the stream out of a handed-off
    // connection and outlives it (sse::event_stream) takes the ticket too.
    void hold_ticket(asio_detail::connection_table::ticket ticket) noexcept { ticket_ = std::move(ticket); }
    asio_detail::connection_table::ticket take_ticket() noexcept { return std::move(ticket_); }

private:
    template <class>
    friend struct read_request_op;
    template <class>
    friend struct write_response_op;
    template <class, class>
    friend struct serve_op;

    // What reading a request and writing its answer need, and a connection that
    // waits does not: made for the first request, and again after rest().
    struct io_state {
        explicit io_state(const server_options& o)
            : parser(o.limits), buffer(o.limits.max_header_bytes + o.read_size) {}
        request_parser parser;
        flat_buffer buffer;
        std::string head;  // the answer's head (and a small body), serialized
    };
    io_state& io() {
        if (!io_) io_ = std::make_unique<io_state>(*options_);
        return *io_;
    }
    request_parser& parser() { return io().parser; }
    flat_buffer& buffer() { return io().buffer; }
    // Between requests, with a whole request read and nothing buffered after it (a
    // request parked, or the connection handed off): the parser, the read buffer
    // and the last answer's head are let go of, so a parked long poll or an SSE
    // stream keeps none of them, nor the 80 bytes that hold them (the next request
    // makes them again). Bytes buffered after the request keep them all.
    void rest() noexcept {
        if (!io_) return;
        if (io_->buffer.empty()) io_.reset();
        else std::string().swap(io_->head);
    }

    // For async_serve while a request waits for its answer (serve.hpp): completes
    // `done(ec)` when the client sent something (kept in the buffer for the next
    // request; possibly nothing after all, {}) or left (eof, a reset). Only with
    // nothing buffered. A read into the kept buffer: Asio tries it at once and then
    // waits with no epoll_ctl, the cheaper watch for an answer that comes soon
    // (short polls, a hub's answers).
    template <class Done>
    void watch(Done done) {
        const auto space = buffer().prepare(options_->read_size);
        stream_.async_read_some(asio::buffer(space.data(), space.size()),
                                [this, done = std::move(done)](std::error_code ec, std::size_t n) mutable {
                                    if (!ec) buffer().commit(n);
                                    done(ec);
                                });
    }

    // For async_serve while a request is parked for long (a long poll, serve.hpp):
    // lets go of the read buffer, the parser (rest()) and the request, and completes `handler(ec)`
    // when the socket is readable (read_ready() then tells what came) or the wait
    // was cancelled. The socket is left in non-blocking mode, as WebSocket and SSE
    // streams put it anyway.
    template <class Handler>
    void wait_readable(Handler&& handler) {
        rest();
        let_go_of_request();
        stream_.async_wait(asio::socket_base::wait_read, asio_detail::for_long_wait(std::forward<Handler>(handler)));
    }

    // What a readable socket holds, read without blocking: {} (nothing there after
    // all is no error), eof or the stream's error.
    std::error_code read_ready() {
        std::error_code ec;
        auto& buffer = this->buffer();
        const auto space = buffer.prepare(options_->read_size);
        buffer.commit(asio_detail::read_now(stream_, asio::buffer(space.data(), space.size()), ec));
        if (buffer.empty()) io_.reset();  // nothing came
        return ec;
    }
    void end_after_response() noexcept { keep_alive_ = false; }

    // The request with what reading and answering it hold: made for the first
    // request, let go of while a request is parked (let_go_of_request), so that a
    // parked connection keeps one pointer, not the 32 bytes these take.
    struct request_state {
        explicit request_state(memory_budget* budget) noexcept : body_held(budget) {}
        http::request request;
        budget_share body_held;                          // request.body's bytes
        std::unique_ptr<http::response> error_response;  // the answer to a bad request, made for one
    };
    request_state& held() {
        if (!request_) request_ = std::make_unique<request_state>(options_->budget);
        return *request_;
    }

    // A parked request keeps only the two facts its answer needs, not its target,
    // fields and body (a long poll is one of many thousands: docs/benchmarks.md).
    void let_go_of_request() noexcept {
        if (!request_) return;
        // Parked again after a spurious wake-up: request() made since is an empty
        // one, not the request answered, whose facts are kept already.
        if (!let_go_.held) let_go_ = {true, request_->request.method == "HEAD", request_->request.keep_alive()};
        request_.reset();  // its body's bytes go back to the budget
    }
    bool request_keeps_alive() const noexcept { return let_go_.held ? let_go_.keep_alive : request().keep_alive(); }

    enum class phase : std::uint8_t { idle, head, body, write };

    // The last request's body goes back to the budget, and a large buffer is freed
    // rather than kept by an idle keep-alive connection.
    void forget_body() noexcept {
        if (!request_) return;
        free_if_large(request_->request.body);
        request_->body_held.release();
    }

    // Between two phases. Under async_serve the next phase arms the deadline soon,
    // so the sweep's wait is left to end by itself (detail/deadline.hpp); alone,
    // nothing may follow, so it ends now rather than hold the executor's work.
    void pause_deadline() noexcept {
        if (serving_) deadline_.disarm();
        else deadline_.cancel();
    }

    // How finely the deadline must be noticed (detail/deadline.hpp).
    static std::chrono::steady_clock::duration shortest_timeout(const server_options& o) noexcept {
        auto shortest = std::chrono::steady_clock::duration::max();
        for (const auto t : {o.idle_timeout, o.header_timeout, o.body_timeout, o.write_timeout})
            if (t > t.zero()) shortest = std::min(shortest, t);
        return shortest;
    }

    void arm(phase p) {
        phase_ = p;
        const auto after = p == phase::idle   ? options_->idle_timeout
                           : p == phase::head ? options_->header_timeout
                           : p == phase::body ? options_->body_timeout
                                              : options_->write_timeout;
        deadline_.arm(after, [this] { return shortest_timeout(*options_); });
    }

    // The answer to the last request, laid out: its head serialized into io().head,
    // with a body of up to small_body_copied bytes copied behind it, so that one
    // buffer goes out by send(), not two by sendmsg() (the kernel copies no message
    // header or vector in), as uWebSockets corks a whole response. Small: the kept
    // head stays small too (rest() frees it while a request is parked).
    std::error_code prepare_answer(const http::response& res) {
        if (auto ec = prepare_head(res)) return ec;
        if (const auto body = answer_body(res); body.size() <= small_body_copied) io().head.append(body);
        return {};
    }
    // The prepared answer's bytes: the head, then a larger body written from `res`
    // uncopied (an empty buffer when there is none).
    std::array<asio::const_buffer, 2> answer_bytes(const http::response& res) {
        const auto body = answer_body(res);
        return {asio::buffer(io().head), body.size() > small_body_copied ? asio::buffer(body) : asio::const_buffer()};
    }
    // The answer's content: none to HEAD (RFC 9110 §9.3.2) or for a status without one.
    std::string_view answer_body(const http::response& res) const noexcept {
        return head_request() || status_has_no_body(res.status) ? std::string_view() : std::string_view(res.body);
    }
    // Once the answer is written, or its write failed: the stream is closed after
    // a failure or an answer that ends the connection. The write's result, timed_out
    // when its deadline cut it.
    std::error_code answer_written(std::error_code ec) noexcept {
        const bool late = ec && deadline_.expired();
        pause_deadline();
        if (ec) close();
        else if (!keep_alive_) close_gracefully();
        return late ? std::error_code{asio::error::timed_out} : ec;
    }
    // async_write_response for an answer prepared already, `written` bytes of it out.
    template <class Token>
    auto async_write_rest(const http::response& res, std::size_t written, Token&& token);

    // Serializes the head of `res` into io().head and reports whether the connection
    // goes on after it.
    std::error_code prepare_head(const http::response& res) {
        auto& io = this->io();
        io.head.clear();
        keep_alive_ = keep_alive_ && request_keeps_alive() && res.keep_alive() && !io.parser.error();
        head_options options;
        options.keep_alive = keep_alive_;
        // One cache per thread, not per connection: the date changes once a second
        // for all of them.
        static thread_local date_cache dates;
        if (options_->send_date) options.date = dates.get(std::chrono::system_clock::now());
        return serialize_head(res, io.head, options);
    }

    Stream stream_;
    std::shared_ptr<const server_options> options_;
    std::unique_ptr<io_state> io_;  // see io()
    // A passed deadline cancels the stream: the pending read or write completes
    // with operation_aborted and the operation sees deadline_.expired().
    struct expire {
        server_connection* connection;
        void operator()() const { asio_detail::cancel_stream(connection->stream_); }
    };
    asio_detail::deadline<executor_type, expire> deadline_;
    std::unique_ptr<request_state> request_;  // see held()
    // The facts stay the answer's even if request() is asked for meanwhile (it then
    // makes an empty request), until the next read.
    struct request_facts {
        bool held = false;  // a request was let go of
        bool head = false;
        bool keep_alive = true;
    } let_go_;  // the last request's, once it is let go of (let_go_of_request)
    // Beside let_go_, in the word it leaves: 8 bytes less a connection.
    phase phase_ = phase::idle;
    bool serving_ = false;  // async_serve drives the connection (pause_deadline)
    bool keep_alive_ = true;
    asio::cancellation_signal closing_;
    asio_detail::connection_table::ticket ticket_;
};

}  // namespace herald::http

#include <herald/asio/impl/read_request_op.hpp>
#include <herald/asio/impl/write_response_op.hpp>

#endif
