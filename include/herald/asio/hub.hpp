// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_HUB_HPP
#define HERALD_ASIO_HUB_HPP

// The hub service: the sans-I/O hub core (hub/hub.hpp) behind a lock, with the
// subscribers of every transport attached to its topics.
//
//   hub::service hub{sse::make_epoch(random)};
//   hub.subscribe("prices", cursor, subscriber);   // replay, then live, exactly once each
//   hub.publish("prices", "42", ec);                // any thread
//
// How it works: publish() and subscribe() take one lock, so a subscriber gets the
// messages it missed and then every new one, with no gap and no duplicate between
// the two (the lock orders its replay against concurrent publishes). Delivery is
// a subscriber's deliver(), which must not block: each transport's subscriber
// queues the message's shared wire form on its own bounded queue and writes from
// its own executor (hub_routes.hpp); one that cannot keep up is closed by its
// transport's policy, which counts it (count_drop(), stats().queue_drops). Subscribers that ended are
// forgotten at the next publish to their topic, or by unsubscribe().

#include <herald/hub/hub.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <map>
#include <optional>
#include <vector>

namespace herald::hub {

class service;

// Whatever takes hub messages: a WebSocket, an SSE stream, a parked long poll.
class subscriber {
public:
    virtual ~subscriber() = default;
    virtual hub::transport transport() const noexcept = 0;
    // Queues `m` in this transport's wire form; the bytes queued, or 0 when the
    // subscriber has ended (or just ended for being too slow).
    virtual std::size_t deliver(const message_ptr& m) = 0;
    // Tells the client its cursor cannot be resumed (topic::lost_signal()).
    virtual void lost(const topic& t) = 0;
    // Tells a client that came without a cursor where "now" is (topic::ready_signal(),
    // the newest id), so that a drop before its first message resumes from there
    // instead of starting fresh again and silently skipping what came in between.
    virtual void ready(const topic& t) = 0;
    virtual bool ended() const = 0;
    // Whether a replay of `messages` fits this transport's queue. One that does not
    // is told its history is lost instead (and resynchronises): queued anyway, it
    // would overflow, the client would come back with the same cursor, and again.
    virtual bool can_take(const std::vector<message_ptr>& messages) const {
        (void)messages;
        return true;
    }

    subscriber() = default;
    // A copy is not attached anywhere: the place below is the original's.
    subscriber(const subscriber&) noexcept {}
    subscriber& operator=(const subscriber&) noexcept { return *this; }

private:
    // Where a service keeps this subscriber (which service, its topic's list and
    // the index in it), so that unsubscribe() takes it out in O(1). Guarded by
    // that service's lock.
    friend class service;
    mutable const service* owner_ = nullptr;
    mutable const std::string* topic_ = nullptr;  // the key of the list in owner_'s map
    mutable std::vector<std::shared_ptr<subscriber>>* list_ = nullptr;
    mutable std::size_t slot_ = 0;
};

// Between hubs: what one publishes, the others publish too, each with its own ids (a
// client resumes on the hub it was on; on another, its cursor reads as lost). A
// broker for several processes (Redis, a later issue) implements forward() with
// PUBLISH and calls publish_from_broker() for what its SUBSCRIBE receives.
class broker {
public:
    virtual ~broker() = default;
    // Hands a message accepted by `origin` to the other hubs. Thread-safe.
    virtual void forward(const service& origin, std::string_view topic_name, std::string_view data) = 0;
};

class service {
public:
    explicit service(std::string epoch, hub_limits limits = {}) : core_(std::move(epoch), limits) {}

    // Publishes `data` to `topic_name` and delivers it to the topic's subscribers.
    // With a broker attached, an accepted message is also handed to it for the
    // other hubs (after the lock is released, in publish order per publisher).
    message_ptr publish(std::string_view topic_name, std::string_view data, std::error_code& ec) {
        message_ptr m = publish_here(topic_name, data, ec);
        if (m && broker_) broker_->forward(*this, topic_name, data);
        return m;
    }

