// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_SERVE_HPP
#define HERALD_ASIO_SERVE_HPP

// The request/response loop of one connection: read a request, ask the handler,
// write its response, and again while the connection is kept alive. Pipelined
// requests are answered in order, because the next one is read only after the
// previous answer is written.
//
// A handler is either
//   http::response handler(const http::request&)                  (answers at once)
// or
//   void handler(const http::request&, http::responder respond)   (answers later)
// The request is the handler's during the call (copy what an answer given later
// needs: a request parked with on_abandon is let go of while it waits).
// The second form is for answers that wait on something (long polling): `respond`
// may be called from any thread, once; a responder destroyed unanswered sends 500,
// so a forgetful handler cannot hang a client. While a request waits for its
// answer, the loop watches the connection: a client that leaves is noticed, and
// the handler hears of it through responder::on_abandon(). A handler may also
// take the connection over, with responder::hand_off(), to stream (SSE) or upgrade.

#include <herald/asio/http.hpp>
#include <herald/asio/responder.hpp>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <memory>
#include <type_traits>
#include <typeinfo>
#include <utility>

namespace herald::http {

namespace detail {
// How a parked loop is woken (response_slot::wake_parked): its socket's readiness
// wait is cancelled. Of the stream type only, so that every handler type of one
// stream shares one slot type.
template <class Stream>
struct cancel_parked_wait {
    void operator()(void* parked) const { asio_detail::cancel_stream(static_cast<server_connection<Stream>*>(parked)->next_layer()); }
};
}  // namespace detail

template <class Stream, class Handler>
struct serve_op {
    // The connection. Shared when async_serve was given it shared (a hand-off shares
    // it on); else it points at the caller's and owns nothing (use_count() == 0: a
    // hand-off is refused). One pointer pair for both: a parked operation is one of
    // many thousands.
    std::shared_ptr<server_connection<Stream>> conn;
    Handler handler;
    // A returning handler's answers, made for the first; nothing for a handler
    // with a responder (a parked operation is one of many thousands).
    static constexpr bool returns_answer = std::is_invocable_r_v<response, Handler&, const request&>;
    struct no_answer {};
    [[no_unique_address]] std::conditional_t<returns_answer, std::unique_ptr<response>, no_answer> sync_answer{};
    std::shared_ptr<detail::response_slot> slot{};
    enum class step { start, resumed, read, wait, parked, write, drain } at = step::start;
    std::error_code result{};  // what to complete with once the watching read is in

    template <class Self>
    void operator()(Self& self, std::error_code ec = {}) {
        auto& c = *conn;
        switch (at) {
        case step::start:
            c.serving_ = true;
            // A request buffered already would be read, answered (at once, on a
            // socket) and perhaps end the loop inside this call: after a post instead.
            if (!c.buffered().empty()) {
                at = step::resumed;
                return asio::post(c.get_executor(), std::move(self));
            }
            break;
        case step::resumed: break;
        case step::read:
            // eof: the client closed between requests, the normal end of a connection.
            if (ec == asio::error::eof) return end_gone(self);
            if (ec) return complete(self, ec);
            return answer(self);
        case step::wait: return woken(self);
        case step::parked: return unparked(self, ec);
        case step::write:
            if (ec) return finish(self, ec);
            if (!c.keep_alive()) return finish(self, {});
            if (slot && slot->watching) {
                // The watching read becomes the next request's read: the idle
                // timeout applies to it as to any wait for a request.
                c.arm(server_connection<Stream>::phase::idle);
                return drain(self, {});
            }
            // The watch ended while the answer was being written (its completion
            // ran first, as it may when threads serve the strand) and found the
            // peer gone: its FIN was read, so a read now would wait for ever.
            if (slot && slot->gone) return end_gone(self);
            break;
        case step::drain:
            c.close_slot().clear();
            if (slot->watching) return wait(self);
            if (c.deadline_.expired()) {
                c.close();
                return complete(self, asio::error::timed_out);
            }
            c.pause_deadline();
            if (result || !c.keep_alive()) return complete(self, result);
            if (slot->gone) return end_gone(self);  // the client closed after its answer
            break;
        }
        at = step::read;
        c.async_read_request(std::move(self));
    }

private:
    // Runs the handler and writes its answer. A responder's answer given inside
    // the call is written at once; a later one is waited for.
    template <class Self>
    void answer(Self& self) {
        auto& c = *conn;
        if constexpr (returns_answer) {
            if (!sync_answer) sync_answer = std::make_unique<response>();
            *sync_answer = handler(std::as_const(c.request()));
            write(self, *sync_answer);
        } else {
            static_assert(std::is_invocable_v<Handler&, const request&, responder>,
                          "a handler takes (const request&) and returns a response, or takes "
                          "(const request&, responder)");
            // The last request's slot, when its responder is gone and no post holds it.
            if (slot && slot.use_count() == 1) slot->start_over();
            else slot = std::make_shared<detail::response_slot_on<typename server_connection<Stream>::executor_type, detail::cancel_parked_wait<Stream>>>(c.get_executor());
            {
                const detail::handler_call call{*slot};
                handler(std::as_const(c.request()), responder{slot});
            }
            at = step::wait;
            if (slot->value) write(self, *slot->value);  // answered inside the call
            else if (slot->handoff) hand_off(self);
            else if (!park(self)) {
                watch();
                wait(self);
            }
        }
    }

