// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_DETAIL_DEADLINE_HPP
#define HERALD_ASIO_DETAIL_DEADLINE_HPP

// One timer per connection that cancels the stream when it fires, so the pending
// read completes with operation_aborted and the operation sees `expired()`. Armed
// at phase changes only (idle, head, body): a slow-loris client that sends a byte
// every few seconds does not push the deadline back.

#include <asio/steady_timer.hpp>

#include <chrono>
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
    }

    bool expired() const noexcept { return expired_; }

private:
    asio::steady_timer timer_;
    std::shared_ptr<unsigned> generation_ = std::make_shared<unsigned>(0);
    bool expired_ = false;
};

}  // namespace herald::asio_detail

#endif
