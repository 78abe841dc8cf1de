// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_HUB_SERVICE_HPP
#define HERALD_ASIO_HUB_SERVICE_HPP

// The hub service: the sans-I/O stream core (hub/hub.hpp, hub/topic.hpp) made safe
// for many threads, with the subscribers of every transport on its topics.
//
//   hub::service hub{make_epoch(random)};
//   hub.subscribe("prices", cursor, subscriber);   // replay, then live, exactly once each
//   hub.publish("prices", "42", ec);                // any thread
//
// How it works: no lock spans more than one topic or any delivery. A short
// directory lock finds a topic's slot; the slot's own lock numbers a message,
// keeps it and queues it as work, together with subscribes (their replay computed
// under that lock) and unsubscribes. Whoever queues work while nobody drains the
// slot drains it, outside every lock: the slot's work runs one item at a time, in
// order, so each subscriber gets its replay, then every later message, in sequence
// order, none twice and none missed. A subscriber may publish, subscribe or
// unsubscribe from inside a delivery: that only queues more work, which the
// running drain takes next. Subscribers the hub lets go of are destroyed on their
// own executor (subscriber::executor()).
//
// Ids can come from outside: with a broker attached, publish() goes through it and
// every hub, this one included, takes messages through apply() in the broker's
// order; a gap is fetched from the history source (or given up: lost signal), a
// duplicate dropped, an epoch change turned into the lost signal. With a history
// source, a client whose cursor is older than what this hub keeps gets the missing
// range fetched and spliced with what is kept and what arrives live, by sequence
// number. The source and broker must outlive the service; an answer the source
// gives after the service is gone is ignored.

#include <herald/asio/hub/broker.hpp>
#include <herald/asio/hub/detail/life.hpp>
#include <herald/asio/hub/detail/slot.hpp>
#include <herald/asio/hub/subscriber.hpp>
#include <herald/hub/hub.hpp>
#include <herald/hub/idempotency.hpp>
#include <herald/hub/sequencer.hpp>

#include <asio/post.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace herald::hub {

class service {
    using slot = detail::slot;
    using work = detail::slot_work;

public:
    explicit service(std::string epoch, hub_limits limits = {}, history_source* source = nullptr)
        : core_(std::move(epoch), with_source(limits, source)), source_(source) {}

    service(const service&) = delete;
    service& operator=(const service&) = delete;
    // A source's answer that comes later finds the service gone and does nothing;
    // one running now is waited for.
    ~service() {
        if (broker_) broker_->detach(*this);
        life_->end();
    }

    // Publishes `data` to `topic_name` (through the broker when one is attached);
    // `done(ec, message)` once: at once without a broker, else when the broker
    // answers, from any thread.
    void publish(std::string_view topic_name, std::string_view data, broker::published_handler done) {
        publish(topic_name, data, {}, std::move(done));
    }

    // The same with an idempotency key (hub/idempotency.hpp; empty: none): a
    // publish with a key `topic_name` already had is answered with that one's id
    // and stores nothing.
    void publish(std::string_view topic_name, std::string_view data, std::string_view idempotency_key,
                 broker::published_handler done) {
        if (broker_) return broker_->publish(*this, topic_name, data, idempotency_key, std::move(done));
        std::error_code ec;
        message_ptr m;
        if (idempotency_key.empty()) m = publish_here(topic_name, data, ec);
        else {
            // A key's first publish and its retry one at a time; recursive: a subscriber
            // may publish with a key from inside the delivery this one drains.
            std::lock_guard lock(keys_mutex_);
            if (auto again = keys_.retry(topic_name, idempotency_key, data, ec)) m = std::move(*again);
            else if ((m = publish_here(topic_name, data, ec))) keys_.remember(topic_name, idempotency_key, m->id, data);
        }
        done(ec, std::move(m));
    }

