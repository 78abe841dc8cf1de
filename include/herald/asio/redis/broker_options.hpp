// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_REDIS_BROKER_OPTIONS_HPP
#define HERALD_ASIO_REDIS_BROKER_OPTIONS_HPP

// What the hub's Redis broker (broker.hpp) keeps, and how long it waits for Redis.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace herald::redis {

struct broker_options {
    std::string prefix = "herald";            // keys and channels: <prefix>:{<topic>}...
    std::size_t stream_length = 10'000;       // messages each topic's stream keeps, for gaps and resumes
    std::chrono::seconds idempotency_ttl{300};
    std::chrono::milliseconds retry_for{1000};        // how long a publish waits for Redis to come back
    std::chrono::milliseconds check_interval{5000};   // each known topic's latest message, compared
    std::size_t max_topics = 10'000;          // topics repaired and checked (the hub's own cap applies too)
    std::uint64_t seed = 0;  // mixed with std::random_device: epochs and idempotency keys never repeat
};

}  // namespace herald::redis

#endif
