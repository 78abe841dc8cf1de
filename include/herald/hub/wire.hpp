// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_HUB_WIRE_HPP
#define HERALD_HUB_WIRE_HPP

// The hub's wire contract, one place for every transport. A message is written
// once, when it is published, in each form a transport sends:
//
//   id    "<epoch>-<seq>"                                  the cursor every transport carries
//   sse   "id: <epoch>-<seq>\ndata: <data>\n\n"            SSE (Last-Event-ID resumes)
//   json  {"id":"<epoch>-<seq>","topic":"t","data":"<data>"}  a WebSocket text frame, an
//                                                          element of a poll answer
//   ws_head  the header of a server's text frame carrying json: every WebSocket
//            subscriber writes (ws_head, json) from here, no copy (RFC 6455 §5.2;
//            server frames are not masked, so one header serves all)
//   ws_deflated()  that frame compressed once (RFC 7692), made by the first
//            subscriber that agreed to permessage-deflate and shared by all such
//
// A message may have an event name (an SSE channel's event types): SSE then
// writes `event: <name>` first, and the JSON carries "event":"<name>" before "data".
//
// and two signals, the same JSON on every transport:
//
//   lost   {"type":"lost","topic":T,"id":C}   the client's cursor cannot be resumed exactly
//          (another epoch, evicted, never issued): it resynchronises and continues from C
//   ready  {"type":"ready","topic":T,"id":C}  a client that came without a cursor: "now" is C
//
// SSE sends them as `event: history-lost` / `event: ready` with id C (EventSource then
// resumes from C); WebSocket as text frames; a poll answers
// {"cursor":C,"reset":R,"messages":[json...]}, R true for lost.

#include <herald/history.hpp>
#include <herald/json.hpp>
#include <herald/sse/serializer.hpp>
#include <herald/websocket/deflate_codec.hpp>
#include <herald/websocket/frame.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace herald::hub {

// One published message in every wire form; immutable once published.
struct message {
    std::uint64_t seq = 0;
    std::string id;     // "<epoch>-<seq>"
    std::string event;  // its event name, or empty
    std::string data;   // as published (UTF-8)
    std::string sse;      // the whole SSE event
    std::string json;     // {"id":...,"topic":...,"data":...}
    std::string ws_head;  // 2-10 bytes: the WebSocket text frame's header for json

    // What keeping it costs, for a history's byte budget.
    std::size_t size() const noexcept {
        return id.size() + event.size() + data.size() + sse.size() + json.size() + ws_head.size();
    }

    // json's text frame compressed afresh (websocket::compress_message) with
    // `options`' server window: any subscriber whose stream takes_compressed() that
    // window may be sent it. Made once, by the first delivery that asks, on its
    // thread (`on_compress` is called then: a counter), and shared by all after:
    // `window` says which window the first asker's options named, for subscribers
    // of routes configured otherwise. An empty head: compressing did not pay, send
    // the plain frame.
    struct deflated_frame {
        std::string head, body;
        int window = 15;
    };
    template <class OnCompress>
    const deflated_frame& ws_deflated(const websocket::deflate_options& options, OnCompress on_compress) const {
        std::call_once(deflate_once_, [&] {
            on_compress();
            deflated_.window = std::clamp(options.server_max_window_bits, 9, 15);
            if (!websocket::compress_message(json, options.server_max_window_bits, options, deflated_.body)) {
                deflated_.body = std::string();
                return;
            }
            char head[websocket::max_header_size];
            deflated_.head.assign(head, websocket::write_header({true, websocket::rsv1, websocket::opcode::text, false,
                                                                 deflated_.body.size(), {}}, head));
        });
        return deflated_;
    }

private:
    mutable std::once_flag deflate_once_;
    mutable deflated_frame deflated_;
};
using message_ptr = std::shared_ptr<const message>;

