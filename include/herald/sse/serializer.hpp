// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_SSE_SERIALIZER_HPP
#define HERALD_SSE_SERIALIZER_HPP

// Writes events, comments and reconnection times in the text/event-stream format
// (WHATWG HTML §9.2.5), appending to a caller-owned std::string.
//
// Data is written one `data:` line per line. The receiver appends each line's value
// and an LF to its data buffer and removes the final LF when it dispatches
// (§9.2.6), so "a\nb" goes out as `data: a` + `data: b` and comes back as "a\nb".
// CR and CRLF end a line on the wire just as LF does, so they are split on too: a
// browser gets an LF in their place. The format cannot carry a CR in data at all;
// splitting there keeps the event whole instead of corrupting the stream after it.
//
// An empty data is still one `data:` line: a data buffer of "\n" is not empty, so
// the event is dispatched with data "" (§9.2.6 "dispatch the event", step 2 only
// drops events whose data buffer is empty, that is, events with no `data` line).
//
// Each field is written `name: value`. The space matters: the parser removes one
// leading space from a value (§9.2.6), so without it a value that starts with a
// space would lose it. Lines end in LF, the shortest of the three line ends.

#include <herald/sse/error.hpp>
#include <herald/sse/event.hpp>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

namespace herald::sse {

namespace detail {

// `name: value` + LF, or `name:` + LF for an empty value (no trailing space).
inline void append_field(std::string_view name, std::string_view value, std::string& out) {
    out.append(name);
    out.push_back(':');
    if (!value.empty()) {
        out.push_back(' ');
        out.append(value);
    }
    out.push_back('\n');
}

inline std::size_t field_size(std::string_view name, std::string_view value) noexcept {
    return name.size() + 2 + (value.empty() ? 0 : 1 + value.size());
}

// Calls `each(line)` for every line of `text`, where CR, LF and CRLF each end a line
// (§9.2.5 end-of-line). Text ending in a line end has an empty last line, which
// keeps a trailing LF of the data: "a\n" is `data: a` + `data:`, read back as "a\n".
template <class Each>
void for_each_line(std::string_view text, Each&& each) {
    std::size_t start = 0;
    while (true) {
        const std::size_t end = text.find_first_of("\r\n", start);
        if (end == std::string_view::npos) {
            each(text.substr(start));
            return;
        }
        each(text.substr(start, end - start));
        start = end + 1;
        if (text[end] == '\r' && start < text.size() && text[start] == '\n') ++start;
    }
}

inline void append_retry(std::uint32_t milliseconds, std::string& out) {
    char digits[10];
    const auto result = std::to_chars(digits, digits + sizeof digits, milliseconds);
    out.append("retry: ");
    out.append(digits, static_cast<std::size_t>(result.ptr - digits));
    out.push_back('\n');
}

inline std::size_t retry_size(std::uint32_t milliseconds) noexcept {
    std::size_t digits = 1;
    for (; milliseconds >= 10; milliseconds /= 10) ++digits;
    return 8 + digits;  // "retry: " + digits + LF
}

}  // namespace detail

// The exact number of bytes serialize(ev, out) appends when `ev` is valid, so a
// buffer that outlives the call (a shared event, a replay log) is sized once.
inline std::size_t serialized_size(const event& ev) noexcept {
    std::size_t size = 1;  // the blank line that dispatches
    if (!ev.type.empty()) size += detail::field_size("event", ev.type);
    if (ev.id) size += detail::field_size("id", *ev.id);
    if (ev.retry) size += detail::retry_size(*ev.retry);
    detail::for_each_line(ev.data, [&](std::string_view line) { size += detail::field_size("data", line); });
    return size;
}

// Appends `ev` as one event: `event:`, `id:` and `retry:` when present, one `data:`
// line per line of data, then the blank line that dispatches it. When an error is
// returned (see check() in event.hpp) nothing is appended.
inline std::error_code serialize(const event& ev, std::string& out) {
    if (auto ec = check(ev)) return ec;
    if (!ev.type.empty()) detail::append_field("event", ev.type, out);
    if (ev.id) detail::append_field("id", *ev.id, out);
    if (ev.retry) detail::append_retry(*ev.retry, out);
    detail::for_each_line(ev.data, [&](std::string_view line) { detail::append_field("data", line, out); });
    out.push_back('\n');
    return {};
}

// Appends a comment: one `:` line per line of `text` (CR, LF and CRLF each end
// one). Receivers ignore comments (§9.2.6); servers send them to keep proxies
// from timing an idle stream out, "a comment line ... every 15 seconds or so"
// (§9.2.7). No blank line follows: a comment never completes or starts an event.
// Nothing in a comment reaches the receiver, so nothing in it is refused.
inline void serialize_comment(std::string_view text, std::string& out) {
    detail::for_each_line(text, [&](std::string_view line) { detail::append_field("", line, out); });
}

// Appends a `retry:` line alone, setting the receiver's reconnection time without
// firing an event (§9.2.6 applies `retry` when the line is read, not at dispatch).
inline void serialize_retry(std::uint32_t milliseconds, std::string& out) {
    detail::append_retry(milliseconds, out);
}

// An event serialized once, for many streams: every receiver holds the same
// immutable bytes, and the Asio layer writes them from there without a copy
// (DESIGN.md "fan-out serializes an event once and shares the bytes among all
// receivers"). The bytes live as long as the last stream that still queues them.
using shared_event = std::shared_ptr<const std::string>;

// Serializes `ev` into a new shared buffer of exactly the right size. On error
// `ec` says why (see check()) and the result is null.
inline shared_event make_shared_event(const event& ev, std::error_code& ec) {
    auto bytes = std::make_shared<std::string>();
    bytes->reserve(serialized_size(ev));
    ec = serialize(ev, *bytes);
    if (ec) return nullptr;
    return bytes;
}

}  // namespace herald::sse

#endif
