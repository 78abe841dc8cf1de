// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_TIMING_TOKEN_BUCKET_HPP
#define HERALD_TIMING_TOKEN_BUCKET_HPP

// Rate limits: a token bucket, and a bounded set of them by key.
//
// How it works: a bucket holds up to `burst` tokens and gains `per_second` of them
// each second; an action takes one. A client that keeps to the rate is never
// refused, one that bursts may take `burst` at once, and a refused one is told how
// long until the next token (the Retry-After it is answered with). This is the
// shape of nginx's limit_req and of Centrifugo's per-client limits. Time is an
// input (`now`), as everywhere in herald's core: tests step a fake clock.
//
// keyed_limiter keeps a bucket per key (a client's identity or address) under a
// bound on keys: a bucket that has refilled to `burst` says nothing a new one would
// not, so at the bound such buckets are forgotten (at most one sweep a second);
// when every key is still active, a new key is refused for a second rather than
// tracked without bound.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace herald::timing {

struct rate_limit {
    double per_second = 0;  // 0: no limit
    double burst = 1;       // tokens a quiet client has saved up, at least 1

    bool limited() const noexcept { return per_second > 0; }
};

class token_bucket {
public:
    using clock = std::chrono::steady_clock;

    token_bucket(rate_limit limit, clock::time_point now) noexcept
        : limit_(limit), capacity_(std::max(limit.burst, 1.0)), tokens_(capacity_), at_(now) {}

    // Takes a token: nullopt when there was one (or there is no limit), else how long
    // until there is one (never zero).
    std::optional<clock::duration> take(clock::time_point now) noexcept {
        if (!limit_.limited()) return std::nullopt;
        refill(now);
        if (tokens_ >= 1) {
            tokens_ -= 1;
            return std::nullopt;
        }
        const auto wait = std::chrono::duration<double>((1 - tokens_) / limit_.per_second);
        return std::max<clock::duration>(std::chrono::ceil<clock::duration>(wait), clock::duration(1));
    }

    // Back to `burst`: the bucket is indistinguishable from a new one.
    bool full(clock::time_point now) noexcept {
        refill(now);
        return tokens_ >= capacity_;
    }

private:
    void refill(clock::time_point now) noexcept {
        if (now <= at_) return;
        const double gained = std::chrono::duration<double>(now - at_).count() * limit_.per_second;
        tokens_ = std::min(capacity_, tokens_ + gained);
        at_ = now;
    }

    rate_limit limit_;
    double capacity_;  // burst, at least one token
    double tokens_;
    clock::time_point at_;
};

class keyed_limiter {
public:
    using clock = token_bucket::clock;

    explicit keyed_limiter(rate_limit limit, std::size_t max_keys = 10000) : limit_(limit), max_keys_(std::max<std::size_t>(max_keys, 1)) {}

    // A token from `key`'s bucket: nullopt, or how long until there is one.
    std::optional<clock::duration> take(std::string_view key, clock::time_point now) {
        if (!limit_.limited()) return std::nullopt;
        auto found = buckets_.find(std::string(key));
        if (found == buckets_.end()) {
            if (buckets_.size() >= max_keys_ && !sweep(now)) return std::chrono::seconds(1);
            found = buckets_.emplace(std::string(key), token_bucket(limit_, now)).first;
        }
        return found->second.take(now);
    }

    std::size_t keys() const noexcept { return buckets_.size(); }

private:
    // Forgets the buckets that refilled. -> whether there is room now.
    bool sweep(clock::time_point now) {
        if (swept_ && now - *swept_ < std::chrono::seconds(1)) return false;
        swept_ = now;
        for (auto it = buckets_.begin(); it != buckets_.end();) it = it->second.full(now) ? buckets_.erase(it) : std::next(it);
        return buckets_.size() < max_keys_;
    }

    rate_limit limit_;
    std::size_t max_keys_;
    std::unordered_map<std::string, token_bucket> buckets_;
    std::optional<clock::time_point> swept_;
};

}  // namespace herald::timing

#endif