    // The same, answered at once: without a broker, or with one that answers at
    // once (in_process_broker). With one that answers later it is refused with
    // error::asynchronous_broker (and nothing is published): use the form above.
    message_ptr publish(std::string_view topic_name, std::string_view data, std::error_code& ec) {
        if (!broker_) return publish_here(topic_name, data, ec);
        if (!broker_->answers_at_once()) {
            ec = error::asynchronous_broker;
            return nullptr;
        }
        message_ptr out;
        broker_->publish(*this, topic_name, data, {}, [&](std::error_code e, message_ptr m) {
            ec = e;
            out = std::move(m);
        });
        return out;
    }

    // Publishes with this hub's own numbering: what a broker's numbering hub calls.
    message_ptr publish_here(std::string_view topic_name, std::string_view data, std::error_code& ec) {
        ec = topic::check(data, core_.limits().topic);
        const auto s = ec ? nullptr : publishing_slot(topic_name, ec);
        message_ptr m;
        bool mine = false;
        if (s) {
            std::lock_guard lock(s->mutex);
            m = s->publish(data, ec);
            if (m) mine = queue(*s, work{work::kind::deliver, m});
        }
        (m ? published_ : refused_).fetch_add(1, std::memory_order_relaxed);
        if (mine) drain(*s);
        return m;
    }

    // A message a broker numbered `seq` in `epoch` (see hub/topic.hpp apply()).
    void apply(std::string_view topic_name, std::string_view epoch, std::uint64_t seq, std::string_view data,
               std::error_code& ec) {
        const auto s = publishing_slot(topic_name, ec);
        if (!s) return;
        std::unique_lock lock(s->mutex);
        auto applied = s->apply(epoch, seq, data, ec);
        if (!applied.duplicate && !ec) published_.fetch_add(1, std::memory_order_relaxed);
        if (applied.duplicate) applied.gap = s->gap();  // a gap left open (its source was away) is asked again
        settle(s, std::move(applied), lock);
    }

    // Connects this hub to others (nullptr: alone again). Set before publishing
    // starts; the broker must outlive the hub (its destructor detaches from it).
    void attach(broker* b) noexcept { broker_ = b; }

    // Attaches `s` to `topic_name` after sending it what came after `cursor` (or the
    // lost signal, also when that is more than `s` can queue); nullopt or "": live
    // messages only, after ready(newest id). A subscriber is on one topic of one hub
    // at a time: subscribing it again moves it. Subscribing never counts as a topic
    // (hub_limits::max_topics counts topics published to).
    // -> bad_topic_name; subscribed_elsewhere when another hub has it.
    std::error_code subscribe(std::string_view topic_name, std::optional<std::string_view> cursor,
                              const std::shared_ptr<subscriber>& s) {
        std::shared_ptr<slot> here, before;
        work w{work::kind::attach, nullptr, s};
        {
            std::lock_guard lock(mutex_);
            if (s->owner_ && s->owner_ != this) return error::subscribed_elsewhere;
            std::error_code ec;
            here = core_.follow(topic_name, ec);
            if (ec) return ec;
            before = std::static_pointer_cast<slot>(s->slot_.lock());
            if (before == here) return {};
            if (before) {
                --before->attached;
                core_.forget_if_idle(before->name(), followed_slot);
            } else {
                ++subscribers_[std::string(s->transport())];
            }
            s->owner_ = this;
            s->slot_ = here;
            ++here->attached;
            w.generation = ++s->generation_;
        }
        if (before) queue_and_drain(*before, work{work::kind::detach, nullptr, nullptr, s.get()});
        start(here, s, std::move(w), cursor ? std::optional<std::string>(*cursor) : std::nullopt, source_ != nullptr);
        return {};
    }

    // Takes `s` off its topic; nothing when it is on none of this hub's.
    void unsubscribe(const subscriber* s) {
        std::shared_ptr<slot> was;
        {
            std::lock_guard lock(mutex_);
            if (!s || s->owner_ != this) return;
            was = let_go(*s);
        }
        queue_and_drain(*was, work{work::kind::detach, nullptr, nullptr, s});
    }

