// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_TIMING_BACKOFF_HPP
#define HERALD_TIMING_BACKOFF_HPP

// Exponential backoff with jitter, for reconnecting clients.
//
// How it works: attempt n (from 0) has the ceiling min(cap, base * 2^n); the jitter
// policy turns it into a delay (AWS Architecture Blog, "Exponential Backoff And
// Jitter", 2015):
//   none          ceiling
//   full          uniform [0, ceiling]
//   equal         ceiling/2 + uniform [0, ceiling/2]
//   decorrelated  min(cap, uniform [base, 3 * previous delay]), previous starting at base
// Full jitter spreads a crowd of clients that lost the same server best; it is the
// default. The random generator is the caller's (time and randomness are inputs), and
// herald maps its bits to a range itself, so a fixed seed gives the same sequence on
// every standard library (std::uniform_int_distribution does not promise that).
// Arithmetic saturates at `cap`: thousands of attempts never overflow.

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>

namespace herald::timing {

enum class jitter { none, full, equal, decorrelated };

struct backoff_policy {
    std::chrono::nanoseconds base = std::chrono::milliseconds(500);
    std::chrono::nanoseconds cap = std::chrono::seconds(30);
    std::uint32_t max_attempts = 0;  // 0: retry for ever
    timing::jitter jitter = timing::jitter::full;
};

namespace detail {

// 64 random bits from any UniformRandomBitGenerator.
template <class Generator>
std::uint64_t random_bits(Generator& gen) {
    using result = typename Generator::result_type;
    constexpr auto span = static_cast<std::uint64_t>(Generator::max() - Generator::min());
    if constexpr (span == std::numeric_limits<std::uint64_t>::max()) {
        return static_cast<std::uint64_t>(gen() - Generator::min());
    } else {
        // Narrower generators (minstd_rand, mt19937): concatenate 16 bits at a time.
        static_assert(span >= 0xffff, "the generator must give at least 16 random bits");
        std::uint64_t bits = 0;
        for (int i = 0; i < 4; ++i) bits = (bits << 16) | (static_cast<std::uint64_t>(static_cast<result>(gen() - Generator::min())) & 0xffff);
        return bits;
    }
}

__extension__ typedef unsigned __int128 uint128;  // GCC and Clang; __extension__ keeps -Wpedantic quiet

// Uniform in [lo, hi] by multiply-high (Lemire): one draw, bias below 2^-64 * range.
template <class Generator>
std::int64_t uniform(Generator& gen, std::int64_t lo, std::int64_t hi) {
    if (hi <= lo) return lo;
    const auto range = static_cast<uint128>(static_cast<std::uint64_t>(hi - lo)) + 1;
    const auto scaled = static_cast<std::uint64_t>((random_bits(gen) * range) >> 64);
    return lo + static_cast<std::int64_t>(scaled);
}

}  // namespace detail

class backoff {
public:
    explicit backoff(const backoff_policy& policy = {}) noexcept : policy_(policy), previous_(policy.base) {
        if (policy_.base.count() < 0) policy_.base = std::chrono::nanoseconds{0};
        if (policy_.cap < policy_.base) policy_.cap = policy_.base;
        previous_ = policy_.base;
    }

    // The delay before the next attempt, or nullopt when max_attempts are used up.
    template <class Generator>
    std::optional<std::chrono::nanoseconds> next(Generator& gen) {
        if (policy_.max_attempts != 0 && attempts_ >= policy_.max_attempts) return std::nullopt;
        const std::int64_t top = ceiling(attempts_).count();
        ++attempts_;
        std::int64_t delay = top;
        switch (policy_.jitter) {
        case jitter::none: break;
        case jitter::full: delay = detail::uniform(gen, 0, top); break;
        case jitter::equal: delay = top / 2 + detail::uniform(gen, 0, top - top / 2); break;
        case jitter::decorrelated: {
            const std::int64_t cap = policy_.cap.count();
            const std::int64_t prev = previous_.count();
            const std::int64_t high = prev > cap / 3 ? cap : prev * 3;  // saturate, no overflow
            delay = detail::uniform(gen, policy_.base.count(), high < policy_.base.count() ? policy_.base.count() : high);
            if (delay > cap) delay = cap;
            previous_ = std::chrono::nanoseconds{delay};
            break;
        }
        }
        return std::chrono::nanoseconds{delay};
    }

    // After a success: the next failure starts again from `base`.
    void reset() noexcept {
        attempts_ = 0;
        previous_ = policy_.base;
    }

    std::uint32_t attempts() const noexcept { return attempts_; }
    const backoff_policy& policy() const noexcept { return policy_; }

    // min(cap, base * 2^attempt), without overflow.
    std::chrono::nanoseconds ceiling(std::uint32_t attempt) const noexcept {
        const std::int64_t base = policy_.base.count();
        const std::int64_t cap = policy_.cap.count();
        if (base == 0) return std::chrono::nanoseconds{0};
        if (attempt >= 62 || base > (cap >> attempt)) return policy_.cap;
        return std::chrono::nanoseconds{base << attempt};
    }

private:
    backoff_policy policy_;
    std::chrono::nanoseconds previous_;
    std::uint32_t attempts_ = 0;
};

}  // namespace herald::timing

#endif
