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

// UTF-8 as RFC 3629 §4 defines it: no overlong forms, no surrogates (U+D800..DFFF),
// nothing above U+10FFFF. Eight ASCII bytes are checked at a time through memcpy
// (DESIGN.md "Speed without sharp edges"), since event data is mostly ASCII JSON.
inline bool is_utf8(std::string_view text) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const unsigned char* const end = p + text.size();
    while (p != end) {
        while (end - p >= 8) {
            std::uint64_t word;
            std::memcpy(&word, p, 8);
            if (word & 0x8080808080808080u) break;
            p += 8;
        }
        if (p == end) return true;
        const unsigned char lead = *p;
        if (lead < 0x80) {
            ++p;
            continue;
        }
        std::size_t length;
        unsigned char low = 0x80;   // the range of the second byte, which is where
        unsigned char high = 0xbf;  // overlongs, surrogates and > U+10FFFF are refused
        if (lead >= 0xc2 && lead <= 0xdf) {
            length = 2;
        } else if (lead >= 0xe0 && lead <= 0xef) {
            length = 3;
            if (lead == 0xe0) low = 0xa0;
            if (lead == 0xed) high = 0x9f;
        } else if (lead >= 0xf0 && lead <= 0xf4) {
            length = 4;
            if (lead == 0xf0) low = 0x90;
            if (lead == 0xf4) high = 0x8f;
        } else {
            return false;  // a continuation byte, C0, C1 or F5..FF where a lead belongs
        }
        if (static_cast<std::size_t>(end - p) < length) return false;
        if (p[1] < low || p[1] > high) return false;
        for (std::size_t i = 2; i < length; ++i)
            if (p[i] < 0x80 || p[i] > 0xbf) return false;
        p += length;
    }
    return true;
}

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
    if (!detail::is_utf8(ev.type) || !detail::is_utf8(ev.data) || (ev.id && !detail::is_utf8(*ev.id)))
        return error::invalid_utf8;
    return {};
}

}  // namespace herald::sse

#endif
