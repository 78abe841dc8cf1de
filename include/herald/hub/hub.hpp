// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_HUB_HUB_HPP
#define HERALD_HUB_HUB_HPP

// The hub's core: named topics (hub/topic.hpp) under one epoch, created on first
// publish up to a limit, and the counters a live page or a metrics endpoint shows.
// Sans-I/O and single-threaded like the rest of the core; the Asio hub
// (asio/hub/service.hpp) keeps it behind a short lock of its own and keeps each
// topic's subscribers in the topic's slot (Slot derives from hub::topic).
//
// Readers do not use up topics: follow() makes a slot for a name nobody has
// published to yet, outside max_topics, and forget_if_idle() drops it again when
// its last follower leaves unless it was published to meanwhile. When max_topics
// are taken, a new topic reclaims the least recently used one that nobody follows
// (the caller says who follows what: in_use), so publishes to ever new names cannot
// lock new topics out until a restart. Its history goes with it. A topic created
// after a reclaim gets the epoch "<epoch>.<reclaims so far>": a client that comes
// back with a cursor from the reclaimed life of a name is told lost, never resumed
// at a sequence number that now means another message.

#include <herald/hub/topic.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <string_view>

namespace herald::hub {

struct hub_limits {
    std::size_t max_topics = 1024;
    topic_limits topic{};
};

// Counters, all since start-up except `subscribers` (now, by transport name).
struct stats {
    std::map<std::string, std::uint64_t, std::less<>> subscribers;
    std::uint64_t published = 0;     // messages accepted
    std::uint64_t refused = 0;       // publishes refused (not UTF-8, too big, ...)
    std::uint64_t messages_out = 0;  // deliveries to subscribers, replays included
    std::uint64_t bytes_out = 0;     // their bytes in their wire forms
    std::uint64_t queue_drops = 0;   // subscribers closed or thinned for being too slow
    std::uint64_t deflated = 0;      // messages compressed once for WebSocket subscribers (RFC 7692)
    // With a broker: whether it is connected and repaired since it last connected
    // (Redis: docs/cluster.md). Unset: a hub alone.
    std::optional<bool> in_sync;

    std::string json() const {
        std::string out = R"({"subscribers":{)";
        bool first = true;
        for (const auto& [name, count] : subscribers) {
            if (!std::exchange(first, false)) out += ',';
            append_json_string(name, out);
            out += ':' + std::to_string(count);
        }
        out += R"(},"published":)" + std::to_string(published) + R"(,"refused":)" + std::to_string(refused) +
               R"(,"messages_out":)" + std::to_string(messages_out) + R"(,"bytes_out":)" + std::to_string(bytes_out) +
               R"(,"queue_drops":)" + std::to_string(queue_drops) + R"(,"deflated":)" + std::to_string(deflated);
        if (in_sync) out += *in_sync ? R"(,"in_sync":true)" : R"(,"in_sync":false)";
        out += '}';
        return out;
    }
};

template <class Slot>
class basic_core {
public:
    using slot_ptr = std::shared_ptr<Slot>;
    // Whether someone follows a topic (subscribed, parked): such a topic is never reclaimed.
    using in_use_fn = std::function<bool(const Slot&)>;

    explicit basic_core(std::string epoch, hub_limits limits = {}) : epoch_(std::move(epoch)), limits_(limits) {}

    // The topic called `name` for a publish, created if new (reclaiming an unused
    // one when max_topics are taken). -> null and the reason when the name is not
    // valid_topic_name() or every topic is in use.
    slot_ptr find_or_create(std::string_view name, std::error_code& ec, const in_use_fn& in_use = {}) {
        ec = {};
        auto found = topics_.find(name);
        if (found != topics_.end() && found->second.counted) {
            found->second.used = ++clock_;
            return found->second.slot;
        }
        if (!valid_topic_name(name)) ec = error::bad_topic_name;
        else if (counted_ >= limits_.max_topics && !reclaim(in_use)) ec = error::too_many_topics;
        if (ec) return nullptr;
        if (found == topics_.end()) found = topics_.try_emplace(std::string(name), make_entry(name)).first;
        found->second.counted = true;
        found->second.used = ++clock_;
        ++counted_;
        return found->second.slot;
    }

