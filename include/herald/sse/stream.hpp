// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_SSE_STREAM_HPP
#define HERALD_SSE_STREAM_HPP

// What an event stream response is, apart from its I/O (herald/asio/sse.hpp):
// its head, the Last-Event-ID its client resumes from, its limits, and the
// interface a channel fans events out through.

#include <herald/http/message.hpp>
#include <herald/sse/serializer.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace herald::sse {

enum class overflow_policy { close, drop_oldest };

struct stream_options {
    std::size_t max_queued_events = 4096;
    std::size_t max_queued_bytes = 4 * 1024 * 1024;
    overflow_policy on_overflow = overflow_policy::close;
    std::chrono::steady_clock::duration keepalive_interval = std::chrono::seconds(15);  // zero: none
    std::chrono::steady_clock::duration write_timeout = std::chrono::seconds(30);
    std::optional<std::uint32_t> retry;  // a `retry:` line right after the head
    std::size_t max_batch = 64;          // events gathered into one write
};

// Whatever takes shared events: an event_stream, or anything a channel fans out to.
class subscriber {
public:
    virtual ~subscriber() = default;
    // Queues `ev`; false once the subscriber has ended, so a channel drops it.
    virtual bool send(const shared_event& ev) = 0;
    // Ends the subscriber (closes its connection). Thread-safe.
    virtual void close() = 0;
    // True once ended: a channel forgets it.
    virtual bool ended() const = 0;
    // Whether `events` events of `bytes` bytes can be queued at once (a replay)
    // without overflowing; when not, a channel sends history-lost instead.
    virtual bool can_take(std::size_t events, std::size_t bytes) const = 0;
};

// The response head of an event stream (fields beyond these may be added).
inline http::response stream_response() {
    http::response res{200};
    res.fields.append("Content-Type", "text/event-stream");
    res.fields.append("Cache-Control", "no-cache");
    res.fields.append("X-Accel-Buffering", "no");  // nginx: pass events on, do not buffer them
    return res;
}

// The Last-Event-ID a reconnecting client sent (WHATWG HTML §9.2.4), if any.
inline std::optional<std::string_view> last_event_id(const http::request& req) {
    return req.fields.find("Last-Event-ID");
}

namespace detail {

// What an event stream reads of its stream_options once its head is made, packed:
// a stream is one of many thousands.
struct stream_limits {
    using duration = std::chrono::steady_clock::duration;
    explicit stream_limits(const stream_options& o)
        : max_queued_bytes(o.max_queued_bytes), keepalive_interval(o.keepalive_interval), write_timeout(o.write_timeout),
          max_queued_events(static_cast<std::uint32_t>(std::min<std::size_t>(o.max_queued_events, UINT32_MAX))),
          max_batch(static_cast<std::uint16_t>(std::clamp<std::size_t>(o.max_batch, 1, UINT16_MAX))),
          drop_oldest(o.on_overflow == overflow_policy::drop_oldest) {}
    std::size_t max_queued_bytes;
    duration keepalive_interval;
    duration write_timeout;
    std::uint32_t max_queued_events;
    std::uint16_t max_batch;  // at least 1
    bool drop_oldest;
};

}  // namespace detail

}  // namespace herald::sse

#endif
