// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_HUB_BROKER_HPP
#define HERALD_ASIO_HUB_BROKER_HPP

// What a hub service may stand on besides itself: a broker that numbers messages
// for several hubs (in one process: in_process_broker.hpp; across processes: Redis,
// a later step), and a history source that older messages can be fetched from.
// Both may answer from any thread; the service takes their answers in order by
// sequence number (hub/sequencer.hpp).

#include <herald/hub/sequencer.hpp>
#include <herald/hub/wire.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace herald::hub {

class service;

// Where older messages of a topic can be fetched from (a Redis stream).
class history_source {
public:
    struct entry {
        std::uint64_t seq = 0;
        std::string data;
    };
    virtual ~history_source() = default;
    // What a fetch or catch-up could do: answered (what is missing is gone), or
    // not now (the source is away: what is missing may still be there later, so
    // it is no reason for a lost signal).
    enum class answer { answered, not_now };

    // Fetches the messages numbered `range` of `topic` in `epoch` and calls `done`
    // once, from any thread, now or later, with those it has, in order.
    virtual void fetch(std::string_view topic, std::string_view epoch, seq_range range,
                       std::function<void(std::vector<entry>, answer)> done) = 0;
    // Brings `topic` up to the newest message the source has (apply()ing what the
    // hub lacks), then calls `done` once, from any thread: asked when a cursor is
    // one the hub cannot place (ahead of it, or of an epoch it has not seen: a
    // client that comes from another node), before it is told lost. The default
    // knows of nothing newer.
    virtual void catch_up(std::string_view topic, std::function<void(answer)> done) {
        (void)topic;
        done(answer::answered);
    }
    // Where `topic`'s numbering is now: `done(epoch, last seq)` once, from any
    // thread, or done("", 0) when the source has no such topic or cannot say now.
    // Asked for a fresh subscriber of a topic the hub never had a message of, so
    // that its ready id is a position every node can place. The default knows none.
    virtual void latest(std::string_view topic, std::function<void(std::string, std::uint64_t)> done) {
        (void)topic;
        done({}, 0);
    }
};

// Between hubs: numbers each message once for all of them.
class broker {
public:
    // A publish's answer: the message as the broker numbered it, or null and why.
    using published_handler = std::function<void(std::error_code, message_ptr)>;

    virtual ~broker() = default;
    // Numbers `data` for `topic` and has every hub joined apply() it, `origin`
    // included; `done` once, from any thread, at once (a broker in the process)
    // or later (one that asks a server, which answers after the server did). A
    // publish with a non-empty `idempotency_key` the topic already had is answered
    // with that publish's id and stores nothing (hub/idempotency.hpp). `topic`,
    // `data` and the key are valid during the call only: copy what is kept (a
    // WebSocket client's publish is a view of its connection's message).
    virtual void publish(service& origin, std::string_view topic, std::string_view data, std::string_view idempotency_key,
                         published_handler done) = 0;
    // Whether publish() always calls `done` before it returns.
    virtual bool answers_at_once() const noexcept { return false; }
    // Whether the broker is connected and up to date (hub::stats::in_sync); one in
    // the process always is.
    virtual bool in_sync() const noexcept { return true; }
    // `hub` is being destroyed: apply() nothing to it from now on (called by its destructor).
    virtual void detach(service& hub) noexcept { (void)hub; }
};

}  // namespace herald::hub

#endif
