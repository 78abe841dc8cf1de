// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_SSE_REPLAY_HPP
#define HERALD_SSE_REPLAY_HPP

// Replay for one event stream: every published event gets an id `<epoch>-<seq>`
// and is kept, serialized, in a bounded history, so that a client reconnecting with
// `Last-Event-ID` (WHATWG HTML §9.2.4: the browser sends the last id it saw) gets
// exactly the events it missed, in order, with no duplicate.
//
// The epoch names this history (a random word drawn when the process starts, in the
// manner of Centrifugo's offset + epoch). A sequence number alone would be resumed
// against a restarted server's new numbering, silently skipping or repeating
// events; with the epoch, an id from another life of the server is recognised as
// such. Whenever a resume cannot be exact — the epoch differs, the id was never
// issued, the missed events were evicted, or the id is not one of ours — resume()
// says `lost`, and the stream sends the documented history-lost event:
//
//   event: history-lost
//   id: <epoch>-<newest seq>
//   data: {"epoch":"<epoch>","last_event_id":"<epoch>-<newest seq>"}
//
// Its id moves the client's last event id to "now", so that the client, having
// resynchronised (reloaded its state by other means), resumes from there on the
// next reconnect instead of being told again.

#include <herald/history.hpp>
#include <herald/sse/serializer.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace herald::sse {

// The event type of the history-lost event.
inline constexpr std::string_view history_lost_type = "history-lost";

// make_epoch() lives with the positions it names (herald/history.hpp).
using herald::make_epoch;

class replay {
public:
    enum class outcome {
        fresh,    // no Last-Event-ID: a first connection, live events only
        resumed,  // the events after the id are history()[first, size())
        lost,     // cannot resume exactly: send history_lost_event(), then live events
    };

    struct resume_result {
        outcome state;
        std::size_t first;
    };

    // `epoch` should be a short word of letters and digits (see make_epoch()).
    explicit replay(std::string epoch, history::limits limits = {}) : epoch_(std::move(epoch)), history_(limits) {}

    // Serializes `ev` with the next id (any id in `ev` is replaced), keeps it, and
    // returns the bytes to send to every live stream. On error nothing is kept.
    shared_event publish(event ev, std::error_code& ec) {
        const std::string id = make_id(history_.last_seq() + 1);
        ev.id = id;
        auto bytes = make_shared_event(ev, ec);
        if (ec) return nullptr;
        history_.append(bytes);
        return bytes;
    }

    // What a client that sent `last_event_id` (nullopt: no header) should get.
    resume_result resume(std::optional<std::string_view> last_event_id) const noexcept {
        if (!last_event_id || last_event_id->empty()) return {outcome::fresh, history_.size()};
        const auto seq = parse_id(*last_event_id);
        if (!seq) return {outcome::lost, history_.size()};
        const auto found = history_.after(*seq);
        if (found.state != history::status::ok) return {outcome::lost, history_.size()};
        return {outcome::resumed, found.first};
    }

    // The history-lost event (see the top of this file), as of now.
    shared_event history_lost_event() const {
        const std::string id = last_id();
        std::string data = "{\"epoch\":\"";
        data += epoch_;
        data += "\",\"last_event_id\":\"";
        data += id;
        data += "\"}";
        std::error_code ignored;  // valid for any epoch publish() accepts
        return make_shared_event({history_lost_type, data, id, std::nullopt}, ignored);
    }

    // The id of the newest event; `<epoch>-0` before the first.
    std::string last_id() const { return make_id(history_.last_seq()); }
    std::string_view epoch() const noexcept { return epoch_; }
    const herald::history& events() const noexcept { return history_; }

    // The sequence number in `id` when it is `<this epoch>-<digits>`.
    std::optional<std::uint64_t> parse_id(std::string_view id) const noexcept { return parse_position(epoch_, id); }

private:
    std::string make_id(std::uint64_t seq) const { return make_position(epoch_, seq); }

    std::string epoch_;
    herald::history history_;
};

}  // namespace herald::sse

#endif
