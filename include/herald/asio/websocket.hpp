// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_WEBSOCKET_HPP
#define HERALD_ASIO_WEBSOCKET_HPP

// A WebSocket over any AsyncReadStream + AsyncWriteStream: the sans-I/O
// websocket::connection does the protocol, this moves its bytes.
//
//   websocket::stream<tcp::socket> ws{std::move(socket)};
//   ws.async_accept(request, token);          // the upgrade request, already parsed
//   ws.async_read(buffer, token);             // -> (ec, opcode): one whole message
//   ws.async_read_each(on_message, token);    // on_message(opcode, view) for each, until it says stop
//   ws.async_write(opcode::text, data, token); // -> (ec)
//   ws.send(opcode::text, data);              // -> ec at once: queued or refused
//   ws.async_close(1000, "bye", token);       // -> (ec)
//
// How it works: reads pull bytes into a buffer and hand them to the connection,
// which reports messages, pings (answered at once), the peer's close and protocol
// errors; every frame the connection wants sent lands in its output, and one
// flush at a time writes all that is pending in one gathered write (on a socket,
// tried at once: impl/websocket_write_op.hpp), so small frames from many
// async_write calls share a syscall. async_write may be called
// again before an earlier one completed: frames go out in call order, and each
// operation completes once its frame is written. The pending output is bounded:
// a write issued while max_queued_bytes are already waiting completes with
// error::send_queue_full instead of growing the queue (backpressure), and one past
// the process's memory budget (limits.budget) with budget_error::exhausted; the
// caller slows down, drops, or closes.
//
// Thread safety: like a socket. One read (async_read or async_read_each) at a
// time; writes, pings and close may overlap each other and the read; all on the
// stream's executor. As with any Asio I/O object, keep the stream alive until its
// operations complete.

#include <herald/asio/detail/lifeline.hpp>
#include <herald/asio/detail/post_complete.hpp>
#include <herald/asio/detail/stream_ops.hpp>
#include <herald/asio/detail/websocket_output.hpp>
#include <herald/asio/websocket_options.hpp>
#include <herald/buffer.hpp>
#include <herald/http/message.hpp>
#include <herald/http/parser.hpp>
#include <herald/http/serializer.hpp>
#include <herald/websocket/connection.hpp>
#include <herald/timing/heartbeat.hpp>
#include <herald/websocket/handshake.hpp>

#include <asio/buffer.hpp>
#include <asio/compose.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace herald::websocket {

namespace detail {
template <class OnMessage>
struct each_message;  // impl/websocket_read_op.hpp
}  // namespace detail

template <class NextLayer>
class stream {
public:
    using executor_type = typename NextLayer::executor_type;

    // A server-side stream; `buffered` holds bytes read past the upgrade request
    // (http::server_connection::take_buffered()), which are the first frames.
    explicit stream(NextLayer next, const stream_options& options = {}, flat_buffer buffered = flat_buffer())
        : next_(std::move(next)), settings_(options), conn_(role::server, options.limits), in_(std::move(buffered)),
          opening_(std::make_unique<opening>(options)), output_(options.limits.budget) {
        // On a socket in_ takes what one read leaves after a message (the buffer
        // handed over from the upgrade was sized for a request).
        if constexpr (asio_detail::nonblocking_socket<NextLayer>)
            in_.max_size(std::max(in_.max_size(), detail::max_read_size));
    }

    // A client-side stream: `random` gives 32 random bits for each mask key and
    // for the handshake's nonce (RFC 6455 §10.3; seed it from std::random_device).
    stream(NextLayer next, std::function<std::uint32_t()> random, const stream_options& options = {})
        : stream(std::move(next), options, one_source(std::move(random))) {}

    executor_type get_executor() noexcept { return next_.get_executor(); }
    NextLayer& next_layer() noexcept { return next_; }
    const websocket::connection& protocol() const noexcept { return conn_; }

    // Answers the upgrade request `req`: 101 when it is a valid WebSocket upgrade,
    // else the refusal (400, 403, 405, 426) and the error. -> (ec)
    template <class Token>
    auto async_accept(const http::request& req, Token&& token) {
        // Answered now: with a deferred token `req` may be gone when the operation runs.
        const std::error_code refused = prepare_answer(req, {});
        return asio::async_compose<Token, void(std::error_code)>(accept_op{this, false, refused}, token, next_);
    }

    // Reads the upgrade request from the stream itself (a bare socket from an
    // acceptor), then answers it as above. A request that is not HTTP gets 400
    // (431 for one over the header limits). -> (ec)
    template <class Token>
    auto async_accept(Token&& token) {
        return asio::async_compose<Token, void(std::error_code)>(accept_op{this, true, {}}, token, next_);
    }

