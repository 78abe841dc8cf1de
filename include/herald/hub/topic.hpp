// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_HUB_TOPIC_HPP
#define HERALD_HUB_TOPIC_HPP

// A topic of the hub: one ordered stream of messages that every transport carries
// with the same ids in the same order, and a bounded history to resume from.
//
// How it works: a message gets the topic's next sequence number, is written once in
// each wire form (hub/wire.hpp) and kept in a history bounded by count and bytes
// (herald/history.hpp); the same shared message goes to every subscriber and every
// replay. Numbers come from one of two places:
//   publish(data)             this topic numbers it: <epoch>-<last + 1>;
//   apply(epoch, seq, data)   a broker numbered it. In order -> appended; seq <= last
//                             -> a duplicate, dropped; seq > last + 1 -> held, and the
//                             missing range reported (fetch it and apply() it, or
//                             skip_gap()); another epoch -> the history starts again
//                             there and subscribers are owed the lost signal.
// resume(cursor) says what a client that has seen up to `cursor` missed: nothing
// (fresh: no cursor), exactly the messages after it (resumed), `behind` when the
// history is backed by a source (topic_limits::backed) and the start of what it
// missed must come from there, or `lost` when it cannot be exact — another epoch,
// never issued here, or evicted. A lost client is told so (hub/wire.hpp's lost
// signal, with the newest cursor), never left with a silent gap.
//
// Not thread-safe: the hub that owns topics serializes access.

#include <herald/history.hpp>
#include <herald/hub/error.hpp>
#include <herald/hub/sequencer.hpp>
#include <herald/hub/wire.hpp>
#include <herald/sse/event.hpp>
#include <herald/utf8.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace herald::hub {

struct topic_limits {
    std::size_t max_messages = 1000;        // kept for resuming
    std::size_t max_bytes = 4 * 1024 * 1024;  // kept for resuming, all wire forms counted
    std::size_t max_message_bytes = 64 * 1024;
    // A source older messages can be fetched from stands behind the history
    // (resume says `behind` instead of `lost` for a cursor evicted here).
    bool backed = false;
    std::size_t max_held = 4096;  // messages numbered from outside held while a gap is open
};

class topic {
public:
    enum class outcome {
        fresh,    // no cursor: live messages from now on
        resumed,  // messages holds exactly what came after the cursor (maybe nothing)
        behind,   // missing must come from the source first, then messages
        lost,     // cannot resume exactly: send the lost signal, then live messages
    };

    struct resume_result {
        outcome state = outcome::fresh;
        std::vector<message_ptr> messages;  // oldest first
        seq_range missing{};                // when behind
    };

    // What apply() and skip_gap() did.
    struct applied {
        std::vector<message_ptr> messages;   // appended now, in order: deliver them
        std::optional<std::string> lost_at;  // first tell subscribers lost, at this cursor
        std::optional<seq_range> gap;        // still missing: fetch and apply(), or skip_gap()
        bool duplicate = false;              // already had it: dropped
    };

    topic(std::string name, std::string epoch, topic_limits limits = {})
        : name_(std::move(name)), epoch_(std::move(epoch)), limits_(limits),
          history_({limits.max_messages, limits.max_bytes}), order_(0, limits.max_held) {}

    // Why `data` (with event name `event`) cannot be published under `limits` ({}
    // when it can). An event name is what SSE's `event:` field carries, so
    // sse::check's rules (no CR or LF, UTF-8: WHATWG HTML §9.2.5), at most 64 bytes.
    static std::error_code check(std::string_view data, const topic_limits& limits, std::string_view event = {}) noexcept {
        if (data.size() > limits.max_message_bytes) return error::message_too_big;
        if (!is_utf8(data)) return error::not_utf8;
        if (event.size() > 64 || sse::check({event, {}, std::nullopt, std::nullopt})) return error::bad_event_name;
        return {};
    }

    // Publishes `data` (named `event`, if any) as this topic's next message.
    // -> null and the reason when refused (nothing kept).
    message_ptr publish(std::string_view data, std::error_code& ec, std::string_view event = {}) {
        ec = check(data, limits_, event);
        if (ec) return nullptr;
        const auto seq = history_.last_seq() + 1;
        order_.skip_to(seq + 1);  // keeps apply() numbering after it
        return keep(make_message(name_, epoch_, seq, data, event));
    }

    // Takes message `seq` of `epoch` as numbered by a broker (see the top).
    applied apply(std::string_view epoch, std::uint64_t seq, std::string_view data, std::error_code& ec) {
        applied out;
        ec = check(data, limits_);
        if (ec || seq == 0) {
            if (!ec) ec = error::bad_sequence;
            return out;
        }
        if (epoch != epoch_) {
            // Nothing before seq in the new epoch is here: what subscribers had is
            // void, unless they had nothing (the topic never had a message: it adopts
            // the broker's numbering quietly, whatever number comes first, and a
            // cursor "<old epoch>-0" given out before reads as just before it).
            const bool had_any = history_.last_seq() != 0;
            renumber(epoch, seq - 1, !had_any);
            if (had_any) out.lost_at = last_id();
        }
        switch (order_.offer(seq, std::string(data))) {
        case sequencer<std::string>::verdict::duplicate: out.duplicate = true; return out;
        case sequencer<std::string>::verdict::overflow:
            out = skip_gap();  // too much waits on the gap: give it up, then take this one
            (void)order_.offer(seq, std::string(data));
            break;
        default: break;
        }
        release(out);
        return out;
    }

