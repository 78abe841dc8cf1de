// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_REDIS_TOPIC_MEMORY_HPP
#define HERALD_REDIS_TOPIC_MEMORY_HPP

// What a node has seen of each topic numbered by Redis: the epoch and the newest
// sequence number, and the epochs the topic moved on from. Messages reach a node
// on two connections (its subscription, and the answers to its own commands), so
// a message of the epoch before can arrive after one of the new epoch: it is old
// news, never a new epoch to move to (that would flip the topic back and forth,
// with a lost signal each time). Bounded: at most max_topics topics, and the last
// few retired epochs of each. Not thread-safe: the broker holds it under its lock.

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace herald::redis {

class topic_memory {
public:
    enum class verdict {
        current,  // the topic's epoch (the seq is noted if newer)
        moved,    // an epoch not seen before: the topic moved to it
        retired,  // an epoch the topic moved on from: drop the message
        full,     // a topic not known and no room for it: apply, but it is not watched
    };

    struct seen_t {
        std::string epoch;
        std::uint64_t seq = 0;
    };

    explicit topic_memory(std::size_t max_topics = 10'000) : max_topics_(max_topics) {}

    verdict note(std::string_view topic, std::string_view epoch, std::uint64_t seq) {
        auto it = topics_.find(topic);
        if (it == topics_.end()) {
            if (topics_.size() >= max_topics_) return verdict::full;
            topics_.emplace(std::string(topic), entry{{std::string(epoch), seq}, {}});
            return verdict::current;
        }
        entry& e = it->second;
        if (e.seen.epoch == epoch) {
            e.seen.seq = std::max(e.seen.seq, seq);
            return verdict::current;
        }
        if (std::find(e.retired.begin(), e.retired.end(), epoch) != e.retired.end()) return verdict::retired;
        e.retired.push_back(std::move(e.seen.epoch));
        if (e.retired.size() > max_retired) e.retired.pop_front();
        e.seen = {std::string(epoch), seq};
        return verdict::moved;
    }

    std::optional<seen_t> seen(std::string_view topic) const {
        const auto it = topics_.find(topic);
        if (it == topics_.end()) return std::nullopt;
        return it->second.seen;
    }

    std::vector<std::pair<std::string, seen_t>> all() const {
        std::vector<std::pair<std::string, seen_t>> out;
        out.reserve(topics_.size());
        for (const auto& [name, e] : topics_) out.emplace_back(name, e.seen);
        return out;
    }

    std::size_t size() const noexcept { return topics_.size(); }

private:
    static constexpr std::size_t max_retired = 4;
    struct entry {
        seen_t seen;
        std::deque<std::string> retired;
    };
    std::size_t max_topics_;
    std::map<std::string, entry, std::less<>> topics_;
};

}  // namespace herald::redis

#endif