    // A poll: what a client at `cursor` gets now, without subscribing, and the newest id.
    struct poll_result {
        topic::resume_result found;
        std::string newest;
    };

    poll_result poll(std::string_view topic_name, std::optional<std::string_view> cursor, std::error_code& ec) {
        poll_result r;
        ec = valid_topic_name(topic_name) ? std::error_code() : error::bad_topic_name;
        if (ec) return r;
        std::shared_ptr<slot> s;
        {
            std::lock_guard lock(mutex_);
            s = core_.find(topic_name);
            if (!s) {  // nothing published yet: an empty topic, as it would be created now
                const topic empty{std::string(topic_name), core_.creation_epoch(), core_.limits().topic};
                r.found = empty.resume(cursor);
                r.newest = empty.last_id();
                return r;
            }
        }
        std::lock_guard lock(s->mutex);
        r.found = s->resume(cursor);
        r.newest = s->last_id();
        std::size_t bytes = 0;
        for (const auto& m : r.found.messages) bytes += m->json.size();
        count_out(r.found.messages.size(), bytes);
        return r;
    }

    const hub_limits& limits() const noexcept { return core_.limits(); }

    // Has the history source bring `topic_name` up to date (history_source::catch_up),
    // then calls `done` once, from any thread; at once without a source. For a poll
    // whose cursor the hub could not place.
    void catch_up(std::string_view topic_name, std::function<void(history_source::answer)> done) {
        if (!source_) return done(history_source::answer::answered);
        source_->catch_up(topic_name, [life = life_, done = std::move(done)](history_source::answer a) {
            const detail::living alive(life);
            if (alive.in) done(a);
        });
    }

    // Asks the history source where `topic_name`'s numbering is now
    // (history_source::latest): `done(epoch, last seq)` once, from any thread, or
    // done("", 0) without a source or when it cannot say. For a poll without a
    // cursor on a topic never numbered here: its cursor is then one every node places.
    void latest(std::string_view topic_name, std::function<void(std::string, std::uint64_t)> done) {
        if (!source_) return done({}, 0);
        source_->latest(topic_name, [life = life_, done = std::move(done)](std::string epoch, std::uint64_t seq) {
            const detail::living alive(life);
            if (alive.in) done(std::move(epoch), seq);
        });
    }

    // Whether anyone follows `topic_name` here (a subscriber, a parked poll).
    bool followed(std::string_view topic_name) const {
        std::lock_guard lock(mutex_);
        const auto s = core_.find(topic_name);
        return s && followed_slot(*s);
    }

    // A subscriber closed by its transport for being too slow (lock-free).
    void count_drop() noexcept { drops_.fetch_add(1, std::memory_order_relaxed); }
    // A message compressed for WebSocket subscribers (lock-free).
    void count_deflated() noexcept { deflated_.fetch_add(1, std::memory_order_relaxed); }

    hub::stats stats() const {
        hub::stats out;
        {
            std::lock_guard lock(mutex_);
            out.subscribers = subscribers_;
        }
        out.published = published_.load(std::memory_order_relaxed);
        out.refused = refused_.load(std::memory_order_relaxed);
        out.messages_out = messages_out_.load(std::memory_order_relaxed);
        out.bytes_out = bytes_out_.load(std::memory_order_relaxed);
        out.queue_drops = drops_.load(std::memory_order_relaxed);
        out.deflated = deflated_.load(std::memory_order_relaxed);
        if (broker_) out.in_sync = broker_->in_sync();
        return out;
    }

    const std::string& epoch() const noexcept { return core_.epoch(); }

private:
    // Under s.mutex: queues `w`. -> whether the caller drains (nobody else is).
    static bool queue(slot& s, work w) { return s.push(std::move(w)); }

    void queue_and_drain(slot& s, work w) {
        bool mine = false;
        {
            std::lock_guard lock(s.mutex);
            mine = queue(s, std::move(w));
        }
        if (mine) drain(s);
    }

