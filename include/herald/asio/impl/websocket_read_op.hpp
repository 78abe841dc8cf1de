// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_IMPL_WEBSOCKET_READ_OP_HPP
#define HERALD_ASIO_IMPL_WEBSOCKET_READ_OP_HPP

// websocket::stream's async_read: hand bytes to the connection until it reports a
// whole message, the peer's close or a protocol error, reading from the stream
// only when what is buffered holds no more events. async_read_each is the same
// operation going on after each message, which it hands to the caller's function
// where async_read would complete: what a read brought is handed out in one go,
// with the replies corked until the next read.
//
// A message that was already buffered completes through a post, never inside the
// async_read call (Asio's rule; it also keeps the stack flat when a handler reads
// again and a backlog of thousands of small messages is waiting). While buffered
// messages are handed out the stream is corked (stream::cork): replies go out in
// one write when the read next needs the network.
//
// On a socket (anything that can wait for readability and read without blocking)
// the read holds no buffer while it waits: it waits for the socket to be readable,
// then reads into one buffer shared by every stream of the thread, as uWebSockets
// does, and hands those bytes to the connection at once. The connection keeps what
// it needs (the message, a cut header), so the stream's own buffer takes only the
// bytes left after a message, for the next read; an idle stream keeps none. Other
// streams (TLS, herald::test::stream) read into the stream's buffer.
//
// That costs a syscall: Asio re-arms epoll for each readiness wait (epoll_ctl),
// where a pending read costs none. With stream_options::small_read_buffer set,
// while the peer's messages are small (the last read took less than it) the stream
// keeps a buffer of that size and its read waits in the reactor with it instead;
// a read that fills it goes back to waiting with no buffer.

#include <herald/asio/detail/exact_allocator.hpp>
#include <herald/asio/websocket.hpp>

#include <asio/socket_base.hpp>

#include <memory>
#include <string_view>
#include <type_traits>

namespace herald::websocket {

namespace detail {

inline std::span<char> shared_receive_buffer() {
    thread_local const std::unique_ptr<char[]> buffer = std::make_unique_for_overwrite<char[]>(max_read_size);
    return {buffer.get(), max_read_size};
}

// stream::async_read_each's handler, called for each message: whether to go on.
template <class OnMessage>
struct each_message {
    using result = std::invoke_result_t<OnMessage&, opcode, std::string_view>;
    // Not any type that converts to bool: an error_code would read "go on" as an error.
    static_assert(std::is_void_v<result> || std::is_same_v<result, bool>,
                  "async_read_each: on_message(opcode, std::string_view) returns void or bool (false: stop)");
    OnMessage on_message;
    bool operator()(opcode type, std::string_view data) {
        if constexpr (std::is_void_v<result>) {
            on_message(type, data);
            return true;
        } else {
            return on_message(type, data);
        }
    }
};
template <class Sink>
inline constexpr bool hands_out_each = false;
template <class OnMessage>
inline constexpr bool hands_out_each<each_message<OnMessage>> = true;

}  // namespace detail

template <class NextLayer>
template <class Sink>
struct stream<NextLayer>::read_op {
    stream* s;
    Sink sink;  // takes the message's bytes
    static constexpr bool each = detail::hands_out_each<Sink>;  // async_read_each: messages until told to stop
    enum class step { start, resumed, read, wait, closing, posted } at = step::start;
    std::error_code result{};
    opcode type = opcode::close;

