// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_DETAIL_DEADLINE_HPP
#define HERALD_ASIO_DETAIL_DEADLINE_HPP

// The slow-loris deadline of one HTTP connection: it cancels the stream when it
// passes, so the pending read or write completes with operation_aborted and the
// operation sees `expired()`. Armed at phase changes only while reading (idle,
// head, body): a client that sends a byte every few seconds does not push it
// back. While an answer is written it is armed again each time the client takes
// bytes.
//
// It is an entry in the execution context's coarse_deadlines sweep, not a timer of
// its own: arming is a clock read and an atomic store, and a connection that waits
// (an idle keep-alive connection, a parked long poll) has no timer wait pending —
// an Asio timer and its wait cost about 450 bytes per connection, and re-arming
// one three times per request cost a timerfd_settime each. A deadline is noticed
// up to an eighth of `resolution` late (at most 1 s), never early; uWebSockets
// sweeps its HTTP timeouts every 4 s.
//
// A deadline set keeps the sweep's wait, and so the context's work, until the
// sweep finds no deadline set: disarm() between phases lets it end by itself,
// cancel() (the connection's loop ended, or it closed) ends it now if this was the
// last deadline of the context.

#include <herald/asio/detail/coarse_deadlines.hpp>
#include <herald/asio/detail/lifeline.hpp>

#include <asio/post.hpp>

#include <chrono>
#include <concepts>
#include <functional>
#include <utility>

namespace herald::asio_detail {

// `OnExpire`: what a passed deadline does, given once at construction (an HTTP
// connection's is a pointer to it, 8 bytes: not a std::function of 32 assigned at
// each of the three arms of every request).
template <class Executor, class OnExpire = std::function<void()>>
class deadline {
public:
    using clock = std::chrono::steady_clock;

    deadline(const Executor& ex, OnExpire on_expire) : executor_(ex), on_expire_(std::move(on_expire)) {}

    deadline(const deadline&) = delete;
    deadline& operator=(const deadline&) = delete;
    ~deadline() { entry_.leave(); }  // before life_ goes: no sweep reads it after

    // Calls on_expire() once `after` has passed, on the executor, unless disarmed
    // or re-armed first. `resolution`: the shortest interval this deadline is ever
    // armed with (see above), taken at the first arm (not kept: 8 bytes a connection).
    void arm(clock::duration after, clock::duration resolution) {
        arm(after, [resolution] { return resolution; });
    }
    // The same, with `resolution()` called only at the first arm.
    template <std::invocable Resolution>
    void arm(clock::duration after, Resolution resolution) {
        if (!life_) {
            life_.get();  // made here, on the owner's thread: the sweep only copies it
            entry_.join(executor_, resolution(), this, &passed);
        }
        expired_ = false;
        armed_ = true;
        entry_.expires_at(clock::now() + after);
    }

    void disarm() noexcept {
        armed_ = false;
        expired_ = false;  // a deadline that fired as its operation succeeded is forgotten
        entry_.clear();
    }

    // No deadline any more: the sweep's wait ends now if nothing else needs it.
    void cancel() noexcept {
        disarm();
        entry_.cancel();
    }

    bool expired() const noexcept { return expired_; }

private:
    // The sweep's thread, under its lock (the entry is still joined, so this
    // object is there): only posts.
    static void passed(void* owner) {
        auto* self = static_cast<deadline*>(owner);
        asio::post(self->executor_, [self, life = self->life_.get()] {
            if (!life->owner_gone) self->check();
        });
    }

    void check() {
        if (!armed_) return;
        // Re-armed since the sweep took the passed time out of the entry: the entry
        // holds the new one, and the sweep waits for it (the time is kept there
        // only, not here too: 8 bytes a connection).
        if (entry_.is_set()) return;
        armed_ = false;
        expired_ = true;
        on_expire_();
    }

    Executor executor_;
    OnExpire on_expire_;
    bool armed_ = false;
    bool expired_ = false;
    lifeline<> life_;  // made by the first arm()
    coarse_deadlines::entry entry_;
};

}  // namespace herald::asio_detail

#endif