    // Runs `s`'s work until none is left, outside every lock; then lets go of the
    // subscribers it dropped (the ended ones leave the directory too).
    void drain(slot& s) {
        std::vector<work> batch;
        detail::drained out;
        while (s.take(batch)) {
            out = {};
            s.run(batch, out);
            count_out(out.messages, out.bytes);
            for (auto& sub : out.ended) forget(s, std::move(sub));
            for (auto& sub : out.detached) release(std::move(sub));
        }
    }

    // An ended subscriber leaves the directory too, if it is still on `s`.
    void forget(slot& s, std::shared_ptr<subscriber> sub) {
        {
            std::lock_guard lock(mutex_);
            if (sub->owner_ == this && sub->slot_.lock().get() == &s) let_go(*sub);
        }
        release(std::move(sub));
    }

    // The hub's last reference goes to the subscriber's executor.
    static void release(std::shared_ptr<subscriber> sub) {
        if (!sub) return;
        if (const auto ex = sub->executor()) asio::post(ex, [last = std::move(sub)] {});
    }

    // impl/service_source.hpp: what a history source does for the service.
    void start(const std::shared_ptr<slot>& here, const std::shared_ptr<subscriber>& s, work w,
               std::optional<std::string> cursor, bool may_catch_up);
    void start_fresh(const std::shared_ptr<slot>& here, const std::shared_ptr<subscriber>& s, work w, std::string local);
    void fetch_for(const std::shared_ptr<slot>& s, const std::shared_ptr<subscriber>& sub, const std::string& epoch,
                   seq_range missing);
    void settle(const std::shared_ptr<slot>& s, topic::applied a, std::unique_lock<std::mutex>& lock);

    static hub_limits with_source(hub_limits limits, history_source* source) {
        if (source) limits.topic.backed = true;
        return limits;
    }

    // Whether someone follows a slot (under mutex_): a followed topic is never
    // reclaimed at max_topics, nor forgotten.
    static bool followed_slot(const slot& s) noexcept { return s.attached != 0; }

    std::shared_ptr<slot> publishing_slot(std::string_view topic_name, std::error_code& ec) {
        std::lock_guard lock(mutex_);
        return core_.find_or_create(topic_name, ec, followed_slot);
    }

    // Under mutex_: forgets where `s` is. -> the slot it was on.
    std::shared_ptr<slot> let_go(const subscriber& s) {
        auto was = std::static_pointer_cast<slot>(s.slot_.lock());  // alive: a followed slot stays in the directory
        const_cast<subscriber&>(s).owner_ = nullptr;
        const_cast<subscriber&>(s).slot_.reset();
        ++const_cast<subscriber&>(s).generation_;  // an attach still queued is void
        --was->attached;
        --subscribers_[std::string(s.transport())];
        core_.forget_if_idle(was->name(), followed_slot);
        return was;
    }

    void count_out(std::size_t messages, std::size_t bytes) noexcept {
        if (messages == 0) return;
        messages_out_.fetch_add(messages, std::memory_order_relaxed);
        bytes_out_.fetch_add(bytes, std::memory_order_relaxed);
    }

    mutable std::mutex mutex_;  // the directory (core_), subscribers_ and where each subscriber is
    basic_core<slot> core_;
    std::map<std::string, std::uint64_t, std::less<>> subscribers_;
    history_source* source_;
    broker* broker_ = nullptr;
    std::shared_ptr<detail::life> life_ = std::make_shared<detail::life>();
    std::atomic<std::uint64_t> published_{0}, refused_{0}, messages_out_{0}, bytes_out_{0}, drops_{0}, deflated_{0};
    std::recursive_mutex keys_mutex_;
    idempotency_memory keys_;  // publishes with a key, without a broker
};

}  // namespace herald::hub

#include <herald/asio/hub/impl/service_source.hpp>

#endif
