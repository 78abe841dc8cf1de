// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_HUB_POLL_HPP
#define HERALD_ASIO_HUB_POLL_HPP

// The polling transports of the hub. A short poll is answered at once; a long poll
// at once when there is something to say (hub/route.hpp decide_poll), else it is
// parked: a hub subscriber answered by its first delivery or the lost signal, or
// with no messages at its deadline, or forgotten when its client hangs up.
//
// How it works: parked polls are in a longpoll::registry, which bounds them (in
// total and per topic: past either, 503 with Retry-After) and orders their
// deadlines; one timer on a strand of its own serves every deadline, armed for the
// registry's next one. A delivery answers from the hub's draining thread (a
// responder posts to its own connection), and only one of delivery, deadline and
// hang-up answers or drops a poll.

#include <herald/asio/hub/service.hpp>
#include <herald/asio/serve.hpp>
#include <herald/hub/route.hpp>
#include <herald/longpoll/registry.hpp>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace herald::hub {

class poll_parking : public std::enable_shared_from_this<poll_parking> {
public:
    using clock = longpoll::registry::clock;

    // A poll whose cursor is older than the hub keeps waits this long for the
    // history source, whatever its own timeout.
    static constexpr std::chrono::seconds source_wait{5};

    poll_parking(service& hub, const asio::any_io_executor& ex, const longpoll::limits& limits = {})
        : hub_(hub), ex_(ex), registry_(limits), strand_(asio::make_strand(ex)), timer_(strand_) {}

    // Answers the poll `r` now, or parks it until a message or r.timeout. A cursor
    // the hub cannot place, with a source behind it, is looked at again once the
    // source caught the topic up (a client of another node: hub::service::catch_up).
    void poll(const route& r, http::responder respond, bool caught_up = false) {
        std::optional<std::string_view> cursor;
        if (r.cursor) cursor = *r.cursor;
        std::error_code ec;
        const auto now = hub_.poll(r.topic, cursor, ec);
        if (ec) return respond(detail::text_response(status_for(ec), ec.message()));
        if (!caught_up && now.found.state == topic::outcome::lost && hub_.limits().topic.backed) {
            auto answer = std::make_shared<http::responder>(std::move(respond));
            return hub_.catch_up(r.topic, [self = shared_from_this(), r, answer](history_source::answer a) {
                if (a == history_source::answer::not_now) return (*answer)(try_again_later());
                self->poll(r, std::move(*answer), true);
            });
        }
        // A client without a cursor learns where "now" is; on a topic never numbered
        // here that is the source's position, which every node can place.
        if (!caught_up && (!cursor || cursor->empty()) && hub_.limits().topic.backed && split_position(now.newest).value_or(position{}).seq == 0) {
            auto answer = std::make_shared<http::responder>(std::move(respond));
            return hub_.latest(r.topic, [self = shared_from_this(), r, answer](std::string epoch, std::uint64_t seq) {
                // No topic there, or one with no message yet (a new epoch): the local "-0"
                // (it reads as whatever the topic adopts), not "<epoch>-0", which
                // nothing could place before that epoch's first message.
                if (epoch.empty() || seq == 0) return self->poll(r, std::move(*answer), true);
                (*answer)(poll_response(poll_body(make_position(epoch, seq), false, {})));
            });
        }
        auto step = decide_poll(now.found, cursor, now.newest, r.timeout, r.max_answer_bytes);
        if (step.body) return respond(poll_response(std::move(*step.body)));
        const auto wait = now.found.state == topic::outcome::behind ? std::max(r.timeout, source_wait) : r.timeout;
        auto w = std::make_shared<waiter>(weak_from_this(), std::move(respond), std::move(step.cursor));
        if (const auto refused = park(r.topic, clock::now() + wait, w)) return w->refuse(try_again_later(refused.message()));
        waiter::watch(w);
        // From the same cursor: what came since the look above is replayed to it.
        (void)hub_.subscribe(r.topic, cursor, w);
    }

    std::size_t waiting() const {
        std::lock_guard lock(mutex_);
        return registry_.waiting();
    }

    // Answers every parked poll now, with no messages (their clients poll again),
    // and parks none after: for the owner going away. The hub is not touched again.
    void close() {
        {
            std::lock_guard lock(mutex_);
            closed_ = true;
        }
        expire(clock::time_point::max());
        asio::post(strand_, [self = shared_from_this()] { self->timer_.cancel(); });
    }

private:
    // 503 with Retry-After (RFC 9110 §15.6.4, §10.2.3): too many parked, or a cursor
    // whose history source is away for now.
    static http::response try_again_later(std::string_view why = "history not reachable now, try again") {
        auto res = detail::text_response(503, why);
        res.fields.append("Retry-After", std::to_string(retry_later.count()));
        return res;
    }

    // Not enable_shared_from_this (16 bytes of one of many thousands): watch() is
    // given its owner.
    class waiter final : public subscriber {
    public:
        waiter(std::weak_ptr<poll_parking> parking, http::responder respond, std::string cursor)
            : parking_(std::move(parking)), respond_(std::move(respond)), cursor_(std::move(cursor)) {}