    template <class Self>
    void operator()(Self& self, std::error_code ec = {}, std::size_t n = 0) {
        auto& st = *s;
        switch (at) {
        case step::start:
            st.reading_ = true;
            // Messages already buffered go to the handler after a post, never inside
            // the initiating call (async_read's single message completes that way).
            if (each && !st.in_.empty()) {
                at = step::resumed;
                return asio::post(st.next_.get_executor(), std::move(self));
            }
            break;
        case step::resumed: break;
        case step::read:
            if (ec) return transport_failed(self, ec);
            st.in_.commit(n);
            st.received();
            took(n);
            break;
        case step::wait:
            if constexpr (asio_detail::nonblocking_socket<NextLayer>) {
                const auto shared = detail::shared_receive_buffer();
                if (!ec) n = asio_detail::read_now(st.next_, asio::buffer(shared.data(), read_size()), ec);
                if (ec) return transport_failed(self, ec);
                if (n == 0) return wait(self);  // woken for nothing
                st.received();
                took(n);
                hold_replies();
                // In the thread's buffer a one-frame message is unmasked where it lies and
                // handed out uncopied (connection::next(std::span<char>&)).
                if (pull(self, shared.first(n), false)) return;
                // The connection took every byte and the stream's buffer is still
                // empty (waits start only then): nothing to pull from it.
                return read_more(self);
            }
            break;
        case step::closing: return close_then(self, result);
        case step::posted: return done(self, result);
        }
        hold_replies();
        if (pull(self, st.in_.data(), true)) return;
        read_more(self);
    }

private:
    // Every buffered byte is used: the network is needed again.
    template <class Self>
    void read_more(Self& self) {
        auto& st = *s;
        st.uncork();  // what the handlers wrote goes out now
        if constexpr (asio_detail::nonblocking_socket<NextLayer>) {
            if (st.in_.empty() && !st.small_reads_) {
                st.in_.release();  // nothing is buffered: an idle stream keeps no buffer
                return wait(self);
            }
        }
        const std::size_t room = st.in_.max_size() - st.in_.size();
        const std::size_t small = small_read();
        if (small && st.in_.capacity() > small) st.in_.release();  // grown by a large frame
        if (small) st.in_.reserve(small);
        const auto space = st.in_.prepare(small ? small : std::min(read_size(), room));
        at = step::read;
        st.next_.async_read_some(asio::buffer(space.data(), space.size()), std::move(self));
    }

    // Hands `input` to the connection until an event ends the read (true: the
    // operation is completing) or it needs more bytes (false: it took them all).
    // `in_buffer`: `input` is the stream's buffer (a string_view), consumed as it is
    // used; otherwise it is the thread's (a span the connection may unmask in), and
    // what is left after the event is kept in the stream's.
    template <class Self, class Input>
    bool pull(Self& self, Input input, bool in_buffer) {
        auto& st = *s;
        const auto rest = [&input] { return std::string_view(input.data(), input.size()); };
        while (true) {
            const std::size_t before = input.size();
            const event_type ev = st.conn_.next(input);
            if (in_buffer) st.in_.consume(before - input.size());
            st.flush();  // pongs, close replies and error closes go out at once (unless corked)
            if (ev == event_type::ping || ev == event_type::pong) continue;
            if (ev == event_type::need_more) return false;
            switch (ev) {
            case event_type::message:
                type = st.conn_.message_type();
                if constexpr (each) {
                    // The read's last message, with no reply corked before it: its reply
                    // may go out at once, a large one from the caller's bytes uncopied.
                    if (input.empty() && st.output_.empty(st.conn_)) st.corked_ = false;
                    unwinding guard{s, in_buffer ? std::string_view() : rest()};
                    const bool go_on = sink(type, st.conn_.data());
                    guard.armed = false;
                    if (go_on) continue;  // on in this read's bytes
                }
                // The thread's buffer is the next reader's: the rest of this read waits
                // in the stream's (which holds at least one read). After a close or an
                // error the connection takes nothing more.
                if (!in_buffer) (void)st.in_.append(rest());
                if constexpr (each) {
                    deliver(self, {});  // told to stop
                } else {
                    // A DynamicBuffer that cannot take the message: this message is lost
                    // to the caller, the connection is not.
                    deliver(self, sink(st.conn_.data()) ? std::error_code{} : std::error_code{error::message_too_big});
                }
                return true;
            case event_type::close: close_then(self, error::closed); return true;
            default: close_then(self, st.conn_.error()); return true;  // event_type::error
            }
        }
    }

    // The rest of a large frame in one read (a 64 KiB message in one recv rather
    // than four), else read_size: not more, since the replies to the messages of
    // one read are corked together, and a read of many small messages would
    // gather their replies past what the stream lets wait (max_queued_bytes).
    std::size_t read_size() const noexcept {
        const std::uint64_t left = std::min<std::uint64_t>(s->conn_.frame_bytes_left(), detail::max_read_size);
        return std::min(std::max(static_cast<std::size_t>(left), s->settings_.read_size), detail::max_read_size);
    }

    // Small messages lately, and nothing buffered: the next read is into the small
    // buffer the stream keeps (stream_options::small_read_buffer), so that Asio's
    // reactor reads straight into it when the socket is readable. Zero: not now.
    std::size_t small_read() const noexcept {
        if constexpr (asio_detail::nonblocking_socket<NextLayer>)
            if (s->small_reads_ && s->in_.empty()) return std::min(s->settings_.small_read_buffer, detail::max_read_size);
        return 0;
    }