    // Client side, on a connected NextLayer: sends the upgrade request for `target`
    // on `host` (the Host field's value) and checks the 101 (RFC 6455 §4.1).
    // -> (ec): error::not_switching, bad_accept, ... or the stream's error. Frames
    // that came with the 101 are kept. websocket::async_connect (websocket_connect.hpp)
    // does the resolving and connecting for a ws:// URI.
    template <class Token>
    auto async_handshake(std::string_view host, std::string_view target, Token&& token) {
        if (opening_) {
            auto& o = *opening_;
            o.key = make_key(o.random);
            o.bytes.clear();
            const auto& client = o.client;
            (void)http::serialize_head(
                upgrade_request(host, target, o.key, client.subprotocols, client.origin, deflate_offer(client.deflate)), o.bytes);
        }
        return asio::async_compose<Token, void(std::error_code)>(handshake_op{this}, token, next_);
    }

    // Heartbeats (timing/heartbeat.hpp): a ping when nothing was sent for
    // keepalive_interval; a ping as a probe when nothing was received for
    // idle_timeout, and the transport closed when pong_timeout passes with still
    // nothing received — a pending read then completes with the stream's
    // error. Call once, after the handshake; zero intervals turn a rule off.
    void start_heartbeat(const timing::heartbeat_config& config) {
        heartbeat_ = std::make_unique<heartbeat_state>(config, next_.get_executor());
        beat();
    }

    // The subprotocol the handshake chose (empty: none).
    const std::string& subprotocol() const noexcept {
        static const std::string none;
        return subprotocol_ ? *subprotocol_ : none;
    }
    // Whether the handshake agreed to permessage-deflate (stream_options' handshake
    // or client deflate options enable it; RFC 7692).
    bool compressing() const noexcept { return conn_.deflate() != nullptr; }
    // Whether send_shared may be given a frame of compress_message(…, window_bits)
    // bytes (its head with RSV1): this stream agreed to compress every message
    // afresh, with a window at least that large.
    bool takes_compressed(int window_bits) const noexcept {
        return conn_.deflate() && conn_.deflate()->takes_shared(window_bits);
    }

    // Reads the next whole message into `out` (replacing its contents). Pings are
    // answered on the way. -> (ec, opcode). Completes with error::closed after the
    // peer's close (the reply is written first), or the protocol error (its close
    // frame written first), or the stream's error.
    template <class Token>
    auto async_read(std::string& out, Token&& token) {
        return asio::async_compose<Token, void(std::error_code, opcode)>(
            reading([&out](std::string_view message) {
                out.clear();                       // replaced: nothing of it to keep
                reuse_spare(out, message.size());  // a buffer let go of by free_if_large, when it fits
                out.append(message);
                return true;
            }),
            token, next_);
    }

    // The same into an Asio DynamicBuffer (asio::dynamic_buffer(vector or string),
    // ...): the message is appended, as asio::async_read appends. One that would
    // pass the buffer's max_size() completes with error::message_too_big.
    template <class DynamicBuffer, class Token>
        requires asio::is_dynamic_buffer_v2<DynamicBuffer>::value
    auto async_read(DynamicBuffer buffer, Token&& token) {
        return asio::async_compose<Token, void(std::error_code, opcode)>(
            reading([buffer](std::string_view message) mutable {
                const std::size_t at = buffer.size();
                if (message.size() > buffer.max_size() - at) return false;
                buffer.grow(message.size());
                asio::buffer_copy(buffer.data(at, message.size()), asio::buffer(message));
                return true;
            }),
            token, next_);
    }

    // Reads message after message, handing each to `on_message(opcode, std::string_view)`
    // as it is parsed, until `on_message` returns false (a bool result; a void one
    // never stops): no operation, post or copy per message, as uWebSockets' message
    // handler. The view is valid during the call only. `on_message` runs where the
    // completion handler would, never inside this call; it may send, write, ping or
    // close (an async_write with a deferred token must not keep the view), not read,
    // and should not throw (if it does, the exception leaves io.run() and the
    // stream is left between reads). Replies to one read's messages go out together.
    // -> (ec): {} once stopped (what is buffered waits for the next read);
    // error::closed after the peer's close; else as async_read.
    template <class OnMessage, class Token>
    auto async_read_each(OnMessage on_message, Token&& token) {
        return asio::async_compose<Token, void(std::error_code)>(
            reading(detail::each_message<OnMessage>{std::move(on_message)}), token, next_);
    }

