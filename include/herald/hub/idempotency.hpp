// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_HUB_IDEMPOTENCY_HPP
#define HERALD_HUB_IDEMPOTENCY_HPP

// A publisher that never heard the answer to a publish cannot know whether it was
// stored; it sends it again with the same key (the Idempotency-Key header,
// draft-ietf-httpapi-idempotency-key-header), and the second publish is answered
// with the first one's id and stores nothing. Keys are per topic; a key that comes
// again with another body is refused (error::idempotency_key_reused, HTTP 422).
//
// The Redis broker keeps keys in Redis (for idempotency_ttl); a hub alone, or
// in_process_broker, keeps the last `capacity` keys here: a retry that comes after
// that many other keyed publishes is stored again.

#include <herald/history.hpp>
#include <herald/hub/error.hpp>
#include <herald/hub/wire.hpp>

#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>

namespace herald::hub {

// 1 to 128 visible ASCII characters, the draft's sf-string quotes removed when
// present (`"abc"` and `abc` are the same key). -> the key, or nullopt when it is
// no key at all (answered 400).
inline std::optional<std::string_view> parse_idempotency_key(std::string_view value) {
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    if (value.empty() || value.size() > 128) return std::nullopt;
    for (const char c : value)
        if (c < 0x21 || c > 0x7e || c == '"') return std::nullopt;
    return value;
}

// The answer to a publish retried with its key: `data` under the id `id` the first
// one got (remembered by idempotency_memory, or by the Redis broker).
inline message_ptr published_again(std::string_view topic, std::string_view id, std::string_view data) {
    const auto at = split_position(id);
    return at ? make_message(topic, at->epoch, at->seq, data) : nullptr;
}

class idempotency_memory {
public:
    // What a key's first publish left: its id, and its body's fingerprint (a
    // retry must carry the same body; another is error::idempotency_key_reused).
    struct remembered {
        std::string id;
        std::size_t body = 0;
    };

    explicit idempotency_memory(std::size_t capacity = 10'000) : capacity_(capacity) {}

    static std::size_t fingerprint(std::string_view data) noexcept { return std::hash<std::string_view>{}(data); }

    // The answer to a publish of `data` to `topic` with `key`, when the key is
    // still remembered: the first publish's message, or null and
    // idempotency_key_reused when `data` is not what that one carried.
    std::optional<message_ptr> retry(std::string_view topic, std::string_view key, std::string_view data,
                                     std::error_code& ec) const {
        const auto it = ids_.find(name(topic, key));
        if (it == ids_.end()) return std::nullopt;
        if (it->second.body != fingerprint(data)) {
            ec = error::idempotency_key_reused;
            return message_ptr{};
        }
        return published_again(topic, it->second.id, data);
    }

    // A publish of `data` to `topic` with `key` got `id`; the oldest key goes when
    // `capacity` are kept.
    void remember(std::string_view topic, std::string_view key, std::string_view id, std::string_view data) {
        if (capacity_ == 0) return;
        auto [it, fresh] = ids_.try_emplace(name(topic, key), remembered{std::string(id), fingerprint(data)});
        if (!fresh) return;
        order_.push_back(it->first);
        if (order_.size() > capacity_) {
            ids_.erase(order_.front());
            order_.pop_front();
        }
    }

    std::size_t size() const noexcept { return ids_.size(); }

private:
    // A topic name never holds '\n' (valid_topic_name): it cannot run into the key.
    static std::string name(std::string_view topic, std::string_view key) {
        std::string out(topic);
        out += '\n';
        out += key;
        return out;
    }

    std::size_t capacity_;
    std::unordered_map<std::string, remembered> ids_;
    std::deque<std::string> order_;
};

}  // namespace herald::hub

#endif
