// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_HUB_HUB_HPP
#define HERALD_HUB_HUB_HPP

// The hub's core: named topics (hub/topic.hpp) under one epoch, created on first
// publish up to a limit, and the counters a live page or a metrics endpoint shows.
// Sans-I/O and single-threaded like the rest of the core; the Asio hub wraps it
// with a lock, its subscribers and their transports.
//
// When max_topics are taken, a new topic reclaims the least recently used one that
// nobody follows (the caller says who follows what: in_use), so publishes to ever
// new names cannot lock new topics out until a restart. Its history goes with it.
// A topic created after a reclaim gets the epoch "<epoch>.<reclaims so far>": a
// client that comes back with a cursor from the reclaimed life of a name is told
// lost, never resumed at a sequence number that now means another message.

#include <herald/hub/topic.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace herald::hub {

enum class transport { websocket, sse, long_poll, short_poll };
inline constexpr std::array<std::string_view, 4> transport_names{"websocket", "sse", "long_poll", "short_poll"};

struct hub_limits {
    std::size_t max_topics = 1024;
    topic_limits topic{};
};

// Counters, all since start-up except `subscribers` (now).
struct stats {
    std::array<std::uint64_t, 4> subscribers{};  // by transport
    std::uint64_t published = 0;                 // messages accepted
    std::uint64_t refused = 0;                   // publishes refused (not UTF-8, too big, ...)
    std::uint64_t messages_out = 0;              // deliveries to subscribers, replays included
    std::uint64_t bytes_out = 0;                 // their bytes in their wire forms
    std::uint64_t queue_drops = 0;               // subscribers closed or thinned for being too slow

    std::string json() const {
        std::string out = R"({"subscribers":{)";
        for (std::size_t i = 0; i < subscribers.size(); ++i) {
            if (i) out += ',';
            out += '"';
            out += transport_names[i];
            out += "\":" + std::to_string(subscribers[i]);
        }
        out += R"(},"published":)" + std::to_string(published) + R"(,"refused":)" + std::to_string(refused) +
               R"(,"messages_out":)" + std::to_string(messages_out) + R"(,"bytes_out":)" + std::to_string(bytes_out) +
               R"(,"queue_drops":)" + std::to_string(queue_drops) + '}';
        return out;
    }
};

class core {
public:
    explicit core(std::string epoch, hub_limits limits = {}) : epoch_(std::move(epoch)), limits_(limits) {}

    // Whether someone follows a topic (subscribed, parked): such a topic is never reclaimed.
    using in_use_fn = std::function<bool(std::string_view name)>;

    // The topic called `name`, created if new (reclaiming an unused one when
    // max_topics are taken). -> null and the reason when the name is not
    // valid_topic_name() or every topic is in use.
    topic* find_or_create(std::string_view name, std::error_code& ec, const in_use_fn& in_use = {}) {
        ec = {};
        if (const auto found = topics_.find(name); found != topics_.end()) {
            found->second.used = ++clock_;
            return &found->second.t;
        }
        if (!valid_topic_name(name)) ec = error::bad_topic_name;
        else if (topics_.size() >= limits_.max_topics && !reclaim(in_use)) ec = error::too_many_topics;
        if (ec) return nullptr;
        auto& e = topics_.try_emplace(std::string(name), entry{topic(std::string(name), creation_epoch(), limits_.topic)})
                      .first->second;
        e.used = ++clock_;
        return &e.t;
    }

    topic* find(std::string_view name) noexcept {
        const auto found = topics_.find(name);
        return found == topics_.end() ? nullptr : &found->second.t;
    }

    // Publishes `data` to `name`. -> the message, or null and the reason.
    message_ptr publish(std::string_view name, std::string_view data, std::error_code& ec, const in_use_fn& in_use = {}) {
        // Refused data creates no topic, and so reclaims none.
        ec = topic::check(data, limits_.topic);
        topic* t = ec ? nullptr : find_or_create(name, ec, in_use);
        message_ptr m = t ? t->publish(data, ec) : nullptr;
        ++(m ? stats_.published : stats_.refused);
        return m;
    }

    // The epoch a topic created now gets (see the top).
    std::string creation_epoch() const {
        return reclaimed_ == 0 ? epoch_ : epoch_ + "." + std::to_string(reclaimed_);
    }
    // How many topics were reclaimed since start-up.
    std::uint64_t reclaimed() const noexcept { return reclaimed_; }

    const std::string& epoch() const noexcept { return epoch_; }
    hub::stats& stats() noexcept { return stats_; }
    const hub::stats& stats() const noexcept { return stats_; }
    std::size_t topic_count() const noexcept { return topics_.size(); }

private:
    struct entry {
        topic t;
        std::uint64_t used = 0;  // clock_ when last published to or created
    };

    // Drops the least recently used topic nobody follows. O(topics), and only at
    // the limit. -> false when every topic is in use.
    bool reclaim(const in_use_fn& in_use) {
        auto victim = topics_.end();
        for (auto it = topics_.begin(); it != topics_.end(); ++it)
            if ((victim == topics_.end() || it->second.used < victim->second.used) && !(in_use && in_use(it->first)))
                victim = it;
        if (victim == topics_.end()) return false;
        topics_.erase(victim);
        ++reclaimed_;
        return true;
    }

    std::string epoch_;
    hub_limits limits_;
    std::map<std::string, entry, std::less<>> topics_;
    std::uint64_t clock_ = 0;  // a use counter, not time: the core has no clock
    std::uint64_t reclaimed_ = 0;
    hub::stats stats_;
};

}  // namespace herald::hub

#endif
