// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_DETAIL_DEADLINE_HPP
#define HERALD_ASIO_DETAIL_DEADLINE_HPP

// One timer per connection that cancels the stream when it fires, so the pending
// read completes with operation_aborted and the operation sees `expired()`. Armed
// at phase changes only while reading (idle, head, body): a slow-loris client that
// sends a byte every few seconds does not push the deadline back. While an answer
// is written it is armed again each time the client takes bytes (write).

#include <asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>

namespace herald::asio_detail {

class deadline {
public:
    template <class Executor>
    explicit deadline(const Executor& ex) : timer_(ex) {}

    deadline(const deadline&) = delete;
    deadline& operator=(const deadline&) = delete;

    // Calls on_expire() once `after` has passed, unless disarmed or re-armed first.
    template <class OnExpire>
    void arm(std::chrono::steady_clock::duration after, OnExpire on_expire) {
        expired_ = false;
        const auto generation = ++*generation_;
        timer_.expires_after(after);
        timer_.async_wait([this, generation, weak = std::weak_ptr<unsigned>(generation_),
                           on_expire = std::move(on_expire)](const std::error_code& ec) mutable {
            // The owner may be gone, or the timer re-armed, by the time this runs.
            const auto alive = weak.lock();
            if (ec || !alive || *alive != generation) return;
            expired_ = true;
            on_expire();
        });
    }

    void disarm() noexcept {
        ++*generation_;
        timer_.cancel();
        expired_ = false;  // a deadline that fired as its operation succeeded is forgotten
    }

    bool expired() const noexcept { return expired_; }

private:
    asio::steady_timer timer_;
    std::shared_ptr<unsigned> generation_ = std::make_shared<unsigned>(0);
    bool expired_ = false;
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
        timer_.async_wait([this, life = std::weak_ptr<char>(life_)](const std::error_code& ec) {
            if (life.expired()) return;  // the owner is gone
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
    std::shared_ptr<char> life_ = std::make_shared<char>();
};

}  // namespace herald::asio_detail

#endif
