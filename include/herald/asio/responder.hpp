// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_RESPONDER_HPP
#define HERALD_ASIO_RESPONDER_HPP

// http::responder: how an asynchronous handler of async_serve (serve.hpp) answers
// its request later, from any thread, hands the connection off, or hears that the
// request was abandoned. The serving loop and the responder meet in a
// response_slot, on the connection's executor.

#include <herald/asio/detail/small_callback.hpp>
#include <herald/http/message.hpp>

#include <asio/error.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string_view>
#include <thread>
#include <typeinfo>
#include <utility>

namespace herald::http {

namespace detail {

// Where an asynchronous answer lands, and how the serving loop waiting for it is
// woken (wake()) once the answer, a hand-off or the client's going away is in:
// - a parked request's loop waits on its socket's readiness (serve.hpp, park), and
//   is woken by cancelling that wait: nothing else is pending while it waits, as
//   the request may wait long (a long poll is one of many thousands);
// - otherwise it waits on `signal`, a timer made for the purpose, with a read out
//   beside it for the client's going away.
// All members but the atomic ones are touched on the connection's executor only.
struct response_slot {
    response_slot() = default;
    response_slot(const response_slot&) = delete;
    response_slot& operator=(const response_slot&) = delete;
    virtual ~response_slot() = default;

    std::unique_ptr<asio::steady_timer> signal;
    // While the loop is parked, its connection: waking it cancels its socket's wait
    // (the connection outlives the wait, and both are touched on its executor
    // only). How is the derived slot's, which knows the connection's type: a
    // virtual call, not a function pointer kept in each slot (8 bytes).
    void* parked_connection = nullptr;
    virtual void wake_parked() = 0;
    void wake() {
        if (parked_connection) wake_parked();
        else if (signal) signal->cancel();
    }
    // The answer, once given: on the heap, so a parked request's slot holds no
    // empty response meanwhile (a parked long poll is one of many thousands).
    std::unique_ptr<response> value;
    // A hand-off instead of an answer: `take` is called with the connection
    // (type-checked against `type`) once the serving loop has let go of it. On the
    // heap, as the answer: a connection hands off once, and the slot of every
    // answered or parked request is 32 bytes smaller for it.
    struct handoff_call {
        const std::type_info* type;
        std::function<void(const std::shared_ptr<void>&)> take;
    };
    std::unique_ptr<handoff_call> handoff;
    // Called once if the request is abandoned: the client went away or the
    // connection was closed before an answer.
    asio_detail::small_callback on_abandon;
    // on_abandon was asked for, at once (it is set through a post): the request is
    // parked for long, so its connection keeps no read buffer meanwhile, and its
    // loop waits on the socket (serve.hpp, park).
    std::atomic<bool> parks{false};
    // Beside parks, not beside what they go with below: three flags in one word
    // keep the slot 16 bytes smaller (a parked long poll is one of many thousands).
    bool watching = false;   // a read or a readiness wait is out to notice the client going away
    bool abandoned = false;  // the loop ended without an answer
    // The thread running the handler, while it runs: an answer given inside the
    // call is filled in at once, and the loop writes it with no post or watch.
    std::atomic<std::thread::id> inside_handler{};
    std::error_code gone{};  // what the watch ended with, when the client left
    // The watch ended with `ec`: an error other than a cancel means the client left.
    void watch_ended(std::error_code ec) noexcept {
        watching = false;
        if (ec && ec != asio::error::operation_aborted) gone = ec;
    }

    // Ready for the connection's next request, as a new slot would be: the serving
    // loop reuses its slot once nothing else holds it (serve.hpp, answer), one
    // allocation less per request. A timer made for an earlier wait is kept.
    void start_over() noexcept {
        parked_connection = nullptr;
        value.reset();
        handoff.reset();
        on_abandon = nullptr;
        parks.store(false, std::memory_order_relaxed);
        watching = false;
        abandoned = false;
        inside_handler.store({}, std::memory_order_relaxed);
        gone = {};
    }

    // What a responder gives from outside the handler's call: an answer, a
    // hand-off, or an on_abandon function. Made on the giver's thread, applied on
    // the connection's executor (apply).
    struct settlement {
        std::unique_ptr<response> value;
        std::unique_ptr<handoff_call> handoff;
        asio_detail::small_callback on_abandon;
    };
    // Posts apply(s) to the connection's executor, which keeps `self` alive.
    virtual void post(std::shared_ptr<response_slot> self, settlement s) = 0;

