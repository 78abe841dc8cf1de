// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_HUB_DETAIL_SLOT_HPP
#define HERALD_ASIO_HUB_DETAIL_SLOT_HPP

// One topic of the hub service with its subscribers: the topic itself and a queue
// of work (deliveries, subscribes with their replay, unsubscribes, lost signals,
// what a history source sent), all guarded by the slot's mutex, and the subscriber
// list, which only the thread draining the queue touches. service.hpp decides who
// drains; this file is what a drain does, one item at a time, in order.

#include <herald/asio/hub/subscriber.hpp>
#include <herald/hub/sequencer.hpp>
#include <herald/hub/topic.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace herald::hub::detail {

struct slot_work {
    enum class kind { deliver, attach, detach, lost, fetched } what;
    message_ptr m{};                    // deliver
    std::shared_ptr<subscriber> s{};    // attach, fetched
    const subscriber* gone = nullptr;   // detach
    topic::resume_result found{};       // attach: what resume found; fetched: what the source had
    std::string id{};                   // attach: the newest id; lost, fetched: where a lost client continues
    std::uint64_t until = 0;            // fetched: the end of the range asked
    std::uint32_t generation = 0;       // attach: the subscriber's generation when asked
    // attach: a fresh subscriber started from a position (service::start): ready(id)
    // first, then what came after it.
    bool ready_at_cursor = false;
    bool not_now = false;  // fetched: the source could not answer now (history_source::answer)
};

// What one drained batch did.
struct drained {
    std::size_t messages = 0;  // deliveries, and their bytes
    std::size_t bytes = 0;
    std::vector<std::shared_ptr<subscriber>> ended;     // found ended: to forget
    std::vector<std::shared_ptr<subscriber>> detached;  // unsubscribed: to let go of
};

class slot : public topic {
public:
    slot(std::string name, std::string epoch, topic_limits limits)
        : topic(std::move(name), std::move(epoch), limits), max_held_(limits.max_held) {}

    std::mutex mutex;  // the topic, the queue, draining, fetching_gap
    bool fetching_gap = false;
    std::size_t attached = 0;  // subscribers on it (guarded by the service's lock): never reclaimed

    // Under mutex: queues `w`. -> whether the caller drains (nobody else is).
    bool push(slot_work w) {
        queue_.push_back(std::move(w));
        return !std::exchange(draining_, true);
    }

    // Takes the queued work into `batch` (emptied first). -> false, and draining
    // ends, when there was none.
    bool take(std::vector<slot_work>& batch) {
        batch.clear();
        std::lock_guard lock(mutex);
        if (queue_.empty()) return draining_ = false;
        batch.swap(queue_);
        return true;
    }

    // Outside the lock, by the drainer only.
    void run(std::vector<slot_work>& batch, drained& out) {
        for (auto& w : batch) run(w, out);
        for (std::size_t i = 0; i < followers_.size();) {
            if (followers_[i].s->ended()) out.ended.push_back(take_follower(i).s);  // the last moves into i: look again
            else ++i;
        }
    }

private:
    struct follower {
        std::shared_ptr<subscriber> s;
        // While the source's part of its replay is missing. On the heap: a follower
        // is one of many thousands (a parked long poll among them), and few catch
        // up at once (72 bytes inline against 8).
        std::unique_ptr<sequencer<message_ptr>> catching_up;
    };

    void run(slot_work& w, drained& t) {
        switch (w.what) {
        case slot_work::kind::deliver:
            for (auto& f : followers_) give(f, w.m, t);
            break;
        case slot_work::kind::attach: start(w, t); break;
        case slot_work::kind::detach:
            for (std::size_t i = 0; i < followers_.size(); ++i)
                if (followers_[i].s.get() == w.gone) return t.detached.push_back(take_follower(i).s);
            break;
        case slot_work::kind::lost:
            for (auto& f : followers_) {
                f.catching_up.reset();
                f.s->lost(name(), w.id);
            }
            break;
        case slot_work::kind::fetched: splice(w, t); break;
        }
    }