    // While the request is parked, a read notices the client leaving (EOF, a
    // reset), as Go's net/http does for its request contexts. Only when nothing
    // pipelined is buffered: bytes that arrive are kept for the next request, and a
    // client that half-closes after pipelining is still answered.
    void watch() {
        auto& c = *conn;
        if (!c.keep_alive() || !c.buffered().empty()) return;
        slot->watching = true;
        // `conn` outlives the watch: the loop completes only once it ended (drain).
        c.watch([slot = slot](std::error_code ec) {
            slot->watch_ended(ec);
            slot->wake();
        });
    }

    // A request parked for long (its handler registered on_abandon: a long poll)
    // on a socket: the loop itself waits for the socket to become readable, with
    // no read buffer, parser, request, timer or second operation meanwhile (the
    // answer needs only head_request() and keep-alive, kept apart), and the answer
    // wakes it by cancelling that wait (detail::response_slot). Its cost is a
    // parked long poll's memory (docs/benchmarks.md). false: not here (a TLS or
    // test stream, pipelined bytes buffered, the connection ending).
    template <class Self>
    bool park(Self& self) {
        if constexpr (asio_detail::nonblocking_socket<Stream>) {
            auto& c = *conn;
            if (!slot->parks.load(std::memory_order_relaxed) || !c.keep_alive() || !c.buffered().empty()) return false;
            slot->signal.reset();  // a reused slot's, from an earlier request: nothing waits on it now
            slot->watching = true;
            slot->parked_connection = &c;
            at = step::parked;
            c.wait_readable(std::move(self));
            return true;
        } else {
            return false;
        }
    }

    // The parked wait ended: the answer or a hand-off woke it (cancelled), the
    // client sent something or left (readable), or the connection closed.
    template <class Self>
    void unparked(Self& self, std::error_code ec) {
        if constexpr (asio_detail::nonblocking_socket<Stream>) {
            auto& c = *conn;
            slot->parked_connection = nullptr;
            // Woken, then closed (server::stop() ran first): aborted, as a read's end would be.
            if (!ec && !c.next_layer().is_open()) ec = asio::error::operation_aborted;
            if (!ec) ec = c.read_ready();
            slot->watch_ended(ec);
        }
        woken(self);
    }

    template <class Self>
    void woken(Self& self) {
        auto& c = *conn;
        // Take the wait's cancellation handler off the connection's close signal
        // now, while the timer it refers to still exists (the slot, timer included,
        // is replaced at the next request).
        c.close_slot().clear();
        // An answer goes out at once, even with the watching read still out: a read
        // and a write may run together, and the read is then simply the first read
        // of the next request (no cancel, no extra completion per long poll).
        if (slot->value && !slot->gone) return write(self, *slot->value);
        if (slot->watching) {
            // A hand-off or a close must wait for the watching read to end; it
            // cancels the signal again when it does.
            if (slot->handoff || !c.keep_alive()) asio_detail::cancel_stream(c.next_layer());
            return wait(self);
        }
        if (slot->handoff) return hand_off(self);
        if (slot->value) {
            c.end_after_response();  // the client half-closed: answer, then end
            return write(self, *slot->value);
        }
        if (slot->gone || !c.keep_alive()) {
            slot->abandoned = true;
            if (slot->on_abandon) std::exchange(slot->on_abandon, nullptr)();
            if (slot->gone) c.close();
            return complete(self, slot->gone == asio::error::eof || !slot->gone ? std::error_code{asio::error::operation_aborted}
                                                                                : slot->gone);
        }
        // Woken for nothing (pipelined bytes, kept for the next request, or a
        // spurious readiness): wait on.
        if (park(self)) return;
        watch();
        return wait(self);
    }

