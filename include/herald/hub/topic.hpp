// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_HUB_TOPIC_HPP
#define HERALD_HUB_TOPIC_HPP

// A topic of the hub: one ordered stream of messages that every transport carries
// with the same ids in the same order, and a bounded history to resume from.
//
// How it works: publish() gives a message the topic's next sequence number and
// writes it, once, in each wire form the transports send:
//
//   id      "<epoch>-<seq>"                              the cursor every transport carries
//   sse     "id: <epoch>-<seq>\ndata: <data>\n\n"       SSE (Last-Event-ID resumes)
//   json    {"id":"<epoch>-<seq>","topic":"t","data":"<data>"}
//                                                       a WebSocket text frame's payload,
//                                                       an element of a poll answer
//
// and keeps it in a history bounded by count and bytes (herald/history.hpp); the
// same shared message goes to every subscriber and to every replay. resume(cursor)
// says what a client that has seen up to `cursor` missed: nothing to resume
// (fresh), exactly the messages after it (resumed), or `lost` when that cannot be
// exact — the cursor is from another life of the server (another epoch), was never
// issued here, or what followed it was evicted. A lost client is sent
// lost_signal() (the newest cursor, so it continues from "now" once it has
// resynchronised), never a silent gap. The epoch is drawn at start-up from a
// random source the caller owns (sse::make_epoch), as in sse/replay.hpp.
//
// Not thread-safe: the hub that owns topics serializes access (hub/hub.hpp).

#include <herald/history.hpp>
#include <herald/hub/error.hpp>
#include <herald/json.hpp>
#include <herald/sse/serializer.hpp>
#include <herald/utf8.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace herald::hub {

// One published message in every wire form; immutable once published.
struct message {
    std::uint64_t seq = 0;
    std::string id;    // "<epoch>-<seq>"
    std::string data;  // as published (UTF-8)
    std::string sse;   // the whole SSE event
    std::string json;  // {"id":...,"topic":...,"data":...}

    // What keeping it costs, for the history's byte budget.
    std::size_t size() const noexcept { return id.size() + data.size() + sse.size() + json.size(); }
};
using message_ptr = std::shared_ptr<const message>;

struct topic_limits {
    std::size_t max_messages = 1000;        // kept for resuming
    std::size_t max_bytes = 4 * 1024 * 1024;  // kept for resuming, all wire forms counted
    std::size_t max_message_bytes = 64 * 1024;
};

class topic {
public:
    enum class outcome {
        fresh,    // no cursor: live messages from now on
        resumed,  // messages() holds exactly what came after the cursor (maybe nothing)
        lost,     // cannot resume exactly: send lost_signal(), then live messages
    };

    struct resume_result {
        outcome state = outcome::fresh;
        std::vector<message_ptr> messages;  // when resumed, oldest first
    };

    topic(std::string name, std::string epoch, topic_limits limits = {})
        : name_(std::move(name)), epoch_(std::move(epoch)), limits_(limits), history_({limits.max_messages, limits.max_bytes}) {}

    // Publishes `data`. -> the message, or null and the reason (nothing kept).
    // Why `data` cannot be published under `limits` ({} when it can).
    static std::error_code check(std::string_view data, const topic_limits& limits) noexcept {
        if (data.size() > limits.max_message_bytes) return error::message_too_big;
        if (!is_utf8(data)) return error::not_utf8;
        return {};
    }

    message_ptr publish(std::string_view data, std::error_code& ec) {
        ec = check(data, limits_);
        if (ec) return nullptr;
        auto m = std::make_shared<message>();
        m->seq = history_.last_seq() + 1;
        m->id = make_id(m->seq);
        m->data.assign(data);
        // Cannot fail: the id is letters, digits and '-', and any data serializes.
        (void)sse::serialize({{}, data, std::string_view(m->id), std::nullopt}, m->sse);
        m->json = R"({"id":)";
        append_json_string(m->id, m->json);
        m->json += R"(,"topic":)";
        append_json_string(name_, m->json);
        m->json += R"(,"data":)";
        append_json_string(data, m->json);
        m->json += '}';
        message_ptr shared = std::move(m);
        history_.append(shared);
        return shared;
    }

    // What a client that has seen everything up to `cursor` ("" or nullopt: a
    // first connection) should get before live messages.
    resume_result resume(std::optional<std::string_view> cursor) const {
        resume_result r;
        if (!cursor || cursor->empty()) return r;
        const auto seq = parse_id(*cursor);
        const auto found = seq ? history_.after(*seq) : history_type::lookup{history_type::status::lost, 0};
        if (found.state != history_type::status::ok) {
            r.state = outcome::lost;
            return r;
        }
        r.state = outcome::resumed;
        for (std::size_t i = found.first; i < history_.size(); ++i) r.messages.push_back(history_[i].bytes);
        return r;
    }

    // Everything still kept, oldest first: what a lost client may rebuild from.
    std::vector<message_ptr> kept() const {
        std::vector<message_ptr> out;
        for (std::size_t i = 0; i < history_.size(); ++i) out.push_back(history_[i].bytes);
        return out;
    }

    // The signal a lost client gets, in JSON: {"type":"lost","topic":...,"id":newest}.
    // Transports wrap it: SSE as `event: history-lost` with that id, WebSocket as a
    // text frame, polling as `"reset":true` with the newest cursor.
    std::string lost_signal() const {
        std::string out = R"({"type":"lost","topic":)";
        append_json_string(name_, out);
        out += R"(,"id":)";
        append_json_string(last_id(), out);
        out += '}';
        return out;
    }

    // The signal a client that came without a cursor gets first, in JSON:
    // {"type":"ready","id":newest}, where "now" is (SSE sends it as `event: ready`
    // with that id, WebSocket as a text frame).
    std::string ready_signal() const {
        std::string out = R"({"type":"ready","id":)";
        append_json_string(last_id(), out);
        out += '}';
        return out;
    }

    // The cursor of the newest message; "<epoch>-0" before the first.
    std::string last_id() const { return make_id(history_.last_seq()); }
    std::uint64_t last_seq() const noexcept { return history_.last_seq(); }
    const std::string& name() const noexcept { return name_; }
    const std::string& epoch() const noexcept { return epoch_; }
    std::size_t kept_count() const noexcept { return history_.size(); }
    std::size_t kept_bytes() const noexcept { return history_.bytes(); }

    // The sequence number in `id` when it is "<this epoch>-<digits>".
    std::optional<std::uint64_t> parse_id(std::string_view id) const noexcept { return parse_position(epoch_, id); }

private:
    using history_type = basic_history<message>;

    std::string make_id(std::uint64_t seq) const { return make_position(epoch_, seq); }

    std::string name_;
    std::string epoch_;
    topic_limits limits_;
    history_type history_;
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
