// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_HTTP_ERROR_HPP
#define HERALD_HTTP_ERROR_HPP

// Errors of the HTTP/1.1 layer. Remote errors (the peer sent something wrong)
// carry the status a server answers with, through `status_for(ec)`; local errors
// (the caller misused the API, or asked to serialize an unsafe field) never reach
// the wire and map to `condition::invalid_state`.

#include <herald/error.hpp>

#include <string>
#include <system_error>

namespace herald::http {

enum class error {
    // Remote: the request or status line.
    bad_method = 1,         // 400: the method is not a token
    unknown_method,         // 501: a well-formed method herald does not implement
    bad_target,             // 400: the request-target has a forbidden byte
    target_too_long,        // 414: request-target longer than limits::max_target
    bad_version,            // 400: the HTTP-version is malformed
    version_not_supported,  // 505: a major version other than 1
    bad_status,             // the status line of a response is malformed
    // Remote: the fields.
    bad_field,              // 400: a field name or value has a forbidden byte
    header_too_large,       // 431: the head is longer than limits::max_header_bytes
    too_many_fields,        // 431: more fields than limits::max_fields
    // Remote: the body and its framing.
    bad_content_length,     // 400: invalid, repeated-and-different, or with chunked
    bad_transfer_encoding,  // 400: a request whose final coding is not chunked
    bad_chunk,              // 400: a malformed chunk size or chunk framing
    body_too_large,         // 413: the body is longer than limits::max_body
    malformed,              // 400: any other syntax error (a missing CR or LF, ...)
    partial_message,        // the stream ended in the middle of a message
    data_after_close,       // bytes after a message that said `Connection: close`
    bad_host,               // 400: an HTTP/1.1 request without Host, two Host fields, or a bad value
    // Local.
    invalid_state,          // the parser or serializer was used out of order
    invalid_field_name,     // a field name to serialize is not a token
    invalid_field_value,    // a field value to serialize has CR, LF or NUL (response splitting)
    invalid_status,         // a status code to serialize is outside 100..999
    invalid_method,         // a method to serialize is not a token
    invalid_target,         // a request-target to serialize is empty or has SP or a control byte
};

// The message of each error, for error_category() (herald/error.hpp enum_category).
inline const char* describe(error e) noexcept {
    switch (e) {
    case error::bad_method: return "malformed request method";
    case error::unknown_method: return "request method not implemented";
    case error::bad_target: return "malformed request target";
    case error::target_too_long: return "request target too long";
    case error::bad_version: return "malformed HTTP version";
    case error::version_not_supported: return "HTTP version not supported";
    case error::bad_status: return "malformed status line";
    case error::bad_field: return "malformed header field";
    case error::header_too_large: return "request header fields too large";
    case error::too_many_fields: return "too many header fields";
    case error::bad_content_length: return "invalid Content-Length";
    case error::bad_transfer_encoding: return "invalid Transfer-Encoding";
    case error::bad_chunk: return "malformed chunked encoding";
    case error::body_too_large: return "message body too large";
    case error::malformed: return "malformed HTTP message";
    case error::partial_message: return "stream ended inside a message";
    case error::data_after_close: return "data after Connection: close";
    case error::bad_host: return "missing, repeated or invalid Host field";
    case error::invalid_state: return "operation not valid in this parser or serializer state";
    case error::invalid_field_name: return "field name is not a token";
    case error::invalid_field_value: return "field value contains CR, LF or NUL";
    case error::invalid_status: return "status code outside 100..999";
    case error::invalid_method: return "method is not a token";
    case error::invalid_target: return "request target is empty or has a space or control byte";
    }
    return nullptr;
}

inline condition condition_of(error e) noexcept {
    switch (e) {
    case error::target_too_long:
    case error::header_too_large:
    case error::too_many_fields:
    case error::body_too_large: return condition::limit_exceeded;
    case error::invalid_state:
    case error::invalid_field_name:
    case error::invalid_field_value:
    case error::invalid_status:
    case error::invalid_method:
    case error::invalid_target: return condition::invalid_state;
    default: return condition::protocol_violation;
    }
}

HERALD_VISIBLE inline const std::error_category& error_category() noexcept {
    static const herald::detail::enum_category<error> instance{"herald.http"};
    return instance;
}

inline std::error_code make_error_code(error e) noexcept {
    return {static_cast<int>(e), error_category()};
}

// The status a server answers a remote error with (RFC 9110 §15, RFC 6585 §5),
// or 0 when there is nothing to answer: the peer is gone, or the error is local.
inline unsigned status_for(const std::error_code& ec) noexcept {
    if (ec.category() != error_category()) return 0;
    switch (static_cast<error>(ec.value())) {
    case error::unknown_method: return 501;
    case error::target_too_long: return 414;
    case error::version_not_supported: return 505;
    case error::header_too_large:
    case error::too_many_fields: return 431;
    case error::body_too_large: return 413;
    case error::partial_message:
    case error::data_after_close:
    case error::bad_status:
    case error::invalid_state:
    case error::invalid_field_name:
    case error::invalid_field_value:
    case error::invalid_status:
    case error::invalid_method:
    case error::invalid_target: return 0;
    default: return 400;
    }
}

}  // namespace herald::http

template <>
struct std::is_error_code_enum<herald::http::error> : std::true_type {};

#endif
