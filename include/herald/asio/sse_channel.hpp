// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_SSE_CHANNEL_HPP
#define HERALD_ASIO_SSE_CHANNEL_HPP

// One event stream with replay, fanned out to its subscribers: publish() serializes
// an event once, keeps it in the replay history and queues the same bytes on every
// subscriber; subscribe() queues what a reconnecting client missed, then adds it.
// Thread-safe: publishers and subscribers may be on any thread.
//
// Why one lock around both: a subscriber must get the replay and then every live
// event, with no gap and no duplicate. Publish and subscribe are ordered by the
// lock, and each queues onto the subscriber inside it, so an event is either in
// the replay a subscriber got or queued to it live, never both and never neither.
// Queuing is cheap (a shared pointer onto a deque), which keeps the lock short.

#include <herald/asio/sse.hpp>
#include <herald/sse/replay.hpp>

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
    explicit channel(std::string epoch, history::limits limits = {}) : replay_(std::move(epoch), limits) {}

    // Publishes `ev` with the next id (any id in `ev` is replaced) to every
    // subscriber. Returns the shared bytes; null with `ec` set when `ev` cannot
    // be serialized (see sse::check()).
    shared_event publish(const event& ev, std::error_code& ec) {
        std::lock_guard lock(mutex_);
        auto bytes = replay_.publish(ev, ec);
        if (!bytes) return nullptr;
        std::erase_if(subscribers_, [&](const std::shared_ptr<subscriber>& s) { return !s->send(bytes); });
        return bytes;
    }

    // Adds `s`, first queuing what a client at `last_event_id` missed: the events
    // after it, or the history-lost event when they cannot be replayed exactly.
    // Returns what the resume found.
    // A replay larger than the subscriber can queue is sent as history-lost too:
    // queuing it would close the stream, and the client would come back with the
    // same id and be closed again.
    replay::outcome subscribe(std::shared_ptr<subscriber> s, std::optional<std::string_view> last_event_id) {
        std::lock_guard lock(mutex_);
        std::erase_if(subscribers_, [](const std::shared_ptr<subscriber>& p) { return p->ended(); });
        auto found = replay_.resume(last_event_id);
        if (found.state == replay::outcome::resumed) {
            std::size_t bytes = 0;
            for (std::size_t i = found.first; i < replay_.events().size(); ++i) bytes += replay_.events()[i].bytes->size();
            if (!s->can_take(replay_.events().size() - found.first, bytes)) found.state = replay::outcome::lost;
        }
        bool alive = true;
        if (found.state == replay::outcome::lost) {
            alive = s->send(replay_.history_lost_event());
        } else {
            for (std::size_t i = found.first; alive && i < replay_.events().size(); ++i)
                alive = s->send(replay_.events()[i].bytes);
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
        return replay_.last_id();
    }

    std::string epoch() const {
        std::lock_guard lock(mutex_);
        return std::string(replay_.epoch());
    }

private:
    mutable std::mutex mutex_;
    sse::replay replay_;
    std::vector<std::shared_ptr<subscriber>> subscribers_;
};

}  // namespace herald::sse

#endif
