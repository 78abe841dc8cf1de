// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_DETAIL_COARSE_DEADLINES_HPP
#define HERALD_ASIO_DETAIL_COARSE_DEADLINES_HPP

// Long deadlines of many idle connections on one timer per execution context: an
// SSE stream's next keep-alive comment and its write timeout. A timer per stream
// costs about 500 bytes while idle (the timer, its pending wait, the wait's
// handler) and a trip through the timer queue's heap for every re-arm; here a
// stream holds a 48-byte entry, and re-arming is one atomic store. uWebSockets does
// the same: one timer per loop sweeps every socket's timeout every 4 seconds.
//
// The sweep walks every entry each period; an entry whose deadline has passed is
// fired once (its owner re-arms it). The period is an eighth of the shortest
// interval an entry asked for since the sweep last had none, from 1 ms to 1 s, so
// a deadline is noticed at most that late, never early: 15-second keep-alives are
// sent within 15–16 seconds.
//
// The sweep's wait is pending work on the context, so it waits only while some
// entry has a deadline: the sweep that finds none stops, and the first deadline
// set again restarts it (one atomic count, so setting a deadline while others are
// set is still one store). An entry's cancel() stops it at once when it cleared the
// last deadline: a connection whose loop ended must not hold the context's run()
// for another period.

#include <asio/any_io_executor.hpp>
#include <asio/execution/context_as.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/execution_context.hpp>
#include <asio/prefer.hpp>
#include <asio/query.hpp>
#include <asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <mutex>
#include <optional>
#include <utility>

namespace herald::asio_detail {

class coarse_deadlines final : public asio::execution_context::service {
public:
    using clock = std::chrono::steady_clock;
    static inline asio::execution_context::id id;

    // A deadline, a member of its owner. `fire(owner)` is called on the sweep's
    // thread, under the sweep's lock, once the deadline has passed: it must only
    // post (to the owner's executor) and must not destroy the owner's last
    // reference. Leaves its context's sweep when destroyed.
    class entry {
    public:
        using fire_function = void (*)(void* owner);

        entry() = default;
        entry(const entry&) = delete;
        entry& operator=(const entry&) = delete;
        ~entry() { leave(); }

        // Joins the sweep of `ex`'s execution context. `resolution`: how late a
        // deadline may be noticed (the shortest interval the owner uses, say).
        template <class Executor>
        void join(const Executor& ex, clock::duration resolution, void* owner, fire_function fire) {
            owner_ = owner;
            fire_ = fire;
            asio::execution_context& context = asio::query(ex, asio::execution::context_as<asio::execution_context&>);
            asio::use_service<coarse_deadlines>(context).add(*this, timer_executor(ex), resolution);
        }
        void leave() noexcept {
            if (auto* service = std::exchange(service_, nullptr)) service->remove(*this);
        }

        // The owner's thread (or under its lock), after join().
        void expires_at(clock::time_point at) {
            const auto due = at.time_since_epoch().count();
            if (due == never) return clear();  // "never" is no deadline, and is not counted
            if (due_.exchange(due) == never && service_) service_->set_one();
        }
        // Whether a deadline is set: false once the sweep fired it (or clear()).
        bool is_set() const noexcept { return due_.load(std::memory_order_relaxed) != never; }
        // No deadline: the sweep stops by itself once none is left.
        void clear() noexcept {
            if (due_.exchange(never) != never && service_) service_->cleared_one();
        }
        // No deadline, and if none is left the sweep's wait ends now.
        void cancel() noexcept {
            clear();
            if (service_) service_->quiet();
        }

    private:
        friend coarse_deadlines;
        static constexpr clock::rep never = std::numeric_limits<clock::rep>::max();

        template <class Executor>
        static asio::any_io_executor timer_executor(const Executor& ex) {
            // A strand's inner executor: the sweep must not queue behind one connection.
            // Untracked: the sweep's wait must not keep run() from returning.
            if constexpr (requires { ex.get_inner_executor(); })
                return asio::prefer(asio::any_io_executor(ex.get_inner_executor()), asio::execution::outstanding_work.untracked);
            else return asio::prefer(asio::any_io_executor(ex), asio::execution::outstanding_work.untracked);
        }