        std::string_view transport() const noexcept override { return "long_poll"; }
        std::size_t deliver(const message_ptr& m) override {
            if (!finish()) return 0;
            respond_(poll_response(poll_body(m->id, false, {m})));
            return m->json.size();
        }
        void lost(std::string_view, std::string_view id) override {
            if (finish()) respond_(poll_response(poll_body(id, true, {})));
        }
        void ready(std::string_view, std::string_view) override {}  // a parked poll always has a cursor
        bool unavailable(std::string_view, std::string_view) override {
            if (finish()) respond_(try_again_later());
            return true;
        }
        bool ended() const override { return done_; }
        // The parking's, which every waiter shares (not a copy each: a parked poll is
        // one of many thousands).
        asio::any_io_executor executor() const override {
            if (auto parking = parking_.lock()) return parking->ex_;
            return {};
        }

        void refuse(http::response res) {
            done_ = true;
            respond_(std::move(res));
        }
        // A client that hangs up is forgotten at once.
        static void watch(const std::shared_ptr<waiter>& w) {
            w->respond_.on_abandon([weak = std::weak_ptr<waiter>(w)] {
                if (auto self = weak.lock(); self && self->finish()) self->leave();
            });
        }
        // Its deadline passed (the registry let go of it already).
        void time_out() {
            if (done_.exchange(true)) return;
            respond_(poll_response(poll_body(cursor_, false, {})));
            leave();
        }
        // Declared before the other members, with done_ after it: the ticket starts in
        // the 4 bytes subscriber leaves at its end, and done_ takes the 4 before the
        // next 8-byte boundary (120 bytes, not 128).
        longpoll::ticket ticket;

    private:
        std::atomic<bool> done_{false};

        // -> whether this call ends the poll (only one does).
        bool finish() {
            if (done_.exchange(true)) return false;
            if (auto parking = parking_.lock()) parking->unpark(ticket);
            return true;
        }
        void leave() {
            auto parking = parking_.lock();
            if (!parking) return;
            std::unique_lock lock(parking->mutex_);
            if (parking->closed_) return;  // the hub may be gone
            lock.unlock();
            parking->hub_.unsubscribe(this);
        }

        std::weak_ptr<poll_parking> parking_;
        http::responder respond_;
        std::string cursor_;
    };

    std::error_code park(const std::string& topic_name, clock::time_point deadline, const std::shared_ptr<waiter>& w) {
        std::error_code ec;
        {
            std::lock_guard lock(mutex_);
            if (closed_) return longpoll::error::too_many_waiters;
            const auto parked = registry_.wait(topic_name, registry_.cursor(topic_name), deadline, ec);
            if (ec) return ec;
            w->ticket = parked.ticket;
            if (waiters_.size() <= parked.ticket.index) waiters_.resize(parked.ticket.index + 1);
            waiters_[parked.ticket.index] = w;
            if (deadline >= armed_) return ec;
            armed_ = deadline;
        }
        asio::post(strand_, [self = shared_from_this()] { self->arm(); });
        return ec;
    }

    void unpark(longpoll::ticket t) {
        std::lock_guard lock(mutex_);
        if (!registry_.cancel(t)) return;
        waiters_[t.index].reset();
        // The timer follows the earliest deadline, so it never holds the executor for a poll that is gone.
        if (registry_.next_deadline() == armed_) return;
        armed_ = registry_.next_deadline();
        asio::post(strand_, [self = shared_from_this()] { self->arm(); });
    }

    // On strand_: sets the timer for the registry's next deadline.
    void arm() {
        clock::time_point next;
        {
            std::lock_guard lock(mutex_);
            next = armed_ = registry_.next_deadline();
        }
        if (next == clock::time_point::max()) return (void)timer_.cancel();  // nothing parked: hold no work
        timer_.expires_at(next);
        timer_.async_wait([weak = weak_from_this()](std::error_code ec) {
            if (ec) return;  // re-armed or cancelled
            if (auto self = weak.lock()) {
                self->expire(clock::now());
                self->arm();
            }
        });
    }

    // Answers every poll whose deadline is at or before `now`, empty.
    void expire(clock::time_point now) {
        std::vector<std::shared_ptr<waiter>> due;
        {
            std::lock_guard lock(mutex_);
            std::vector<longpoll::ticket> tickets;
            registry_.expire(now, tickets);
            for (const auto& t : tickets) due.push_back(std::move(waiters_[t.index]));
        }
        for (const auto& w : due) w->time_out();
    }

    service& hub_;
    asio::any_io_executor ex_;
    mutable std::mutex mutex_;  // registry_, waiters_, armed_, closed_
    longpoll::registry registry_;
    std::vector<std::shared_ptr<waiter>> waiters_;  // by ticket index
    clock::time_point armed_ = clock::time_point::max();
    bool closed_ = false;  // close() was called
    asio::strand<asio::any_io_executor> strand_;
    asio::steady_timer timer_;
};

}  // namespace herald::hub

#endif