// `data` as message `seq` of `topic` in `epoch`, with `event` as its event name;
// both UTF-8, the name without CR or LF (checked by the caller: topic::check).
inline message_ptr make_message(std::string_view topic, std::string_view epoch, std::uint64_t seq, std::string_view data,
                                std::string_view event = {}) {
    auto m = std::make_shared<message>();
    m->seq = seq;
    m->id = make_position(epoch, seq);
    m->event.assign(event);
    m->data.assign(data);
    // Cannot fail: the id is letters, digits, '.' and '-', and the rest was checked.
    (void)sse::serialize({event, data, std::string_view(m->id), std::nullopt}, m->sse);
    m->json = R"({"id":)";
    append_json_string(m->id, m->json);
    m->json += R"(,"topic":)";
    append_json_string(topic, m->json);
    if (!event.empty()) {
        m->json += R"(,"event":)";
        append_json_string(event, m->json);
    }
    m->json += R"(,"data":)";
    append_json_string(data, m->json);
    m->json += '}';
    char head[websocket::max_header_size];
    m->ws_head.assign(head, websocket::write_header({true, 0, websocket::opcode::text, false, m->json.size(), {}}, head));
    return m;
}

namespace detail {
inline std::string signal_payload(std::string_view type, std::string_view topic, std::string_view id) {
    std::string out = R"({"type":)";
    append_json_string(type, out);
    out += R"(,"topic":)";
    append_json_string(topic, out);
    out += R"(,"id":)";
    append_json_string(id, out);
    out += '}';
    return out;
}
}  // namespace detail

// The event type SSE gives the lost signal.
inline constexpr std::string_view history_lost_event_type = "history-lost";

// {"type":"lost","topic":T,"id":C}
inline std::string lost_payload(std::string_view topic, std::string_view id) {
    return detail::signal_payload("lost", topic, id);
}

// {"type":"ready","topic":T,"id":C}
inline std::string ready_payload(std::string_view topic, std::string_view id) {
    return detail::signal_payload("ready", topic, id);
}

// A signal as an SSE event: `event: history-lost` or `event: ready`, with id C.
inline sse::shared_event sse_lost(std::string_view topic, std::string_view id) {
    std::error_code ignored;  // our ids and JSON always serialize
    return sse::make_shared_event({history_lost_event_type, lost_payload(topic, id), id, std::nullopt}, ignored);
}
inline sse::shared_event sse_ready(std::string_view topic, std::string_view id) {
    std::error_code ignored;
    return sse::make_shared_event({"ready", ready_payload(topic, id), id, std::nullopt}, ignored);
}

// How soon a client told to come back (its history source is away for now) should:
// an SSE `retry:`, a poll's Retry-After.
inline constexpr std::chrono::seconds retry_later{1};

// The SSE answer to "come back later": a `retry:` line alone (no data line, so
// EventSource dispatches nothing; WHATWG HTML §9.2.6), before the stream closes.
inline sse::shared_event sse_retry_later() {
    std::string event;
    sse::detail::append_retry(static_cast<std::uint32_t>(std::chrono::milliseconds(retry_later).count()), event);
    event += '\n';
    return std::make_shared<const std::string>(std::move(event));
}

// {"type":"error","text":...}: a WebSocket client's publish that was refused.
inline std::string error_payload(std::string_view text) {
    std::string out = R"({"type":"error","text":)";
    append_json_string(text, out);
    out += '}';
    return out;
}

// {"id":C}: the answer to a publish.
inline std::string published_payload(std::string_view id) {
    std::string out = R"({"id":)";
    append_json_string(id, out);
    out += '}';
    return out;
}

// A poll answer's body: {"cursor":C,"reset":R,"messages":[json...]}.
inline std::string poll_body(std::string_view cursor, bool reset, const std::vector<message_ptr>& messages) {
    std::size_t size = cursor.size() + 48;
    for (const auto& m : messages) size += m->json.size() + 1;
    std::string out;
    out.reserve(size);
    out = R"({"cursor":)";
    append_json_string(cursor, out);
    out += reset ? R"(,"reset":true,"messages":[)" : R"(,"reset":false,"messages":[)";
    for (std::size_t i = 0; i < messages.size(); ++i) {
        if (i) out += ',';
        out += messages[i]->json;
    }
    out += "]}";
    return out;
}

}  // namespace herald::hub

#endif