    static void deliver_to(follower& f, const message_ptr& m, drained& t) {
        if (const auto bytes = f.s->deliver(m)) ++t.messages, t.bytes += bytes;
    }

    // A live message: straight to the subscriber, or into its catch-up order.
    void give(follower& f, const message_ptr& m, drained& t) {
        if (!f.catching_up) return deliver_to(f, m, t);
        if (f.catching_up->offer(m->seq, m) == sequencer<message_ptr>::verdict::overflow) {
            // Too much arrived while the source was asked: give up the missing part.
            f.catching_up.reset();
            const auto at = split_position(m->id);
            f.s->lost(name(), make_position(at ? at->epoch : std::string_view(), m->seq - 1));
            return deliver_to(f, m, t);
        }
        flush(f, t);
    }

    static void flush(follower& f, drained& t) {
        while (auto next = f.catching_up->next()) deliver_to(f, next->second, t);
    }

    void start(slot_work& w, drained& t) {
        // Unsubscribed (or subscribed again) since: this attach is void.
        if (w.s->generation_.load() != w.generation) return t.detached.push_back(std::move(w.s));
        follower f{std::move(w.s), nullptr};
        auto& found = w.found;
        // A replay larger than the subscriber can queue is the lost signal instead.
        const bool replay = found.state == topic::outcome::resumed || found.state == topic::outcome::behind;
        if (replay && !f.s->can_take(found.messages)) found.state = topic::outcome::lost;
        switch (found.state) {
        case topic::outcome::fresh: f.s->ready(name(), w.id); break;
        case topic::outcome::lost: f.s->lost(name(), w.id); break;
        case topic::outcome::resumed:
            if (w.ready_at_cursor) f.s->ready(name(), w.id);
            for (const auto& m : found.messages) deliver_to(f, m, t);
            break;
        case topic::outcome::behind:
            if (w.ready_at_cursor) f.s->ready(name(), w.id);
            f.catching_up = std::make_unique<sequencer<message_ptr>>(found.missing.first - 1, max_held_ + found.messages.size());
            for (const auto& m : found.messages) f.catching_up->offer(m->seq, m);
            break;
        }
        if (f.s->ended()) return t.ended.push_back(std::move(f.s));
        followers_.push_back(std::move(f));
    }

    // What the source had for a follower catching up, spliced by sequence number.
    void splice(slot_work& w, drained& t) {
        std::size_t at = 0;
        while (at < followers_.size() && followers_[at].s != w.s) ++at;
        if (at == followers_.size() || !followers_[at].catching_up) return;  // gone, or told lost meanwhile
        follower* f = &followers_[at];
        // What the source had, if the subscriber can queue it; else it is lost too.
        if (f->s->can_take(w.found.messages))
            for (const auto& m : w.found.messages) f->catching_up->offer(m->seq, m);
        flush(*f, t);
        if (f->catching_up->last() < w.until && w.not_now && f->s->unavailable(name(), w.id))
            return t.ended.push_back(take_follower(at).s);  // the rest may come later: so may the client
        if (f->catching_up->last() < w.until) {  // the source no longer has all of it
            f->s->lost(name(), w.id);
            f->catching_up->skip_to(w.until + 1);
            flush(*f, t);
        }
        f->catching_up.reset();  // what it holds now follows on live
    }

    follower take_follower(std::size_t i) {
        follower out = std::move(followers_[i]);
        if (i + 1 != followers_.size()) followers_[i] = std::move(followers_.back());
        followers_.pop_back();
        return out;
    }

    std::vector<slot_work> queue_;
    bool draining_ = false;
    std::vector<follower> followers_;  // the drainer's alone
    std::size_t max_held_;
};

}  // namespace herald::hub::detail

#endif
