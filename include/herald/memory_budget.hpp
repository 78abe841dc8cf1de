// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_MEMORY_BUDGET_HPP
#define HERALD_MEMORY_BUDGET_HPP

// One bound, for the whole process, on the memory whose size peers decide: data
// partly received (a WebSocket message being assembled, an HTTP request body) and
// output queued for a peer that does not read. Per-connection limits bound one
// peer; they do not bound a thousand peers that each stay under them (two clients
// that each send 60 MiB messages and never read took 860 MB of the echo server
// before this). A memory_budget is shared by every connection that is given it,
// on any thread; each takes from it what it holds and gives it back when the
// memory is freed. What cannot be taken is refused with budget_error::exhausted,
// answered as its protocol says: WebSocket close 1009 for a message that cannot be
// received, the write refused (and the hub's 1008) for output that cannot be
// queued, HTTP 503 with Retry-After for a body that cannot be read.
//
// Sans-I/O: an atomic counter, no clock and no allocation. The count is of the
// bytes held (the payloads), not of the allocator's overhead: size the budget with
// headroom under what the machine has (docs/limits.md).

#include <herald/error.hpp>

#include <atomic>
#include <cstddef>
#include <system_error>
#include <utility>

namespace herald {

enum class budget_error {
    exhausted = 1,  // taking more would pass the process's memory budget
};

inline const char* describe(budget_error e) noexcept {
    switch (e) {
    case budget_error::exhausted: return "the process's memory budget is exhausted";
    }
    return nullptr;
}

inline condition condition_of(budget_error e) noexcept {
    switch (e) {
    case budget_error::exhausted: return condition::limit_exceeded;
    }
    return condition::limit_exceeded;
}

HERALD_VISIBLE inline const std::error_category& budget_category() noexcept {
    static const detail::enum_category<budget_error> instance{"herald.budget"};
    return instance;
}

inline std::error_code make_error_code(budget_error e) noexcept { return {static_cast<int>(e), budget_category()}; }

class memory_budget {
public:
    explicit memory_budget(std::size_t limit) noexcept : limit_(limit) {}

    memory_budget(const memory_budget&) = delete;
    memory_budget& operator=(const memory_budget&) = delete;

    // Takes `n` bytes if they fit under the limit; otherwise takes nothing.
    bool try_take(std::size_t n) noexcept {
        std::size_t used = used_.load(std::memory_order_relaxed);
        do {
            if (n > limit_ - used) {  // used <= limit_ always holds, so no wrap
                refusals_.fetch_add(1, std::memory_order_relaxed);
                return false;
            }
        } while (!used_.compare_exchange_weak(used, used + n, std::memory_order_relaxed));
        return true;
    }

    void give_back(std::size_t n) noexcept { used_.fetch_sub(n, std::memory_order_relaxed); }

    std::size_t limit() const noexcept { return limit_; }
    std::size_t used() const noexcept { return used_.load(std::memory_order_relaxed); }
    // How many times something was refused: for stats and tests.
    std::size_t refusals() const noexcept { return refusals_.load(std::memory_order_relaxed); }

private:
    const std::size_t limit_;
    std::atomic<std::size_t> used_{0};
    std::atomic<std::size_t> refusals_{0};
};

// What one holder (a connection's input, or its output) has taken from a budget,
// given back when it is destroyed. Without a budget every change succeeds: the
// holder's own limits are then the only bound.
class budget_share {
public:
    budget_share() noexcept = default;
    explicit budget_share(memory_budget* budget) noexcept : budget_(budget) {}
    budget_share(budget_share&& other) noexcept
        : budget_(std::exchange(other.budget_, nullptr)), held_(std::exchange(other.held_, 0)) {}
    budget_share& operator=(budget_share&& other) noexcept {
        if (this != &other) {
            release();
            budget_ = std::exchange(other.budget_, nullptr);
            held_ = std::exchange(other.held_, 0);
        }
        return *this;
    }
    ~budget_share() { release(); }

    // Holds `n` bytes from now on: takes the difference when it grows (false, and
    // nothing changed, when the budget cannot give it), gives it back when it shrinks.
    bool hold(std::size_t n) noexcept {
        if (!budget_) return true;
        if (n > held_) {
            if (!budget_->try_take(n - held_)) return false;
        } else {
            budget_->give_back(held_ - n);
        }
        held_ = n;
        return true;
    }

    // Gives back what is held above `n`, and never takes more.
    void shrink_to(std::size_t n) noexcept {
        if (n < held_) (void)hold(n);
    }

    void release() noexcept { shrink_to(0); }

    std::size_t held() const noexcept { return held_; }
    memory_budget* budget() const noexcept { return budget_; }

private:
    memory_budget* budget_ = nullptr;
    std::size_t held_ = 0;
};

}  // namespace herald

template <>
struct std::is_error_code_enum<herald::budget_error> : std::true_type {};

#endif
