// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_SSE_EVENT_HPP
#define HERALD_SSE_EVENT_HPP

// An event to send on a text/event-stream (WHATWG HTML §9.2), and the rules that
// decide whether it can be sent at all.
//
// The fields are views, not strings: an event is the argument of one serialize()
// call, which copies the bytes into the wire form, so owning copies would only add
// an allocation per event. Fan-out keeps the serialized bytes, not the event (see
// `shared_event` in serializer.hpp). The parser does not fill this struct: what it
// reports lives in its own buffers (see parser.hpp).
//
// `id` is optional because "absent" and "empty" mean different things on the wire:
// no `id:` line leaves the client's last event ID as it was, while an `id:` line
// with an empty value sets it to the empty string, so a reconnecting browser sends
// no Last-Event-ID at all (WHATWG HTML §9.2.6, "If the field name is id").

#include <herald/sse/error.hpp>
#include <herald/utf8.hpp>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <system_error>

namespace herald::sse {

struct event {
    std::string_view type{};               // empty: no `event:` line; browsers fire "message"
    std::string_view data{};               // any text; CR, LF and CRLF each end one `data:` line
    std::optional<std::string_view> id{};  // nullopt: no `id:` line; "": clears the last event ID
    std::optional<std::uint32_t> retry{};  // reconnection time in milliseconds, if it changes
};

namespace detail {

constexpr bool has_any(std::string_view text, std::string_view bytes) noexcept {
    return text.find_first_of(bytes) != std::string_view::npos;
}

}  // namespace detail

// Whether `ev` can be serialized as it is, and if not, why. WHATWG HTML §9.2.5:
// a field value is any characters but CR and LF, which end the line; an id with
// NUL is ignored by the receiver (§9.2.6), so sending one would silently lose it.
// "Event streams are always decoded as UTF-8": bytes that are not UTF-8 would
// reach a browser as U+FFFD, so they are refused here rather than altered there.
inline std::error_code check(const event& ev) noexcept {
    using namespace std::string_view_literals;
    if (detail::has_any(ev.type, "\r\n"sv)) return error::invalid_event_type;
    if (ev.id && detail::has_any(*ev.id, "\r\n\0"sv)) return error::invalid_id;
    if (!herald::is_utf8(ev.type) || !herald::is_utf8(ev.data) || (ev.id && !herald::is_utf8(*ev.id)))
        return error::invalid_utf8;
    return {};
}

}  // namespace herald::sse

#endif