    // A message that came from another hub through the broker: published here
    // (with this hub's next id) and not forwarded again.
    message_ptr publish_from_broker(std::string_view topic_name, std::string_view data, std::error_code& ec) {
        return publish_here(topic_name, data, ec);
    }

    // Connects this hub to others (nullptr: alone again). Set before publishing starts.
    void attach(broker* b) noexcept { broker_ = b; }

    // Attaches `s` to `topic_name` after sending it what came after `cursor` (or
    // the lost signal, also when that is more than `s` can queue); nullopt or "": live messages only, after ready(newest id).
    // Subscribing and polling never create a topic (publishing does): a topic not
    // published to yet reads as an empty one, so readers cannot use up max_topics.
    // A subscriber is on one topic of one hub at a time: subscribing it again moves
    // it. -> bad_topic_name; subscribed_elsewhere when another hub has it.
    std::error_code subscribe(std::string_view topic_name, std::optional<std::string_view> cursor,
                              const std::shared_ptr<subscriber>& s) {
        if (!valid_topic_name(topic_name)) return error::bad_topic_name;
        std::lock_guard lock(mutex_);
        if (s->owner_ && s->owner_ != this) return error::subscribed_elsewhere;
        const topic& t = topic_or_empty(topic_name);
        auto r = t.resume(cursor);
        if (r.state == topic::outcome::resumed && !s->can_take(r.messages)) {
            r.state = topic::outcome::lost;
            r.messages.clear();
        }
        if (r.state == topic::outcome::lost) s->lost(t);
        if (r.state == topic::outcome::fresh) s->ready(t);
        for (const auto& m : r.messages) count_delivery(s->deliver(m));
        if (s->ended()) return {};
        auto found = subscribers_.find(topic_name);
        if (found == subscribers_.end()) found = subscribers_.emplace(std::string(topic_name), subscriber_list{}).first;
        if (s->list_ == &found->second) return {};  // already here
        remove(*s);  // from the topic it was on
        attach(found, s);
        return {};
    }

    // Takes `s` off its topic (O(1)); nothing when it is on none of this hub's.
    void unsubscribe(const subscriber* s) {
        std::lock_guard lock(mutex_);
        if (s && s->owner_ == this) remove(*s);
    }

    // A poll: what a client at `cursor` gets now, without subscribing.
    struct poll_answer {
        topic::outcome state = topic::outcome::fresh;
        std::vector<message_ptr> messages;
        std::string cursor;  // what the client sends next
    };

    poll_answer poll(std::string_view topic_name, std::optional<std::string_view> cursor, std::error_code& ec) {
        poll_answer a;
        ec = {};
        if (!valid_topic_name(topic_name)) {
            ec = error::bad_topic_name;
            return a;
        }
        std::lock_guard lock(mutex_);
        const topic* t = &topic_or_empty(topic_name);
        auto r = t->resume(cursor);
        a.state = r.state;
        a.messages = std::move(r.messages);
        a.cursor = a.messages.empty() ? (a.state == topic::outcome::resumed ? std::string(*cursor) : t->last_id())
                                      : a.messages.back()->id;
        for (const auto& m : a.messages) count_delivery(m->json.size());
        return a;
    }

    // A subscriber closed by its transport for being too slow (its queue passed
    // its bound). Lock-free: transports call it from anywhere, the lock held or not.
    void count_drop() noexcept { drops_.fetch_add(1, std::memory_order_relaxed); }

    hub::stats stats() const {
        std::lock_guard lock(mutex_);
        hub::stats out = core_.stats();
        out.queue_drops = drops_.load(std::memory_order_relaxed);
        return out;
    }

