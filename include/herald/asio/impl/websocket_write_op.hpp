// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_IMPL_WEBSOCKET_WRITE_OP_HPP
#define HERALD_ASIO_IMPL_WEBSOCKET_WRITE_OP_HPP

// websocket::stream's writes. Every frame lands in the stream's output (the
// connection's, and frames shared with other streams); flush() hands all that is
// pending to one gathered write, one at a time, again while more is pending.
//
// On a socket the write is tried at once, without blocking, as uWebSockets does:
// a reply the kernel takes whole costs one send and no operation, no post and no
// wake-up. Only what the kernel leaves (its send buffer is full: a slow reader, a
// large message) goes to an async_write, and later frames queue behind it.

#include <herald/asio/websocket.hpp>

#include <asio/write.hpp>

#include <array>
#include <cstring>
#include <memory>
#include <new>
#include <system_error>

namespace herald::websocket {

template <class NextLayer>
template <class Produce>
struct stream<NextLayer>::write_op {
    stream* s;
    Produce produce;  // appends the frame to the connection's output, or refuses it
    std::size_t size;
    bool bounded;
    std::uint64_t target = 0;  // where this frame ends in the stream of all bytes ever written
    bool started = false;

    template <class Self>
    void operator()(Self& self, std::error_code ec = {}) {
        auto& st = *s;
        if (!started) {
            started = true;
            if (auto full = bounded ? st.admit(size) : std::error_code{})
                return asio_detail::post_complete(self, st.get_executor(), full);
            if (auto refused = produce()) return asio_detail::post_complete(self, st.get_executor(), refused);
            target = st.written_ + (st.in_flight() ? st.in_flight()->bytes : 0) + st.output_.queued(st.conn_);
            st.flush();
            // Written at once, or failed: completes through a post, never inside the call.
            if (st.write_error_ || st.written_ >= target)
                return asio_detail::post_complete(self, st.get_executor(), st.write_error_);
        } else if (ec && ec != asio::error::operation_aborted) {
            return self.complete(ec);
        }
        if (st.write_error_) return self.complete(st.write_error_);
        if (st.written_ >= target) return self.complete({});
        st.flushed().async_wait(std::move(self));  // woken by every write that completes
    }
};

template <class NextLayer>
void stream<NextLayer>::flush() {
    if (releasing_ || corked_ || flushing_ || output_.empty(conn_) || write_error_) return;
    if constexpr (asio_detail::nonblocking_socket<NextLayer>) {
        // Laid out in the thread's flight, so that a write the socket takes whole
        // leaves the stream nothing to keep. Out of its slot while in use: a shared
        // frame's owner let go of here may send on another stream of the thread.
        thread_local std::unique_ptr<flight> spare;
        std::unique_ptr<flight> f = spare ? std::move(spare) : std::make_unique<flight>();
        output_.take(conn_, *f);
        std::error_code ec;
        const std::size_t n =
            f->with_buffers([&](const auto& buffers) { return asio_detail::write_now(next_, buffers, ec); });
        if (ec || n == f->bytes) {
            wrote(ec, n);
            let_go(*f);  // last: a shared frame's owner may send on this stream, flushed below
            if (!spare) spare = std::move(f);
            return flush();  // what an owner let go of queued meanwhile; none: returns at once
        }
        count_written(n);
        f->skip(n);  // the rest waits for the socket to take it, in the stream's flight
        if (!adopt_flight(f)) return;
        if (f && !spare) spare = std::move(f);  // the stream's old flight, empty
    } else {
        output_.take(conn_, own_flight());
    }
    flushing_ = true;
    // Not a caller's operation: nothing keeps the stream alive for it, so the
    // handler checks the detached state, which also keeps the bytes (they outlive the write).
    auto done = [this, life = detached_.get()](std::error_code ec, std::size_t n) {
        if (life->owner_gone) return;
        flushing_ = false;
        wrote(ec, n);
        flush();
    };
    detached_->in_flight->with_buffers(
        [&](const auto& buffers) { asio::async_write(next_, buffers, std::move(done)); });
}

// A message of a server, with nothing queued before it, is written at once
// without going through the connection's output, as uWebSockets' send: a small
// one laid out with its header on the stack (one buffer: send(), not sendmsg()),
// a large one from the caller's bytes, uncopied. Only what the kernel leaves is
// copied into the queue. Compressed messages (deflate) and a client's (masked) go
// through the connection.
template <class NextLayer>
bool stream<NextLayer>::writes_directly(opcode type) const noexcept {
    // Not after a close was sent or received: write_message's checks, which this
    // path passes by, refuse it there (RFC 6455 §5.5.1: nothing after the close).
    // Not after a write failed either: a write cut short (cancelled, say) may have
    // left part of a frame on the wire, and nothing may follow it (flush() stops too).
    return !write_error_ && conn_.state() == state::open && (type == opcode::text || type == opcode::binary) &&
           !conn_.is_client() && !conn_.deflate() && !conn_.sending_fragments() && !corked_ && !flushing_ &&
           output_.empty(conn_);
}

template <class NextLayer>
std::error_code stream<NextLayer>::write_message(opcode type, std::string_view payload) {
    if constexpr (asio_detail::nonblocking_socket<NextLayer>) {
        if (writes_directly(type)) {
            std::array<char, max_header_size + kept_buffer_capacity> laid;
            const std::size_t h = write_header({true, 0, type, false, payload.size(), {}}, laid.data());
            const std::string_view head(laid.data(), h);
            std::error_code ec;
            std::size_t n = 0;
            if (payload.size() <= kept_buffer_capacity) {
                if (!payload.empty()) std::memcpy(laid.data() + h, payload.data(), payload.size());
                const std::string_view frame(laid.data(), h + payload.size());
                n = asio_detail::write_now(next_, asio::buffer(frame), ec);
                if (!ec && n < frame.size()) output_.push_framed(conn_, frame.substr(n));
            } else {
                const std::array<asio::const_buffer, 2> frame{asio::buffer(head), asio::buffer(payload)};
                n = asio_detail::write_now(next_, frame, ec);
                if (!ec && n < h) output_.push_framed(conn_, head.substr(n), payload);
                else if (!ec && n < h + payload.size()) output_.push_framed(conn_, payload.substr(n - h));
            }
            count_written(n);
            if (ec) write_error_ = ec;
            output_.settle(conn_);  // only what waits is held against the budget
            return ec;
        }
    }
    return conn_.write_message(type, payload);
}

template <class NextLayer>
void stream<NextLayer>::wrote(std::error_code ec, std::size_t n) {
    count_written(n);
    output_.settle(conn_);
    if (ec) write_error_ = ec;
    if (flushed_) flushed_->cancel();  // wakes every operation waiting for its frame
    if (in_flight()) let_go(*detached_->in_flight);  // last, as in flush()
}

// Clears `f`, letting go of its shared frames. Their owners may send on this
// stream as they go (a deleter that queues the next message): that waits in the
// output until the caller, its state settled, flushes again.
template <class NextLayer>
void stream<NextLayer>::let_go(flight& f) noexcept {
    releasing_ = true;
    f.clear();
    releasing_ = false;
}

template <class NextLayer>
void stream<NextLayer>::count_written(std::size_t n) {
    written_ += n;
    if (heartbeat_ && n) heartbeat_->rule.on_sent(timing::heartbeat::clock::now());
}

// The stream's own flight, for writes that are not tried at once (TLS, the test
// stream): made by the first and kept, in the block handlers share (detached).
template <class NextLayer>
auto stream<NextLayer>::own_flight() -> flight& {
    auto& mine = detached_.get()->in_flight;
    if (!mine) mine = std::make_unique<flight>();
    return *mine;
}

// `f`, a write the socket took in part, becomes the stream's flight (the stream's
// old one, if any, comes back in `f`), in the block made now if not before. When
// there is no memory for the block the stream fails: part of a frame is out and
// the rest cannot be kept, so nothing may follow it on the wire.
template <class NextLayer>
bool stream<NextLayer>::adopt_flight(std::unique_ptr<flight>& f) noexcept {
    try {
        detached_.get()->in_flight.swap(f);  // pointers swapped, not flights: the buffers still point at their bytes
        return true;
    } catch (const std::bad_alloc&) {
        asio_detail::close_stream(next_);
        wrote(std::make_error_code(std::errc::not_enough_memory), 0);
        let_go(*f);
        return false;
    }
}

// What is being written, if the stream has a flight yet (null: nothing).
template <class NextLayer>
auto stream<NextLayer>::in_flight() const noexcept -> const flight* {
    return detached_ ? detached_->in_flight.get() : nullptr;
}

}  // namespace herald::websocket

#endif
