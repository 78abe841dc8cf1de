// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_HUB_SUBSCRIBER_HPP
#define HERALD_ASIO_HUB_SUBSCRIBER_HPP

// What the hub service delivers to: a WebSocket, an SSE stream, a parked long poll,
// or a user's own transport. The hub calls a subscriber from one thread at a time
// per topic, in sequence order, with no lock of the hub held (so a subscriber may
// publish, subscribe or unsubscribe from inside a delivery), and hands its last
// reference to executor() so that it is destroyed there, not on a publisher's thread.

#include <herald/hub/wire.hpp>

#include <asio/any_io_executor.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace herald::hub {

class service;
namespace detail {
class slot;
}

class subscriber {
public:
    virtual ~subscriber() = default;
    // Its transport's name, for stats().subscribers ("websocket", "sse", ...).
    virtual std::string_view transport() const noexcept = 0;
    // Queues `m` in this transport's wire form; the bytes queued, or 0 when the
    // subscriber has ended (or just ended for being too slow). Must not block.
    virtual std::size_t deliver(const message_ptr& m) = 0;
    // Its cursor cannot be resumed exactly: it continues from `id` (hub/wire.hpp).
    virtual void lost(std::string_view topic, std::string_view id) = 0;
    // It came without a cursor: "now" is `id`, so that a drop before its first
    // message resumes from there instead of silently skipping what came between.
    virtual void ready(std::string_view topic, std::string_view id) = 0;
    // Its cursor needs the history source, which cannot answer now (Redis away):
    // it should come back later (SSE: `retry:` then close; WebSocket: close 1013;
    // a poll: 503 with Retry-After), not be told lost. -> true when it will (the
    // hub lets go of it); false, the default, and it is told lost as before.
    virtual bool unavailable(std::string_view topic, std::string_view id) {
        (void)topic;
        (void)id;
        return false;
    }
    virtual bool ended() const = 0;
    // Whether a replay of `messages` fits this transport's queue. One that does not
    // is told its history is lost instead (and resynchronises): queued anyway, it
    // would overflow, the client would come back with the same cursor, and again.
    virtual bool can_take(const std::vector<message_ptr>& messages) const {
        (void)messages;
        return true;
    }
    // Where it is destroyed; none: wherever the hub lets go of it.
    virtual asio::any_io_executor executor() const { return {}; }

    subscriber() = default;
    // A copy is not attached anywhere: the place below is the original's.
    subscriber(const subscriber&) noexcept {}
    subscriber& operator=(const subscriber&) noexcept { return *this; }

private:
    // Where a service keeps it (guarded by that service's directory lock).
    friend class service;
    friend class detail::slot;
    const service* owner_ = nullptr;
    std::weak_ptr<void> slot_;  // the service's slot of its topic (weak: the slot holds the subscriber)
    // Counts its subscribes and unsubscribes: an attach queued before a later one
    // is void when the drain reaches it (subscribe and unsubscribe may race). Only
    // compared for equality, so 32 bits wrap harmlessly; a derived class's first
    // member can start in the 4 bytes it leaves (a parked poll's waiter is 8 bytes smaller).
    std::atomic<std::uint32_t> generation_{0};
};

}  // namespace herald::hub

#endif