    // Sends one message. -> (ec)
    template <class Token>
    auto async_write(opcode type, std::string_view payload, Token&& token) {
        return enqueue([this, type, payload] { return write_message(type, payload); }, std::forward<Token>(token),
                       payload.size());
    }

    // Sends one fragment of a message (RFC 6455 §5.4): the first fragment's `type`
    // (text or binary) names the message, later ones' is ignored, `fin` ends it.
    // Whole messages may not be written until it ends (error::invalid_state);
    // pings and close may. -> (ec)
    template <class Token>
    auto async_write_fragment(opcode type, std::string_view payload, bool fin, Token&& token) {
        return enqueue([this, type, payload, fin] { return conn_.write_fragment(type, payload, !conn_.sending_fragments(), fin); },
                       std::forward<Token>(token), payload.size());
    }

    template <class Token>
    auto async_ping(std::string_view payload, Token&& token) {
        return enqueue([this, payload] { return conn_.write_ping(payload); }, std::forward<Token>(token), payload.size());
    }

    // Sends a close frame (§7.1.2); the close handshake ends when async_read sees
    // the peer's reply. -> (ec)
    // After close_timeout without the peer's answer, the transport is closed (a
    // pending read then completes with the stream's error).
    template <class Token>
    auto async_close(std::uint16_t code, std::string_view reason, Token&& token) {
        // Not bounded by max_queued_bytes: closing is how a writer answers a full queue.
        return enqueue(
            [this, code, reason] {
                const auto refused = conn_.write_close(code, reason);
                if (!refused) start_close_timer();
                return refused;
            },
            std::forward<Token>(token), 0, false);
    }

    // Queues one whole message for the next flush, at once, with no operation to
    // wait on: for fan-out (a hub, a chat room) where a message's completion does
    // not matter, only whether it was taken — uWebSockets' WebSocket::send answers
    // the same way. On the stream's executor. -> {} when queued; error::closed once
    // a close was sent or received; send_queue_full past max_queued_bytes (nothing
    // queued); invalid_state while a fragmented message is under way; or the
    // stream's write error.
    std::error_code send(opcode type, std::string_view payload) {
        if (write_error_) return write_error_;
        if (conn_.state() != state::open) return error::closed;  // before "slow down": closed says more
        if (auto full = admit(payload.size())) return full;
        if (auto refused = write_message(type, payload)) return refused;
        flush();
        return {};
    }

    // send() for a whole server frame, `head` then `body`, whose bytes `owner` keeps
    // alive and other streams share: fan-out writes a message once for all its
    // receivers (a hub's subscribers). Same answers as send(); invalid_state on a
    // client stream (each client frame is masked with its own key).
    std::error_code send_shared(std::shared_ptr<const void> owner, std::string_view head, std::string_view body) {
        if (write_error_) return write_error_;
        if (conn_.state() != state::open) return error::closed;
        if (conn_.is_client() || conn_.sending_fragments()) return error::invalid_state;
        if (auto full = admit(0)) return full;  // the bytes are shared, not this stream's
        output_.push_shared(conn_, std::move(owner), head, body);
        flush();
        return {};
    }

private:
    // impl/websocket_write_op.hpp: appends a frame through `produce` and completes
    // once it is written. `size`: the payload's bytes, admitted against the queue's
    // bound and the budget.
    template <class Produce>
    struct write_op;
    template <class Produce, class Token>
    auto enqueue(Produce produce, Token&& token, std::size_t size, bool bounded = true) {
        return asio::async_compose<Token, void(std::error_code)>(write_op<Produce>{this, std::move(produce), size, bounded},
                                                                 token, next_);
    }

    // Whether a frame of `size` payload bytes of the stream's own may be queued:
    // not while max_queued_bytes of output wait already (what is being written not
    // counted), nor past the process's memory budget (what is being written counted).
    std::error_code admit(std::size_t size) noexcept {
        if (output_.queued(conn_) >= settings_.max_queued_bytes) return error::send_queue_full;
        if (!output_.admit(conn_, in_flight(), size ? size + max_header_size : 0)) return budget_error::exhausted;
        return {};
    }

    // impl/websocket_write_op.hpp: writes everything pending, tried at once on a
    // socket; `wrote` settles a write of `n` bytes that ended with `ec`.
    using flight = asio_detail::websocket_output::flight;
    void flush();
    void wrote(std::error_code ec, std::size_t n);
    flight& own_flight();
    bool adopt_flight(std::unique_ptr<flight>& f) noexcept;
    void let_go(flight& f) noexcept;
    const flight* in_flight() const noexcept;
    void count_written(std::size_t n);
    // A whole message into the output, or written at once when nothing waits before it.
    std::error_code write_message(opcode type, std::string_view payload);
    bool writes_directly(opcode type) const noexcept;

