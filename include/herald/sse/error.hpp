// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_SSE_ERROR_HPP
#define HERALD_SSE_ERROR_HPP

// Errors of the Server-Sent Events core. The event-stream grammar of WHATWG HTML
// §9.2.5 accepts every byte sequence ("anything that is not a known field is
// ignored"), so the parser has no syntax errors at all: its only remote errors are
// the limits that keep a peer from making it buffer without end. The serializer's
// refusals are local: a field that would change the framing of the stream (an
// `id:` with LF, an `event:` with CR) or text a browser would not read back as
// written (bytes that are not UTF-8) never reaches the wire.

#include <herald/error.hpp>

#include <string>
#include <system_error>

namespace herald::sse {

enum class error {
    // Remote: the parser's limits.
    line_too_long = 1,   // a line longer than limits::max_line, terminator excluded
    event_too_large,     // an event's data longer than limits::max_event
    // Local: the serializer's refusals.
    invalid_id,          // an id to serialize has LF, CR or NUL
    invalid_event_type,  // an event type to serialize has LF or CR
    invalid_utf8,        // a type, id or data to serialize is not UTF-8
    // Remote: a stream's consumer.
    send_queue_full,  // the client reads too slowly and the send queue is full
    // Remote: what a client refuses in a server's answer (WHATWG HTML §9.2.3: "fail
    // the connection", no reconnect).
    bad_status,        // the answer is not 200 OK
    bad_content_type,  // the answer is not text/event-stream
    bad_redirect,        // a redirect without a Location the client can follow (http:// or a path)
    too_many_redirects,  // more than 20 redirects in a row (the Fetch standard's limit)
};

// The message of each error, for error_category() (herald/error.hpp enum_category).
inline const char* describe(error e) noexcept {
    switch (e) {
    case error::line_too_long: return "event-stream line too long";
    case error::event_too_large: return "event data too large";
    case error::invalid_id: return "event id contains LF, CR or NUL";
    case error::invalid_event_type: return "event type contains LF or CR";
    case error::invalid_utf8: return "event field is not valid UTF-8";
    case error::send_queue_full: return "send queue full: the client reads too slowly";
    case error::bad_status: return "event stream answered with a status other than 200";
    case error::bad_content_type: return "event stream answered with a type other than text/event-stream";
    case error::bad_redirect: return "event stream redirected to a location the client cannot follow";
    case error::too_many_redirects: return "event stream redirected more than 20 times";
    }
    return nullptr;
}

// Every enumerator is listed (no default), so adding one without deciding its
// condition is a -Wswitch warning, which the build turns into an error.
inline condition condition_of(error e) noexcept {
    switch (e) {
    case error::line_too_long:
    case error::event_too_large:
    case error::send_queue_full: return condition::limit_exceeded;
    case error::invalid_id:
    case error::invalid_event_type:
    case error::invalid_utf8: return condition::invalid_state;
    case error::bad_status:
    case error::bad_content_type:
    case error::bad_redirect:
    case error::too_many_redirects: return condition::protocol_violation;
    }
    return condition::protocol_violation;
}

HERALD_VISIBLE inline const std::error_category& error_category() noexcept {
    static const herald::detail::enum_category<error> instance{"herald.sse"};
    return instance;
}

inline std::error_code make_error_code(error e) noexcept {
    return {static_cast<int>(e), error_category()};
}

}  // namespace herald::sse

template <>
struct std::is_error_code_enum<herald::sse::error> : std::true_type {};

#endif