    // A read of `n` bytes ended: whether the peer's messages are small lately. A
    // read that filled the small buffer (or more) may have left bytes behind.
    void took(std::size_t n) noexcept {
        if constexpr (asio_detail::nonblocking_socket<NextLayer>) s->small_reads_ = n < s->settings_.small_read_buffer;
    }

    template <class Self>
    void wait(Self& self) {
        auto& st = *s;
        std::error_code ec;
        // Reads after a wait must not block. A closed socket cannot be made
        // non-blocking: it completes as a failed read would, never inside async_read.
        if (!asio_detail::make_non_blocking(st.next_, ec)) return transport_failed(self, ec);
        at = step::wait;
        st.next_.async_wait(asio::socket_base::wait_read, asio_detail::for_long_wait(std::move(self)));
    }

    // After a close or a protocol error: once the close frame is written, the
    // server closes the transport (§7.1.1: the server closes TCP first).
    template <class Self>
    void close_then(Self& self, std::error_code ec) {
        auto& st = *s;
        st.uncork();
        type = opcode::close;
        if (st.flushing_ && !st.write_error_) {
            result = ec;
            at = step::closing;
            return st.flushed().async_wait(std::move(self));
        }
        // The close frames are out (or their write failed): nothing is being written.
        if (st.write_error_) asio_detail::close_stream(st.next_);
        else asio_detail::close_stream_gracefully(st.next_);
        deliver(self, ec);
    }

    // async_read_each, when on_message throws: the stream is left as a finished read
    // leaves it (no read under way, nothing corked, the rest of the thread's buffer
    // kept for the next read), so it can still be written to and read again.
    struct unwinding {
        stream* s;
        std::string_view rest;  // of the thread's buffer; empty: the stream's own
        bool armed = true;
        ~unwinding() {
            if (!armed) return;
            s->reading_ = false;
            (void)s->in_.append(rest);
            s->uncork();
        }
    };

    // async_read_each: the replies to the messages of this read go out together,
    // when the read needs the network again (or the operation ends). async_read
    // corks between messages instead (done()).
    void hold_replies() noexcept {
        if constexpr (each) s->corked_ = true;
    }

    // The transport failed or was closed: nothing more will come (heartbeats stop).
    template <class Self>
    void transport_failed(Self& self, std::error_code ec) {
        s->transport_ended_ = true;
        deliver(self, ec);
    }

    // Completes, through a post when no operation of ours has run yet.
    template <class Self>
    void deliver(Self& self, std::error_code ec) {
        if (at == step::start) {
            result = ec;
            at = step::posted;
            return asio::post(s->next_.get_executor(), std::move(self));
        }
        done(self, ec);
    }

    template <class Self>
    void done(Self& self, std::error_code ec) {
        auto& st = *s;
        st.reading_ = false;
        // More may be buffered: let the handler's replies gather (and make sure an
        // uncork is pending whenever the stream is corked); after an error, nothing waits.
        if (!ec && (!st.in_.empty() || st.corked_)) st.cork();
        if (ec) st.uncork();
        // The read is over for good: the close handshake is done or the transport
        // ended, and a close timer has nothing left to wait for (left pending, it
        // would hold the executor's work for close_timeout).
        if (ec) st.stop_close_timer();
        if constexpr (each) self.complete(ec);
        else self.complete(ec, ec ? opcode::close : type);
    }
};

// Writes issued while messages already read are being handed out wait and go
// out together (uWebSockets calls it corking): an echo or a reply to each of a
// burst of messages costs one syscall, not one each. The cork comes off when
// the read needs the network again, or, if nobody reads on, one post later.
template <class NextLayer>
void stream<NextLayer>::cork() {
    corked_ = true;
    if (uncork_posted_) return;
    uncork_posted_ = true;
    asio::post(next_.get_executor(), [this, life = detached_.get()] {
        if (life->owner_gone) return;
        uncork_posted_ = false;
        // A read under way uncorks when it needs the network, or corks again
        // (and so posts again) when it completes.
        if (!reading_) uncork();
    });
}

template <class NextLayer>
void stream<NextLayer>::uncork() {
    corked_ = false;
    flush();
}

}  // namespace herald::websocket

#endif