    // On the connection's executor. The first answer or hand-off wins; an
    // on_abandon given after the loop ended is called at once.
    void apply(settlement s) {
        if (value || handoff) return;
        if (s.value || s.handoff) {
            value = std::move(s.value);
            handoff = std::move(s.handoff);
            on_abandon = nullptr;
            return wake();
        }
        if (abandoned) {
            if (s.on_abandon) s.on_abandon();
            return;
        }
        on_abandon = std::move(s.on_abandon);
    }
};

// What waking a parked connection does (response_slot::wake_parked): a stateless
// callable given the connection. None, for a slot whose loop never parks.
struct never_parked {
    void operator()(void*) const noexcept {}
};

// The slot of a connection whose executor is `Executor`: the executor itself
// (8 bytes for an io_context's, 24 for a strand of it), not a type-erased copy (56).
template <class Executor, class WakeParked = never_parked>
struct response_slot_on final : response_slot {
    explicit response_slot_on(Executor ex) : executor(std::move(ex)) {}
    void wake_parked() override { WakeParked{}(parked_connection); }
    void post(std::shared_ptr<response_slot> self, settlement s) override {
        asio::post(executor, [self = std::move(self), s = std::move(s)]() mutable { self->apply(std::move(s)); });
    }
    Executor executor;
};

// Marks the slot's handler call on this thread for as long as it runs, thrown or not.
struct handler_call {
    explicit handler_call(response_slot& s) noexcept : slot(s) {
        slot.inside_handler.store(std::this_thread::get_id(), std::memory_order_relaxed);
    }
    ~handler_call() { slot.inside_handler.store({}, std::memory_order_relaxed); }
    handler_call(const handler_call&) = delete;
    handler_call& operator=(const handler_call&) = delete;
    response_slot& slot;
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
            also_ = std::move(other.also_);
        }
        return *this;
    }
    ~responder() { drop(); }

    // Answers the request, from any thread (the answer is posted to the
    // connection's executor, or taken at once inside the handler's call); a second
    // call does nothing. Like any object, one
    // responder is not called from two threads at once: give it to one owner.
    void operator()(response res) {
        if (also_)
            for (const auto f : *also_) res.fields.append(f.name, f.value);
        detail::response_slot::settlement s;
        s.value = std::make_unique<response>(std::move(res));
        settle(std::move(s));
    }

    // A field every answer through this responder carries, whoever gives it (a
    // front handler's Access-Control-Allow-Origin, say). Not a hand-off's: the
    // taker writes its own head.
    void also(std::string_view name, std::string_view value) {
        if (!also_) also_ = std::make_unique<fields>();
        also_->append(name, value);
    }

    // Takes the connection over instead of answering: the serving loop reads no
    // more requests and calls `fn(std::shared_ptr<Connection>)` on the connection's
    // executor. `Connection` is the server_connection type being served
    // (http::server::connection_type under http::server); a mismatch answers 500.
    // This is how a streaming response (SSE) or an upgrade (WebSocket) leaves the
    // request/response loop. From any thread, as operator(); counts as the answer.
    template <class Connection, class Fn>
    void hand_off(Fn fn) {
        detail::response_slot::settlement s;
        s.handoff = std::make_unique<detail::response_slot::handoff_call>(detail::response_slot::handoff_call{
            &typeid(Connection), [fn = std::move(fn)](const std::shared_ptr<void>& conn) mutable {
                fn(std::static_pointer_cast<Connection>(conn));
            }});
        settle(std::move(s));
    }

    // Calls `fn()` (on the connection's executor) if the request is abandoned before
    // it is answered: the client closed its connection while the request was parked,
    // or the connection was closed. Long polling unparks the request there.
    // Registering it also says the request waits long: its connection then holds no
    // read buffer and no request until the answer (docs/http.md): a hand-off given
    // after it finds conn->request() empty, and only conn->head_request() left.
    // `fn` is kept without a heap block when it is two words or less (a lambda
    // holding a std::weak_ptr to its owner) and does not throw when moved; an empty
    // one (nullptr, an empty std::function) parks the request and calls nothing.
    void on_abandon(asio_detail::small_callback fn) {
        if (!slot_) return;
        slot_->parks.store(true, std::memory_order_relaxed);
        detail::response_slot::settlement s;
        s.on_abandon = std::move(fn);
        slot_->post(slot_, std::move(s));
    }

    bool answered() const noexcept { return !slot_; }

private:
    void settle(detail::response_slot::settlement s) {
        if (!slot_) return;
        auto slot = std::move(slot_);
        if (slot->inside_handler.load(std::memory_order_relaxed) == std::this_thread::get_id()) {
            // On the connection's executor, inside the handler (serve_op::answer):
            // taken at once, and nothing to wake.
            slot->value = std::move(s.value);
            slot->handoff = std::move(s.handoff);
            return;
        }
        auto* target = slot.get();
        target->post(std::move(slot), std::move(s));
    }

    void drop() {
        if (slot_) (*this)(response{500, "text/plain; charset=utf-8", "the request handler gave no answer\n"});
    }
    std::shared_ptr<detail::response_slot> slot_;
    std::unique_ptr<fields> also_;  // made by also(): most responders add nothing, and a parked one waits long
};

}  // namespace herald::http

#endif