        coarse_deadlines* service_ = nullptr;
        entry* prev_ = nullptr;
        entry* next_ = nullptr;
        std::atomic<clock::rep> due_{never};
        void* owner_ = nullptr;
        fire_function fire_ = nullptr;
    };

    explicit coarse_deadlines(asio::execution_context& context) : asio::execution_context::service(context) {}
    ~coarse_deadlines() override {
        // Entries of owners that outlive the context: they must not come back here.
        for (auto* e = head_; e; e = e->next_) e->service_ = nullptr;
    }

private:
    void shutdown() override {
        std::lock_guard lock(mutex_);
        timer_.reset();
        armed_ = false;
    }

    void add(entry& e, asio::any_io_executor ex, clock::duration resolution) {
        std::lock_guard lock(mutex_);
        e.service_ = this;
        if (e.due_.load() != entry::never) pending_.fetch_add(1);
        e.prev_ = nullptr;
        e.next_ = head_;
        if (head_) head_->prev_ = &e;
        head_ = &e;
        const auto wanted = std::clamp<clock::duration>(resolution / 8, std::chrono::milliseconds(1), std::chrono::seconds(1));
        const bool sooner = wanted < period_;
        period_ = std::min(period_, wanted);
        if (!timer_) timer_.emplace(std::move(ex));
        if (pending_.load() > 0 && (!armed_ || sooner)) arm_locked();
    }

    // An entry's deadline was set where it had none: the first one wakes the sweep.
    void set_one() {
        if (pending_.fetch_add(1) > 0) return;
        std::lock_guard lock(mutex_);
        if (!armed_ && timer_ && pending_.load() > 0) arm_locked();
    }
    void cleared_one() noexcept { pending_.fetch_sub(1); }
    void quiet() noexcept {
        if (pending_.load() > 0) return;
        std::lock_guard lock(mutex_);
        stop_if_idle_locked();
    }
    // No deadline set: the wait goes now. Whatever armed_ says: a sweep already
    // queued when a wait was cancelled may have cleared it with a newer wait out.
    void stop_if_idle_locked() noexcept {
        if (pending_.load() != 0 || !timer_) return;
        timer_->cancel();
        armed_ = false;
    }

    void remove(entry& e) noexcept {
        std::lock_guard lock(mutex_);
        if (e.due_.exchange(entry::never) != entry::never) pending_.fetch_sub(1);
        if (e.prev_) e.prev_->next_ = e.next_;
        else head_ = e.next_;
        if (e.next_) e.next_->prev_ = e.prev_;
        e.prev_ = e.next_ = nullptr;
        // No deadline left: no wait holds the context's run() for another period.
        if (!head_) period_ = std::chrono::seconds(1);  // a short interval asked for once is not kept for good
        stop_if_idle_locked();
    }

    void arm_locked() {
        armed_ = true;
        timer_->expires_after(period_);
        timer_->async_wait([this](std::error_code ec) {
            if (!ec) sweep();  // cancelled: remove() or a re-arm took over
        });
    }

    void sweep() {
        std::lock_guard lock(mutex_);
        if (!timer_) return;
        armed_ = false;  // this wait is over (a newer one may be out: arm_locked() or a cancel replaces it)
        const auto now = clock::now().time_since_epoch().count();
        for (auto* e = head_; e; e = e->next_) {
            auto due = e->due_.load(std::memory_order_relaxed);
            if (due <= now && e->due_.compare_exchange_strong(due, entry::never)) {
                pending_.fetch_sub(1);
                e->fire_(e->owner_);
            }
        }
        if (head_ && pending_.load() > 0) return arm_locked();
        if (!head_) period_ = std::chrono::seconds(1);
        stop_if_idle_locked();  // no deadline set: the next one set wakes the sweep
    }

    std::mutex mutex_;
    entry* head_ = nullptr;
    std::optional<asio::steady_timer> timer_;
    clock::duration period_ = std::chrono::seconds(1);
    bool armed_ = false;  // the timer's wait is out
    std::atomic<std::size_t> pending_{0};  // entries with a deadline set
};

}  // namespace herald::asio_detail

#endif
