// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_IMPL_WEBSOCKET_READ_OP_HPP
#define HERALD_ASIO_IMPL_WEBSOCKET_READ_OP_HPP

// websocket::stream's async_read: hand bytes to the connection until it reports a
// whole message, the peer's close or a protocol error, reading from the stream
// only when what is buffered holds no more events.
//
// A message that was already buffered completes through a post, never inside the
// async_read call (Asio's rule; it also keeps the stack flat when a handler reads
// again and a backlog of thousands of small messages is waiting). While buffered
// messages are handed out the stream is corked (stream::cork): replies go out in
// one write when the read next needs the network.

#include <herald/asio/websocket.hpp>

namespace herald::websocket {

template <class NextLayer>
template <class Sink>
struct stream<NextLayer>::read_op {
    stream* s;
    Sink sink;  // takes the message's bytes
    enum class step { start, read, closing, posted } at = step::start;
    std::error_code result{};
    opcode type = opcode::close;

    template <class Self>
    void operator()(Self& self, std::error_code ec = {}, std::size_t n = 0) {
        auto& st = *s;
        switch (at) {
        case step::start: st.reading_ = true; break;
        case step::read:
            if (ec) {
                st.transport_ended_ = true;
                return done(self, ec);
            }
            st.in_.commit(n);
            st.received();
            break;
        case step::closing: return close_then(self, result);
        case step::posted: return done(self, result);
        }
        while (true) {
            std::string_view input = st.in_.data();
            const std::size_t before = input.size();
            const event_type ev = st.conn_.next(input);
            st.in_.consume(before - input.size());
            st.flush();  // pongs, close replies and error closes go out at once (unless corked)
            switch (ev) {
            case event_type::message:
                type = st.conn_.message_type();
                // A DynamicBuffer that cannot take the message: this message is lost
                // to the caller, the connection is not.
                return deliver(self, sink(st.conn_.data()) ? std::error_code{} : std::error_code{error::message_too_big});
            case event_type::ping:
            case event_type::pong: continue;
            case event_type::close: return close_then(self, error::closed);
            case event_type::error: return close_then(self, st.conn_.error());
            case event_type::need_more: break;
            }
            break;
        }
        st.uncork();  // the network is needed again: what the handlers wrote goes out now
        // The rest of a large frame in one read (a 64 KiB message in one recv rather
        // than four), never less than read_size and at most 256 KiB: the buffer keeps
        // the capacity it grew to, for every connection that ever got a large frame.
        const std::size_t room = st.in_.max_size() - st.in_.size();
        const std::size_t left = static_cast<std::size_t>(std::min<std::uint64_t>(
            {st.conn_.frame_bytes_left(), std::uint64_t{256 * 1024}, std::uint64_t{room}}));
        const auto space = st.in_.prepare(std::min(std::max(left, st.options_.read_size), room));
        at = step::read;
        st.next_.async_read_some(asio::buffer(space.data(), space.size()), std::move(self));
    }

private:
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
            return st.flushed_.async_wait(std::move(self));
        }
        // The close frames are out (or their write failed): nothing is being written.
        if (st.write_error_) asio_detail::close_stream(st.next_);
        else asio_detail::close_stream_gracefully(st.next_);
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
        self.complete(ec, ec ? opcode::close : type);
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
    asio::post(next_.get_executor(), [this, life = std::weak_ptr<char>(life_)] {
        if (life.expired()) return;
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