    // The topic called `name` for a follower, made (outside max_topics) if new.
    // -> null and bad_topic_name when the name is not valid_topic_name().
    slot_ptr follow(std::string_view name, std::error_code& ec) {
        ec = {};
        if (const auto found = topics_.find(name); found != topics_.end()) return found->second.slot;
        if (!valid_topic_name(name)) {
            ec = error::bad_topic_name;
            return nullptr;
        }
        return topics_.try_emplace(std::string(name), make_entry(name)).first->second.slot;
    }

    // Drops `name`'s slot when nobody published to it and nobody follows it.
    void forget_if_idle(std::string_view name, const in_use_fn& in_use) {
        const auto found = topics_.find(name);
        if (found != topics_.end() && !found->second.counted && !in_use(*found->second.slot)) topics_.erase(found);
    }

    slot_ptr find(std::string_view name) const noexcept {
        const auto found = topics_.find(name);
        return found == topics_.end() ? nullptr : found->second.slot;
    }

    // The epoch a topic created now gets (see the top).
    std::string creation_epoch() const {
        return reclaimed_ == 0 ? epoch_ : epoch_ + "." + std::to_string(reclaimed_);
    }
    // How many topics were reclaimed since start-up.
    std::uint64_t reclaimed() const noexcept { return reclaimed_; }

    const std::string& epoch() const noexcept { return epoch_; }
    const hub_limits& limits() const noexcept { return limits_; }
    // Topics published to (what max_topics counts); follow()'s slots are not.
    std::size_t topic_count() const noexcept { return counted_; }

private:
    struct entry {
        slot_ptr slot;
        std::uint64_t used = 0;  // clock_ when last published to or created
        bool counted = false;    // published to: counts against max_topics
    };

    entry make_entry(std::string_view name) const {
        return entry{std::make_shared<Slot>(std::string(name), creation_epoch(), limits_.topic)};
    }

    // Drops the least recently used topic nobody follows. O(topics), and only at
    // the limit. -> false when every topic is in use.
    bool reclaim(const in_use_fn& in_use) {
        auto victim = topics_.end();
        for (auto it = topics_.begin(); it != topics_.end(); ++it) {
            const entry& e = it->second;
            if (e.counted && (victim == topics_.end() || e.used < victim->second.used) && !(in_use && in_use(*e.slot)))
                victim = it;
        }
        if (victim == topics_.end()) return false;
        topics_.erase(victim);
        --counted_;
        ++reclaimed_;
        return true;
    }

    std::string epoch_;
    hub_limits limits_;
    std::map<std::string, entry, std::less<>> topics_;
    std::size_t counted_ = 0;
    std::uint64_t clock_ = 0;  // a use counter, not time: the core has no clock
    std::uint64_t reclaimed_ = 0;
};

// The core on its own: topics and their counters, for single-threaded use and tests.
class core : public basic_core<topic> {
public:
    using basic_core::basic_core;

    // Publishes `data` to `name`. -> the message, or null and the reason.
    message_ptr publish(std::string_view name, std::string_view data, std::error_code& ec, const in_use_fn& in_use = {}) {
        // Refused data creates no topic, and so reclaims none.
        ec = topic::check(data, limits().topic);
        const auto t = ec ? nullptr : find_or_create(name, ec, in_use);
        message_ptr m = t ? t->publish(data, ec) : nullptr;
        ++(m ? stats_.published : stats_.refused);
        return m;
    }

    hub::stats& stats() noexcept { return stats_; }
    const hub::stats& stats() const noexcept { return stats_; }

private:
    hub::stats stats_;
};

}  // namespace herald::hub

#endif
