// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_HUB_IMPL_SERVICE_SOURCE_HPP
#define HERALD_ASIO_HUB_IMPL_SERVICE_SOURCE_HPP

// Included at the end of asio/hub/service.hpp: what the service does with a
// history source (a Redis broker): start a subscriber from its cursor, catching the
// topic up first when the cursor is one the hub cannot place; fetch what a
// subscriber missed; fetch a gap in what a broker numbered, or give it up.
#include <herald/asio/hub/service.hpp>

namespace herald::hub {

// Queues the attach `w` of `s` on `here`, with what its cursor missed: kept
// messages, a range to fetch (behind), the lost signal, or "now". A cursor the hub
// cannot place (lost, with a source behind the hub) is first brought up to date by
// the source, once: it may come from a client of another node that is ahead of
// this one, or from an epoch this node has not seen yet.
inline void service::start(const std::shared_ptr<slot>& here, const std::shared_ptr<subscriber>& s, work w,
                           std::optional<std::string> cursor, bool may_catch_up) {
    std::optional<seq_range> missing;
    std::string epoch;
    bool mine = false, catch_up = false;
    if (may_catch_up && (!cursor || cursor->empty())) {
        std::string local;
        {
            std::lock_guard lock(here->mutex);
            if (here->last_seq() == 0) local = here->last_id();
        }
        if (!local.empty()) return start_fresh(here, s, std::move(w), std::move(local));
    }
    {
        std::lock_guard lock(here->mutex);
        std::optional<std::string_view> from;
        if (cursor) from = *cursor;
        w.found = here->resume(from);
        w.id = here->last_id();
        if (w.ready_at_cursor && w.found.state != topic::outcome::lost) {  // ready at the cursor, in the topic's numbering
            const auto at = here->parse_id(*cursor);
            w.id = at ? make_position(here->epoch(), *at) : *cursor;
        }
        catch_up = may_catch_up && w.found.state == topic::outcome::lost;
        if (!catch_up && w.found.state == topic::outcome::behind) {
            // Fetched and held per subscriber: a cursor further behind than
            // max_held is told lost rather than fetched (a client cannot make the
            // hub build its whole history for it).
            const auto& m = w.found.missing;
            if (m.last - m.first + 1 > core_.limits().topic.max_held) w.found = {topic::outcome::lost, {}, {}};
            else missing = m, epoch = here->epoch();
        }
        if (!catch_up) mine = queue(*here, std::move(w));
    }
    if (catch_up) {  // outside the lock: the source may answer at once
        const std::string name = here->name();
        return source_->catch_up(name, [this, life = life_, here, s, w = std::move(w),
                                        cursor = std::move(cursor)](history_source::answer a) mutable {
            const detail::living alive(life);
            if (!alive.in || s->generation_.load() != w.generation) return;  // unsubscribed (or moved) meanwhile
            if (a == history_source::answer::not_now) {
                std::string id;
                {
                    std::lock_guard lock(here->mutex);
                    id = here->last_id();
                }
                // Never attached: it comes back later, or (a transport that cannot) is told lost below.
                if (s->unavailable(here->name(), id)) return unsubscribe(s.get());
            }
            start(here, s, std::move(w), std::move(cursor), false);
        });
    }
    if (mine) drain(*here);
    if (missing) fetch_for(here, s, epoch, *missing);
}

// A fresh subscriber (no cursor) of a topic never numbered here is started from
// the source's latest position (history_source::latest), the topic anchored
// there: its ready id is then one every node can place, and it gets every message
// numbered after it. When the source has no such topic, or cannot say now, it
// starts from `local`, the "<local epoch>-0" the topic had when it subscribed:
// that reads as whatever numbering the topic adopted meanwhile, so a message
// published here just after subscribe() returned is not skipped.
inline void service::start_fresh(const std::shared_ptr<slot>& here, const std::shared_ptr<subscriber>& s, work w,
                                 std::string local) {
    source_->latest(here->name(), [this, life = life_, here, s, w = std::move(w), local = std::move(local)](std::string at,
                                                                                                          std::uint64_t seq) mutable {
        const detail::living alive(life);
        if (!alive.in) return;
        std::string from = std::move(local);
        if (!at.empty()) {
            std::lock_guard lock(here->mutex);
            here->anchor(at, seq);
            // Anchored lower by another fresh subscriber, with what lies between
            // still on its way here: from there (a cursor ahead would read as lost).
            if (here->epoch() == at && here->last_seq() < seq) seq = here->last_seq();
            from = make_position(at, seq);
        }
        w.ready_at_cursor = true;
        start(here, s, std::move(w), std::move(from), false);
    });
}

// Asks the source for what `sub` missed before `s` kept it; the answer is
// spliced in by the drain (slot::splice).
inline void service::fetch_for(const std::shared_ptr<slot>& s, const std::shared_ptr<subscriber>& sub,
                            const std::string& epoch, seq_range missing) {
    source_->fetch(s->name(), epoch, missing, [this, life = life_, s, sub, epoch, missing](std::vector<history_source::entry> got,
                                                                                           history_source::answer a) {
        const detail::living here(life);
        if (!here.in) return;
        work w{work::kind::fetched, nullptr, sub};
        w.until = missing.last;
        w.id = make_position(epoch, missing.last);
        w.not_now = a == history_source::answer::not_now;
        bool mine = false;
        {
            std::lock_guard lock(s->mutex);
            if (s->epoch() == epoch)
                for (const auto& e : got)
                    if (e.seq >= missing.first && e.seq <= missing.last) w.found.messages.push_back(s->make(e.seq, e.data));
            mine = queue(*s, std::move(w));
        }
        if (mine) drain(*s);
    });
}

// Under `lock` (s->mutex): queues what apply() or skip_gap() did, and deals
// with an open gap: fetched from the source (once at a time) or given up.
inline void service::settle(const std::shared_ptr<slot>& s, topic::applied a, std::unique_lock<std::mutex>& lock) {
    bool mine = false;
    for (;;) {
        if (a.lost_at) mine |= queue(*s, work{work::kind::lost, nullptr, nullptr, nullptr, {}, *a.lost_at});
        for (auto& m : a.messages) mine |= queue(*s, work{work::kind::deliver, std::move(m)});
        if (!a.gap || s->fetching_gap || source_) break;
        a = s->skip_gap();  // nowhere to fetch it from
    }
    std::optional<seq_range> fetch;
    std::string epoch;
    if (a.gap && source_ && !s->fetching_gap) fetch = a.gap, epoch = s->epoch(), s->fetching_gap = true;
    lock.unlock();
    if (mine) drain(*s);
    if (!fetch) return;
    source_->fetch(s->name(), epoch, *fetch, [this, life = life_, s, epoch, asked = *fetch](std::vector<history_source::entry> got,
                                                                                            history_source::answer answered) {
        const detail::living here(life);
        if (!here.in) return;
        // Into this slot, and only while it is still in that epoch: an answer that
        // comes after an epoch change must not turn the topic back.
        for (const auto& e : got) {
            std::unique_lock one(s->mutex);
            if (s->epoch() != epoch) break;
            std::error_code ignored;  // the source's messages were accepted once already
            settle(s, s->apply(epoch, e.seq, e.data, ignored), one);
        }
        std::unique_lock relock(s->mutex);
        s->fetching_gap = false;
        // Not answered now (Redis away): the gap stays, and the next message or
        // repair asks again; given up only when the source said it is gone.
        if (answered == history_source::answer::not_now) return;
        const auto gap = s->gap();
        settle(s, gap && gap->first <= asked.last ? s->skip_gap() : topic::applied{{}, {}, gap, false}, relock);
    });
}

}  // namespace herald::hub

#endif