    const std::string& epoch() const noexcept { return core_.epoch(); }

private:
    message_ptr publish_here(std::string_view topic_name, std::string_view data, std::error_code& ec) {
        std::lock_guard lock(mutex_);
        // A topic someone follows is never reclaimed at max_topics (hub/hub.hpp).
        message_ptr m = core_.publish(topic_name, data, ec, [this](std::string_view name) { return subscribers_.contains(name); });
        if (!m) return m;
        auto found = subscribers_.find(topic_name);
        if (found == subscribers_.end()) return m;
        auto& list = found->second;
        for (const auto& s : list) count_delivery(s->deliver(m));
        forget_ended(list);
        if (list.empty()) subscribers_.erase(found);  // a topic's list lives while someone is on it
        return m;
    }

    // The topic, or an empty stand-in with the same name and epoch (not kept).
    const topic& topic_or_empty(std::string_view name) {
        if (const topic* t = core_.find(name)) return *t;
        empty_.emplace(std::string(name), core_.creation_epoch());  // the epoch it will be created with
        return *empty_;
    }

    void count_delivery(std::size_t bytes) {
        if (bytes == 0) return;
        ++core_.stats().messages_out;
        core_.stats().bytes_out += bytes;
    }

    using subscriber_list = std::vector<std::shared_ptr<subscriber>>;
    using subscriber_map = std::map<std::string, subscriber_list, std::less<>>;

    void attach(subscriber_map::iterator at, const std::shared_ptr<subscriber>& s) {
        auto& list = at->second;
        s->owner_ = this;
        s->topic_ = &at->first;  // std::map nodes stay put while they exist
        s->list_ = &list;
        s->slot_ = list.size();
        list.push_back(s);
        ++core_.stats().subscribers[static_cast<std::size_t>(s->transport())];
    }

    // detach(), then the topic's list goes too if `s` was the last on it (so that
    // subscribers to ever new topic names cannot grow the map without bound).
    void remove(const subscriber& s) {
        const std::string* topic_name = s.topic_;
        detach(s);  // may destroy `s`
        if (!topic_name) return;
        const auto found = subscribers_.find(*topic_name);
        if (found != subscribers_.end() && found->second.empty()) subscribers_.erase(found);
    }

    // Swaps the last subscriber into `s`'s place (the order of a topic's
    // subscribers means nothing: each gets every message). The list stays, even
    // empty: publish_here may be walking it.
    void detach(const subscriber& s) {
        if (!s.list_) return;
        auto& list = *s.list_;
        const std::size_t slot = s.slot_;
        s.list_ = nullptr;
        s.topic_ = nullptr;
        s.owner_ = nullptr;
        --core_.stats().subscribers[static_cast<std::size_t>(s.transport())];
        if (slot + 1 != list.size()) {
            list[slot] = std::move(list.back());
            list[slot]->slot_ = slot;
        }
        list.pop_back();  // may destroy `s`: nothing touches it after
    }

    void forget_ended(subscriber_list& list) {
        for (std::size_t i = 0; i < list.size();) {
            if (list[i]->ended()) detach(*list[i]);  // the last one moves into slot i: look at it next
            else ++i;
        }
    }

    mutable std::mutex mutex_;
    core core_;
    std::optional<topic> empty_;  // topic_or_empty()'s stand-in
    std::atomic<std::uint64_t> drops_{0};
    subscriber_map subscribers_;
    broker* broker_ = nullptr;
};

// Joins the hubs of one process (one per thread, or per shard of topics): what one
// publishes, the others publish too.
class in_process_broker final : public broker {
public:
    // Joins `hub`; before it publishes. The broker outlives the hubs' use of it.
    void join(service& hub) {
        std::lock_guard lock(mutex_);
        hubs_.push_back(&hub);
        hub.attach(this);
    }

    void forward(const service& origin, std::string_view topic_name, std::string_view data) override {
        std::vector<service*> hubs;
        {
            std::lock_guard lock(mutex_);
            hubs = hubs_;
        }
        for (service* hub : hubs) {
            if (hub == &origin) continue;
            std::error_code ignored;  // accepted once already: valid everywhere with the same limits
            hub->publish_from_broker(topic_name, data, ignored);
        }
    }

private:
    std::mutex mutex_;
    std::vector<service*> hubs_;
};

}  // namespace herald::hub

#endif
