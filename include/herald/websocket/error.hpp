// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_WEBSOCKET_ERROR_HPP
#define HERALD_WEBSOCKET_ERROR_HPP

// Errors of the WebSocket core (RFC 6455). A remote error carries the close code
// to answer with: close_code_for(ec) gives 1002 (protocol error), 1007 (invalid
// payload data) or 1009 (message too big); a refused handshake carries its HTTP
// status through handshake_status_for(ec).

#include <herald/error.hpp>
#include <herald/memory_budget.hpp>

#include <cstdint>
#include <string>
#include <system_error>

namespace herald::websocket {

enum class error {
    // Remote, framing (RFC 6455 §5.2): answered with close code 1002.
    reserved_opcode = 1,     // opcodes 3-7 and 11-15 are reserved
    reserved_bits,           // RSV1-3 set with no extension negotiated
    bad_masking,             // a client frame not masked, or a server frame masked (§5.1)
    fragmented_control,      // a control frame with FIN clear (§5.5)
    control_too_long,        // a control frame payload over 125 bytes (§5.5)
    bad_length,              // a 64-bit length with its most significant bit set (§5.2)
    unexpected_continuation, // a continuation frame with no message started (§5.4)
    expected_continuation,   // a new data frame while a fragmented message is open (§5.4)
    bad_close_payload,       // a close payload of 1 byte, or a code that may not be sent (§7.4)
    compressed_control,      // RSV1 on a control frame (RFC 7692 §6.1)
    compressed_continuation, // RSV1 on a continuation frame: only a message's first frame has it (RFC 7692 §6.1)
    // Remote, payload: 1007.
    invalid_utf8,            // a text message or close reason that is not UTF-8 (§8.1)
    bad_compressed_data,     // a compressed message that does not inflate (RFC 7692 §7.2.2)
    // Remote, limits: 1009.
    frame_too_big,           // a frame payload over limits::max_frame
    message_too_big,         // a message over limits::max_message
    // Remote, handshake (§4.2.1 server side, §4.1 client side).
    not_get,                 // the upgrade request's method is not GET (405)
    bad_http_version,        // the upgrade request is older than HTTP/1.1 (400)
    no_host,                 // the upgrade request has no Host, or two (400)
    no_upgrade,              // no `Upgrade: websocket` or no `Connection: Upgrade` (426)
    bad_key,                 // Sec-WebSocket-Key is not 16 bytes in base64 (400)
    bad_version,             // Sec-WebSocket-Version is not 13 (426 + Sec-WebSocket-Version: 13)
    origin_refused,          // the Origin check said no (403)
    bad_accept,              // the server's 101 lacks the right Sec-WebSocket-Accept
    not_switching,           // the server answered with other than 101
    bad_subprotocol,         // the server chose a subprotocol the client did not offer
    bad_extension,           // the server answered with an extension, or parameters, not offered (§9.1, RFC 7692 §5)
    // Local.
    closed,                  // the connection is closed (or closing) for this operation
    send_queue_full,         // a write would pass stream_options::max_queued_bytes (backpressure)
    invalid_close_code,      // a close code that may not be sent (1005, 1006, 1015, < 1000, ...)
    invalid_state,           // an operation out of order (a message after close, ...)
    bad_uri,                 // not a ws:// or wss:// URI (RFC 6455 §3)
    needs_tls,               // a wss:// URI given to a stream without TLS
};

// The close codes of RFC 6455 §7.4.1 that herald names.
enum class close_code : std::uint16_t {
    normal = 1000,
    going_away = 1001,
    protocol_error = 1002,
    unsupported_data = 1003,
    no_status = 1005,    // never sent: "no code in the close frame"
    abnormal = 1006,     // never sent: "closed without a close frame"
    invalid_payload = 1007,
    policy_violation = 1008,
    message_too_big = 1009,
    mandatory_extension = 1010,
    internal_error = 1011,
    service_restart = 1012,  // IANA registry: the server is restarting
    try_again_later = 1013,  // IANA registry: the server is overloaded or cannot serve now
    bad_gateway = 1014,      // IANA registry: a gateway's upstream answered badly
};

// Whether `code` may appear in a close frame (§7.4.1, §7.4.2 and the IANA
// registry): 1000-1003, 1007-1014, and 3000-4999 for libraries and applications.
// 1012-1014 were registered after RFC 6455; browsers, ws and Python websockets
// take them, and the Autobahn suite's invalid list no longer has them.
constexpr bool is_sendable_close_code(std::uint16_t code) noexcept {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

// The message of each error, for error_category() (herald/error.hpp enum_category).
inline const char* describe(error e) noexcept {
    switch (e) {
    case error::reserved_opcode: return "reserved opcode";
    case error::reserved_bits: return "reserved bits set without an extension";
    case error::bad_masking: return "frame masking does not match the sender's role";
    case error::fragmented_control: return "fragmented control frame";
    case error::control_too_long: return "control frame payload over 125 bytes";
    case error::bad_length: return "64-bit payload length with the high bit set";
    case error::unexpected_continuation: return "continuation frame with no message started";
    case error::expected_continuation: return "new data frame inside a fragmented message";
    case error::bad_close_payload: return "invalid close frame payload";
    case error::compressed_control: return "control frame with RSV1 (compressed) set";
    case error::compressed_continuation: return "continuation frame with RSV1 (compressed) set";
    case error::invalid_utf8: return "text is not valid UTF-8";
    case error::bad_compressed_data: return "compressed message does not inflate";
    case error::frame_too_big: return "frame payload too big";
    case error::message_too_big: return "message too big";
    case error::not_get: return "upgrade request method is not GET";
    case error::bad_http_version: return "upgrade request is older than HTTP/1.1";
    case error::no_host: return "upgrade request has no Host field, or more than one";
    case error::no_upgrade: return "request does not ask for a websocket upgrade";
    case error::bad_key: return "Sec-WebSocket-Key is not 16 bytes in base64";
    case error::bad_version: return "Sec-WebSocket-Version is not 13";
    case error::origin_refused: return "origin refused";
    case error::bad_accept: return "Sec-WebSocket-Accept does not match the key";
    case error::not_switching: return "server did not answer 101 Switching Protocols";
    case error::bad_subprotocol: return "server chose a subprotocol that was not offered";
    case error::bad_extension: return "server answered with an extension or parameters that were not offered";
    case error::closed: return "websocket connection is closed";
    case error::send_queue_full: return "websocket send queue full";
    case error::invalid_close_code: return "close code may not be sent";
    case error::invalid_state: return "websocket operation out of order";
    case error::bad_uri: return "not a ws:// or wss:// URI";
    case error::needs_tls: return "wss:// needs a TLS stream";
    }
    return nullptr;
}

inline condition condition_of(error e) noexcept {
    switch (e) {
    case error::reserved_opcode:
    case error::reserved_bits:
    case error::bad_masking:
    case error::fragmented_control:
    case error::control_too_long:
    case error::bad_length:
    case error::unexpected_continuation:
    case error::expected_continuation:
    case error::bad_close_payload:
    case error::compressed_control:
    case error::compressed_continuation:
    case error::invalid_utf8:
    case error::bad_compressed_data: return condition::protocol_violation;
    case error::frame_too_big:
    case error::message_too_big: return condition::limit_exceeded;
    case error::not_get:
    case error::bad_http_version:
    case error::no_host:
    case error::no_upgrade:
    case error::bad_key:
    case error::bad_version:
    case error::origin_refused:
    case error::bad_accept:
    case error::not_switching:
    case error::bad_subprotocol:
    case error::bad_extension: return condition::handshake_failed;
    case error::closed:
    case error::send_queue_full:
    case error::invalid_close_code:
    case error::invalid_state:
    case error::bad_uri:
    case error::needs_tls: return condition::invalid_state;
    }
    return condition::protocol_violation;
}

HERALD_VISIBLE inline const std::error_category& error_category() noexcept {
    static const herald::detail::enum_category<error> instance{"herald.websocket"};
    return instance;
}

inline std::error_code make_error_code(error e) noexcept {
    return {static_cast<int>(e), error_category()};
}

// The close code that answers a remote error (RFC 6455 §7.4.1); 0 for errors that
// are not answered with a close frame (handshake and local errors).
inline std::uint16_t close_code_for(std::error_code ec) noexcept {
    if (ec == budget_error::exhausted) return 1009;  // a message the process cannot take in now
    if (ec.category() != error_category()) return 0;
    switch (static_cast<error>(ec.value())) {
    case error::invalid_utf8:
    case error::bad_compressed_data: return 1007;
    case error::frame_too_big:
    case error::message_too_big: return 1009;
    default: return ec == condition::protocol_violation ? 1002 : 0;
    }
}

// The HTTP status that answers a refused upgrade request (RFC 6455 §4.2.1-4.2.2);
// 0 for anything else.
inline unsigned handshake_status_for(std::error_code ec) noexcept {
    if (ec.category() != error_category()) return 0;
    switch (static_cast<error>(ec.value())) {
    case error::not_get: return 405;
    case error::bad_http_version:
    case error::no_host:
    case error::bad_key: return 400;
    case error::no_upgrade:
    case error::bad_version: return 426;
    case error::origin_refused: return 403;
    default: return 0;
    }
}

}  // namespace herald::websocket

template <>
struct std::is_error_code_enum<herald::websocket::error> : std::true_type {};

#endif