    // impl/websocket_timers.hpp: heartbeats (start_heartbeat) and the close timeout.
    struct heartbeat_state;
    void beat();
    void start_close_timer();
    void stop_close_timer() { if (close_timer_) close_timer_->cancel(); }
    void received() { if (heartbeat_) heartbeat_->rule.on_received(timing::heartbeat::clock::now()); }

    // impl/websocket_handshake_ops.hpp: the server's answer to `req` prepared in
    // opening_, the operations that write it (reading the request first when not
    // given one) and the client's upgrade, and the subprotocol they agree on kept.
    std::error_code prepare_answer(const http::request& req, std::error_code not_http);
    struct accept_op;
    struct handshake_op;
    void keep_subprotocol(std::string chosen);

    // impl/websocket_read_op.hpp: one whole message (or each, for async_read_each),
    // and the corking around it.
    template <class Sink>
    struct read_op;
    template <class Sink>
    read_op<Sink> reading(Sink sink) {
        return {this, std::move(sink)};
    }

    // impl/websocket_read_op.hpp: writes issued while messages already read are
    // handed out go out together.
    void cork();
    void uncork();

    // The client's: the handshake's nonce and the frames' mask keys are drawn from
    // one generator. Copies of a stateful one (a lambda holding an engine by value)
    // would repeat its sequence, and the nonce, sent in the clear, would give away
    // the first mask keys (RFC 6455 §5.3: a key must not be predictable).
    stream(NextLayer next, const stream_options& options, std::function<std::uint32_t()> draw)
        : next_(std::move(next)), settings_(options), conn_(role::client, options.limits, draw),
          opening_(std::make_unique<opening>(options, draw)), output_(options.limits.budget) {}
    static std::function<std::uint32_t()> one_source(std::function<std::uint32_t()> random) {
        if (!random) return random;  // the connection refuses a client without one
        return [shared = std::make_shared<std::function<std::uint32_t()>>(std::move(random))] { return (*shared)(); };
    }

    // The options read after the handshake (kept small: docs/benchmarks.md).
    struct settings {
        explicit settings(const stream_options& o)
            : max_queued_bytes(o.max_queued_bytes), read_size(o.read_size), small_read_buffer(o.small_read_buffer),
              close_timeout(o.close_timeout) {}
        std::size_t max_queued_bytes, read_size, small_read_buffer;
        std::chrono::milliseconds close_timeout;
    };
    struct opening;  // impl/websocket_handshake_ops.hpp

    // What the handlers nothing keeps the stream alive for share with it (the flush's
    // async_write, the uncork post, the timers; detail/lifeline.hpp): the bytes of a
    // write under way, which outlive the stream (on a socket, only what the kernel left).
    struct detached {
        std::unique_ptr<flight> in_flight;  // being written (flush)
    };
    // impl/websocket_timers.hpp: waited on by operations whose frames are being
    // written (woken by each write that completes); made on the first wait.
    asio::steady_timer& flushed();

    NextLayer next_;
    settings settings_;
    websocket::connection conn_;
    flat_buffer in_;
    std::unique_ptr<opening> opening_;  // until the opening handshake ends
    std::unique_ptr<const std::string> subprotocol_;  // none: no subprotocol
    std::unique_ptr<asio::steady_timer> flushed_;
    // Queued: the connection's output and shared frames, held against the budget.
    asio_detail::websocket_output output_;
    asio_detail::lifeline<detached> detached_;
    std::uint64_t written_ = 0;
    std::error_code write_error_{};
    std::unique_ptr<heartbeat_state> heartbeat_;
    std::unique_ptr<asio::steady_timer> close_timer_;
    bool flushing_ = false;
    bool corked_ = false;   // see cork()
    bool uncork_posted_ = false;
    bool reading_ = false;  // an async_read or async_read_each is under way
    bool transport_ended_ = false;
    bool small_reads_ = false;  // the last read took less than small_read_buffer (impl/websocket_read_op.hpp)
    bool releasing_ = false;    // shared frames' owners being let go of (let_go): no flush meanwhile
};

}  // namespace herald::websocket

#include <herald/asio/impl/websocket_handshake_ops.hpp>
#include <herald/asio/impl/websocket_read_op.hpp>
#include <herald/asio/impl/websocket_timers.hpp>
#include <herald/asio/impl/websocket_write_op.hpp>

#endif
