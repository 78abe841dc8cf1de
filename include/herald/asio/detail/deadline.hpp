// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_DETAIL_DEADLINE_HPP
#define HERALD_ASIO_DETAIL_DEADLINE_HPP

// One timer per connection that cancels the stream when it fires, so the pending
// read completes with operation_aborted and the operation sees `expired()`. Armed
// at phase changes only while reading (idle, head, body): a slow-loris client that
// sends a byte every few seconds does not push the deadline back. While an answer
// is written it is armed again each time the client takes bytes (write).
//
// Arming costs a clock read, not a timer operation: a keep-alive connection arms
// three times per request (idle, body, write), and re-arming an Asio timer each
// time (cancel, a new wait, the kernel's timerfd reset) cost more than parsing the
// request. The timer's one wait goes on while it ends no later than the deadline;
// when it ends early (the deadline moved later) it waits again for the rest, and
// only a deadline sooner than the wait restarts it. disarm() leaves the wait to
// end by itself; cancel() (the connection closes) ends it now.

#include <herald/asio/detail/lifeline.hpp>

#include <asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>

namespace herald::asio_detail {

class deadline {
public:
    using clock = std::chrono::steady_clock;

    template <class Executor>
    explicit deadline(const Executor& ex) : timer_(ex) {}

    deadline(const deadline&) = delete;
    deadline& operator=(const deadline&) = delete;

    // Calls on_expire() once `after` has passed, unless disarmed or re-armed first.
    void arm(clock::duration after, std::function<void()> on_expire) {
        expired_ = false;
        armed_ = true;
        due_ = clock::now() + after;
        on_expire_ = std::move(on_expire);
        if (!waiting_ || due_ < waiting_until_) wait();
    }

    void disarm() noexcept {
        armed_ = false;
        expired_ = false;  // a deadline that fired as its operation succeeded is forgotten
    }

    // No deadline any more: the wait ends now rather than hold the executor's work.
    void cancel() noexcept {
        disarm();
        if (!waiting_) return;
        timer_.cancel();
        // No wait from now on, at once: an arm() before the aborted wait's handler
        // runs must start a new one (that handler is stale, and returns).
        waiting_ = false;
        ++generation_;
    }

    bool expired() const noexcept { return expired_; }

private:
    void wait() {
        waiting_ = true;
        waiting_until_ = due_;
        const unsigned generation = ++generation_;  // a wait restarted makes the one before stale
        timer_.expires_at(due_);
        timer_.async_wait([this, generation, life = life_.get()](const std::error_code& ec) {
            // The owner may be gone, or the wait restarted, by the time this runs.
            if (life->owner_gone || generation != generation_) return;
            waiting_ = false;
            if (ec || !armed_) return;
            if (clock::now() < due_) return wait();  // the deadline moved later
            armed_ = false;
            expired_ = true;
            on_expire_();
        });
    }

    asio::steady_timer timer_;
    std::function<void()> on_expire_;
    clock::time_point due_{};
    clock::time_point waiting_until_{};
    unsigned generation_ = 0;
    bool armed_ = false;
    bool waiting_ = false;
    bool expired_ = false;
    lifeline<> life_;  // made by the first wait
};

// A write timeout without a timer operation per write (uWebSockets' timeouts are
// as coarse, for the same reason): start() records when a write began, and one
// timer, armed only when none is pending, checks when it fires whether the write
// under way has run past the timeout — if so on_expire() runs, if a later write
// is under way it re-arms for that one, if none is it stops until the next
// start(). A write that finishes in time, nearly all of them, costs a clock read.
class write_watchdog {
public:
    using clock = std::chrono::steady_clock;

    template <class Executor>
    write_watchdog(const Executor& ex, clock::duration timeout) : timer_(ex), timeout_(timeout) {}

    write_watchdog(const write_watchdog&) = delete;
    write_watchdog& operator=(const write_watchdog&) = delete;

    // What runs when a write is late; set before the first start().
    void on_expire(std::function<void()> f) { on_expire_ = std::move(f); }

    void start() {
        started_ = clock::now();
        writing_ = true;
        if (!armed_ && timeout_ > clock::duration::zero()) arm(started_ + timeout_);
    }
    void stop() noexcept { writing_ = false; }
    // No more writes: the timer goes now rather than holding the executor's work.
    void cancel() {
        writing_ = false;
        timer_.cancel();
    }

private:
    void arm(clock::time_point at) {
        armed_ = true;
        timer_.expires_at(at);
        timer_.async_wait([this, life = life_.get()](const std::error_code& ec) {
            if (life->owner_gone) return;
            armed_ = false;
            if (ec || !writing_) return;
            if (clock::now() - started_ >= timeout_) {
                if (on_expire_) on_expire_();
                return;
            }
            arm(started_ + timeout_);
        });
    }

    asio::steady_timer timer_;
    clock::duration timeout_;
    std::function<void()> on_expire_;
    clock::time_point started_{};
    bool writing_ = false;
    bool armed_ = false;
    lifeline<> life_;  // made by the first wait
};

}  // namespace herald::asio_detail

#endif
