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
// The second form is for answers that wait on something (long polling): `respond`
// may be called from any thread, once; a responder destroyed unanswered sends 500,
// so a forgetful handler cannot hang a client.

#include <herald/asio/http.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/steady_timer.hpp>

#include <memory>
#include <optional>
#include <type_traits>

namespace herald::http {

namespace detail {

// Where an asynchronous answer lands; the timer is only a signal: the serving
// operation waits on it, and the responder cancels it once the answer is in.
struct response_slot {
    explicit response_slot(const asio::any_io_executor& ex) : signal(ex, asio::steady_timer::time_point::max()) {}
    asio::steady_timer signal;
    std::optional<response> value;
};

}  // namespace detail

class responder {
public:
    explicit responder(std::shared_ptr<detail::response_slot> slot) noexcept : slot_(std::move(slot)) {}
    responder(responder&&) noexcept = default;
    responder& operator=(responder&& other) noexcept {
        if (this != &other) {
            drop();
            slot_ = std::move(other.slot_);
        }
        return *this;
    }
    ~responder() { drop(); }

    // Answers the request. Thread-safe; a second call does nothing.
    void operator()(response res) {
        if (!slot_) return;
        auto slot = std::move(slot_);
        asio::post(slot->signal.get_executor(), [slot, res = std::move(res)]() mutable {
            if (slot->value) return;
            slot->value = std::move(res);
            slot->signal.cancel();
        });
    }

    bool answered() const noexcept { return !slot_; }

private:
    void drop() {
        if (slot_) (*this)(response{500, "text/plain; charset=utf-8", "the request handler gave no answer\n"});
    }
    std::shared_ptr<detail::response_slot> slot_;
};

template <class Stream, class Handler>
struct serve_op {
    server_connection<Stream>* conn;
    Handler handler;
    std::unique_ptr<response> sync_answer = std::make_unique<response>();
    std::shared_ptr<detail::response_slot> slot{};
    enum class step { start, read, wait, write } at = step::start;

    template <class Self>
    void operator()(Self& self, std::error_code ec = {}) {
        auto& c = *conn;
        switch (at) {
        case step::start: break;
        case step::read:
            // eof: the client closed between requests, the normal end of a connection.
            if (ec) return self.complete(ec == asio::error::eof ? std::error_code{} : ec);
            if (answer(self)) return;
            return write(self, *sync_answer);
        case step::wait:
            // The wait is over: take its cancellation handler off the connection's
            // close signal now, while the timer it refers to still exists (the slot,
            // timer included, is replaced at the next request).
            c.close_slot().clear();
            if (slot->value) return write(self, *slot->value);
            if (!c.keep_alive()) return self.complete(asio::error::operation_aborted);  // close()d
            return wait(self);  // woken without an answer: keep waiting
        case step::write:
            if (ec) return self.complete(ec);
            if (!c.keep_alive()) return self.complete({});
            break;
        }
        at = step::read;
        c.async_read_request(std::move(self));
    }

private:
    // Runs the handler; returns true when the answer comes later through a responder.
    template <class Self>
    bool answer(Self& self) {
        auto& c = *conn;
        if constexpr (std::is_invocable_r_v<response, Handler&, const request&>) {
            *sync_answer = handler(std::as_const(c.request()));
            return false;
        } else {
            static_assert(std::is_invocable_v<Handler&, const request&, responder>,
                          "a handler takes (const request&) and returns a response, or takes "
                          "(const request&, responder)");
            slot = std::make_shared<detail::response_slot>(asio::any_io_executor(c.get_executor()));
            handler(std::as_const(c.request()), responder{slot});
            at = step::wait;
            wait(self);
            return true;
        }
    }

    // The responder posts to this executor, so an answer given inside the handler is
    // not in yet; the timer is cancelled when it is, or when the connection closes.
    template <class Self>
    void wait(Self& self) {
        slot->signal.async_wait(asio::bind_cancellation_slot(conn->close_slot(), std::move(self)));
    }

    template <class Self>
    void write(Self& self, const response& res) {
        at = step::write;
        conn->async_write_response(res, std::move(self));
    }
};

// Serves requests on `conn` until the client closes, the connection ends, or an
// error. Completes with {} on a normal end, else the error (already answered on
// the wire when HTTP has an answer for it). `conn` must outlive the operation.
template <class Stream, class Handler, class Token>
auto async_serve(server_connection<Stream>& conn, Handler handler, Token&& token) {
    return asio::async_compose<Token, void(std::error_code)>(
        serve_op<Stream, std::decay_t<Handler>>{&conn, std::move(handler)}, token, conn.next_layer());
}

}  // namespace herald::http

#endif