    // Takes a broker's numbering, `epoch` at `seq`, before any message comes: a
    // topic that never had one adopts it quietly, as apply() would, and its
    // last_id() is then a position every node can place. -> whether it did (not
    // when the topic had a message).
    bool anchor(std::string_view epoch, std::uint64_t seq) {
        if (history_.last_seq() != 0) return false;
        if (epoch != epoch_) renumber(epoch, seq, true);
        return true;
    }

    // Gives up on the gap apply() reported (the source no longer has it): the
    // history starts again after it, subscribers are owed the lost signal, and
    // the messages held behind the gap are released.
    applied skip_gap() {
        applied out;
        const auto missing = order_.gap();
        if (!missing) return out;
        order_.skip_gap();
        history_.restart(missing->last);
        out.lost_at = last_id();
        release(out);
        return out;
    }

    // The range apply() is waiting for, if any.
    std::optional<seq_range> gap() const noexcept { return order_.gap(); }

    // What a client that has seen everything up to `cursor` ("" or nullopt: a
    // first connection) should get before live messages.
    resume_result resume(std::optional<std::string_view> cursor) const {
        resume_result r;
        if (!cursor || cursor->empty()) return r;
        const auto seq = parse_id(*cursor);
        const auto found = seq ? history_.after(*seq) : history_type::lookup{history_type::status::lost, 0};
        if (found.state == history_type::status::ahead || !seq) {
            r.state = outcome::lost;
        } else if (found.state == history_type::status::lost) {
            r.state = limits_.backed ? outcome::behind : outcome::lost;
            r.missing = {*seq + 1, history_.first_seq() - 1};
            if (r.state == outcome::behind) r.messages = kept();
        } else {
            r.state = outcome::resumed;
            for (std::size_t i = found.first; i < history_.size(); ++i) r.messages.push_back(history_[i].bytes);
        }
        return r;
    }

    // Everything still kept, oldest first: what a lost client may rebuild from.
    std::vector<message_ptr> kept() const {
        std::vector<message_ptr> out;
        out.reserve(history_.size());
        for (std::size_t i = 0; i < history_.size(); ++i) out.push_back(history_[i].bytes);
        return out;
    }

    // `data` as this topic's message `seq` in its epoch, without keeping it: for
    // messages a source hands back.
    message_ptr make(std::uint64_t seq, std::string_view data) const { return make_message(name_, epoch_, seq, data); }

    // The cursor of the newest message; "<epoch>-0" before the first.
    std::string last_id() const { return make_position(epoch_, history_.last_seq()); }
    std::uint64_t last_seq() const noexcept { return history_.last_seq(); }
    const std::string& name() const noexcept { return name_; }
    const std::string& epoch() const noexcept { return epoch_; }
    std::size_t kept_count() const noexcept { return history_.size(); }
    std::size_t kept_bytes() const noexcept { return history_.bytes(); }

    // The sequence number in `id` when it is "<this epoch>-<digits>".
    std::optional<std::uint64_t> parse_id(std::string_view id) const noexcept {
        if (const auto seq = parse_position(epoch_, id)) return seq;
        if (!adopted_from_.empty() && parse_position(adopted_from_, id) == 0u) return adopted_base_;
        return std::nullopt;
    }

private:
    using history_type = basic_history<message>;

    // The history starts again in `epoch` after `base`; `quietly`: a cursor
    // "<epoch before>-0" given out meanwhile reads as `base`.
    void renumber(std::string_view epoch, std::uint64_t base, bool quietly) {
        adopted_from_ = quietly ? epoch_ : std::string();
        adopted_base_ = base;
        epoch_.assign(epoch);
        history_.restart(base);
        order_ = sequencer<std::string>(base, limits_.max_held);
    }

    message_ptr keep(message_ptr m) {
        history_.append(m);
        return m;
    }

    void release(applied& out) {
        while (auto next = order_.next()) out.messages.push_back(keep(make_message(name_, epoch_, next->first, next->second)));
        out.gap = order_.gap();
    }

    std::string name_;
    std::string epoch_;
    std::string adopted_from_;  // the epoch of before a quiet adoption (see apply())
    std::uint64_t adopted_base_ = 0;  // where "<adopted_from_>-0" reads in the adopted epoch
    topic_limits limits_;
    history_type history_;
    sequencer<std::string> order_;  // messages numbered from outside, waiting for a gap to close
};

// Whether `name` may name a topic: 1-64 of A-Z a-z 0-9 _ . : - (safe in a URL
// query, a JSON string and a log line without escaping).
inline bool valid_topic_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 64) return false;
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                        c == '.' || c == ':' || c == '-';
        if (!ok) return false;
    }
    return true;
}

}  // namespace herald::hub

#endif
