// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_SSE_CHANNEL_HPP
#define HERALD_ASIO_SSE_CHANNEL_HPP

// One event stream with replay, fanned out to its subscribers: publish() writes an
// event once and queues the same bytes on every subscriber; subscribe() queues what
// a reconnecting client missed (its Last-Event-ID, WHATWG HTML §9.2.4), then adds
// it. Thread-safe: publishers and subscribers may be on any thread.
//
// A preset over the hub's stream core: a hub::topic numbers the events
// `<epoch>-<seq>`, keeps them in its bounded history and decides every resume, so
// a channel's ids, replay and signals are the hub's wire contract (hub/wire.hpp):
// a client that cannot be resumed exactly gets `event: history-lost` with
// {"type":"lost","topic":<name>,"id":<newest>}, one with no Last-Event-ID
// `event: ready` with the newest id (so a drop before its first event resumes from
// there). A hub::service spreads many topics over threads; this is the one-topic
// form, for a server with one stream.
//
// Why one lock around both: a subscriber must get the replay and then every live
// event, with no gap and no duplicate. Publish and subscribe are ordered by the
// lock, and each queues onto the subscriber inside it, so an event is either in
// the replay a subscriber got or queued to it live, never both and never neither.
// Queuing is cheap (a shared pointer onto a deque), which keeps the lock short.

#include <herald/asio/sse.hpp>
#include <herald/history.hpp>
#include <herald/hub/topic.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace herald::sse {

class channel {
public:
    using outcome = hub::topic::outcome;

    // `epoch`: a short word naming this life of the channel (make_epoch()); `name`:
    // the topic its signals name.
    explicit channel(std::string epoch, history::limits limits = {}, std::string name = "events")
        : topic_(std::move(name), std::move(epoch), topic_limits(limits)) {}

    // Publishes `ev` (its type and data; the id is the channel's, and a retry is
    // the stream's to send, not the history's) to every subscriber. Returns the
    // shared bytes; null with `ec` set when `ev` cannot be published (hub::error:
    // not UTF-8, a bad event name, larger than the history's byte budget).
    shared_event publish(const event& ev, std::error_code& ec) {
        std::lock_guard lock(mutex_);
        const auto m = topic_.publish(ev.data, ec, ev.type);
        if (!m) return nullptr;
        shared_event bytes(m, &m->sse);
        std::erase_if(subscribers_, [&](const std::shared_ptr<subscriber>& s) { return !s->send(bytes); });
        return bytes;
    }

    // Adds `s`, first queuing what a client at `last_event_id` missed: the events
    // after it, the history-lost event when they cannot be replayed exactly, or the
    // ready event for a first connection. Returns what the resume found. A replay
    // larger than the subscriber can queue is sent as history-lost too: queuing it
    // would close the stream, and the client would come back with the same id and
    // be closed again.
    outcome subscribe(std::shared_ptr<subscriber> s, std::optional<std::string_view> last_event_id) {
        std::lock_guard lock(mutex_);
        std::erase_if(subscribers_, [](const std::shared_ptr<subscriber>& p) { return p->ended(); });
        auto found = topic_.resume(last_event_id);
        if (found.state == outcome::resumed) {
            std::size_t bytes = 0;
            for (const auto& m : found.messages) bytes += m->sse.size();
            if (!s->can_take(found.messages.size(), bytes)) found.state = outcome::lost;
        }
        bool alive = true;
        if (found.state == outcome::resumed) {
            for (std::size_t i = 0; alive && i < found.messages.size(); ++i)
                alive = s->send(shared_event(found.messages[i], &found.messages[i]->sse));
        } else if (found.state == outcome::fresh) {
            alive = s->send(hub::sse_ready(topic_.name(), topic_.last_id()));
        } else {
            found.state = outcome::lost;  // a topic of its own has no source behind it
            alive = s->send(hub::sse_lost(topic_.name(), topic_.last_id()));
        }
        if (alive) subscribers_.push_back(std::move(s));
        return found.state;
    }

    void unsubscribe(const subscriber* s) {
        std::lock_guard lock(mutex_);
        std::erase_if(subscribers_, [&](const std::shared_ptr<subscriber>& p) { return p.get() == s; });
    }

    // Closes every subscriber's connection (their clients reconnect and resume):
    // for a server going down, or to move clients to another process.
    std::size_t disconnect_all() {
        std::vector<std::shared_ptr<subscriber>> all;
        {
            std::lock_guard lock(mutex_);
            all.swap(subscribers_);
        }
        for (auto& s : all) s->close();
        return all.size();
    }

    std::size_t subscriber_count() const {
        std::lock_guard lock(mutex_);
        return subscribers_.size();
    }

    std::string last_id() const {
        std::lock_guard lock(mutex_);
        return topic_.last_id();
    }

    std::string epoch() const {
        std::lock_guard lock(mutex_);
        return topic_.epoch();
    }

private:
    // The history's budgets; an event may be as large as the whole byte budget.
    static hub::topic_limits topic_limits(const history::limits& l) {
        hub::topic_limits t;
        t.max_messages = l.max_entries;
        t.max_bytes = l.max_bytes;
        t.max_message_bytes = l.max_bytes;
        return t;
    }

    mutable std::mutex mutex_;
    hub::topic topic_;
    std::vector<std::shared_ptr<subscriber>> subscribers_;
};

}  // namespace herald::sse

#endif