    template <class Self>
    void hand_off(Self& self) {
        auto& c = *conn;
        if (*slot->handoff->type != typeid(server_connection<Stream>)) {
            slot->value = std::make_unique<response>(500, "text/plain; charset=utf-8", "the request handler handed off to the wrong connection type\n");
            return write(self, *slot->value);
        }
        // The new owner must share the connection: with async_serve(conn&) nothing
        // keeps it alive once this operation completes.
        if (conn.use_count() == 0) {
            slot->value = std::make_unique<response>(500, "text/plain; charset=utf-8", "hand-off needs async_serve(std::shared_ptr<server_connection>)\n");
            return write(self, *slot->value);
        }
        c.rest();  // unless bytes wait: an SSE stream reads no more requests, a WebSocket reads frames
        asio::post(c.get_executor(), [take = std::move(slot->handoff->take), owner = std::shared_ptr<void>(conn)] { take(owner); });
        complete(self, {});
    }

    // The client left after its answer was written: close now (the socket would
    // otherwise sit in CLOSE-WAIT until its owner lets go); a normal end.
    template <class Self>
    void end_gone(Self& self) {
        conn->close();
        complete(self, {});
    }

    // Every completion: the loop no longer drives the connection, so its deadline
    // goes, and the sweep's wait with it if it was the last (run() may return).
    template <class Self>
    void complete(Self& self, std::error_code ec) {
        conn->serving_ = false;
        conn->deadline_.cancel();
        self.complete(ec);
    }

    // Completes once no watching read is out: its handler refers to the connection,
    // which may be gone after completion.
    template <class Self>
    void finish(Self& self, std::error_code ec) {
        if (slot && slot->watching) {
            asio_detail::cancel_stream(conn->next_layer());
            return drain(self, ec);
        }
        complete(self, ec);
    }

    template <class Self>
    void drain(Self& self, std::error_code ec) {
        result = ec;
        at = step::drain;
        wait(self);
    }

    // An answer posted to this executor (given later, or from another thread) is not
    // in yet; the timer is cancelled when it is, or when the connection closes.
    template <class Self>
    void wait(Self& self) {
        if (!slot->signal) slot->signal = std::make_unique<asio::steady_timer>(conn->get_executor(), asio::steady_timer::time_point::max());
        slot->signal->async_wait(asio::bind_cancellation_slot(conn->close_slot(), std::move(self)));
    }

    // On a socket the answer is tried at once, without blocking (MSG_DONTWAIT: the
    // socket's own mode stays blocking for whoever takes it over), as uWebSockets
    // writes: a short one usually goes whole, with no write operation, deadline or
    // post, and the loop goes straight on (it runs in a completion, never inside
    // async_serve). What the kernel leaves goes by async_write_rest, as every
    // answer does on other streams.
    template <class Self>
    void write(Self& self, const response& res) {
        auto& c = *conn;
        at = step::write;
        if constexpr (asio_detail::dontwait_socket<Stream> && asio_detail::has_send_dontwait) {
            if (auto local = c.prepare_answer(res)) return (*this)(self, local);
            const auto bytes = c.answer_bytes(res);
            std::error_code ec;
            const std::size_t sent = asio_detail::send_dontwait(c.next_layer(), bytes, ec);
            if (!ec && sent < bytes[0].size() + bytes[1].size()) return c.async_write_rest(res, sent, std::move(self));
            ec = c.answer_written(ec);
            // A pipelined request already buffered would be read, and answered at
            // once, inside this call, and the next one deeper still: it goes on
            // after a post instead (as the write's completion would have).
            if (!ec && !c.buffered().empty()) return asio::post(c.get_executor(), std::move(self));
            return (*this)(self, ec);
        }
        c.async_write_response(res, std::move(self));
    }
};

// Serves requests on `conn` until the client closes, the connection ends, or an
// error. A hand-off needs the shared_ptr overload below (here it answers 500). Completes with {} on a normal end or a
// hand-off, operation_aborted when a parked request was abandoned (the client left
// or close() was called), else the error (already answered on the wire when HTTP
// has an answer for it; a client's EOF between requests closes the stream first).
// `conn` must outlive the operation.
template <class Stream, class Handler, class Token>
auto async_serve(server_connection<Stream>& conn, Handler handler, Token&& token) {
    // The caller owns `conn`, so a hand-off (which must share it) is refused with 500.
    return asio::async_compose<Token, void(std::error_code)>(
        serve_op<Stream, std::decay_t<Handler>>{std::shared_ptr<server_connection<Stream>>(std::shared_ptr<void>(), &conn), std::move(handler)},
        token, conn.next_layer());
}

// The same, for a shared connection: a hand-off shares its ownership.
template <class Stream, class Handler, class Token>
auto async_serve(std::shared_ptr<server_connection<Stream>> conn, Handler handler, Token&& token) {
    auto* raw = conn.get();
    return asio::async_compose<Token, void(std::error_code)>(
        serve_op<Stream, std::decay_t<Handler>>{std::move(conn), std::move(handler)}, token, raw->next_layer());
}

}  // namespace herald::http

#endif
