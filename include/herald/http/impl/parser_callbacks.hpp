// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_HTTP_IMPL_PARSER_CALLBACKS_HPP
#define HERALD_HTTP_IMPL_PARSER_CALLBACKS_HPP

// The llhttp callbacks of http::detail::parser_base (http/parser.hpp): where the
// limits are checked as llhttp reports each piece, and where a message's head,
// body pieces and end become the events next() hands out.

#include <herald/http/parser.hpp>

#include <cstring>

namespace herald::http::detail {

inline void parser_base::clear_message() noexcept {
    fields_.clear();
    start_text_.clear();
    trailer_bytes_ = 0;
    body_bytes_ = 0;
    in_body_ = in_trailers_ = name_open_ = false;
    content_length_.reset();
    upgrade_ = keep_alive_ = false;
}

inline int parser_base::on_message_begin() noexcept {
    clear_message();
    // The head starts in this run: its bytes are kept from the run's first, so
    // offsets count from there.
    run_base_ = 0;
    recording_ = true;
    return 0;
}

inline std::uint32_t parser_base::offset_of(const char* at) const noexcept {
    return run_base_ + static_cast<std::uint32_t>(at - run_data_);
}

inline int parser_base::on_start_text(const char* at, std::size_t n, bool is_target) {
    if (is_target && start_text_.size() + n > limits_.max_target) return stop(http::error::target_too_long);
    // A reason phrase is bounded by the head limit, which llhttp is never fed past.
    start_text_.append(at, n);
    return 0;
}

inline int parser_base::on_version_complete() noexcept {
    // llhttp accepts the versions it knows (0.9 to 2.0); herald speaks 1.x only.
    if (llhttp_get_http_major(&llhttp_) != 1) return stop(http::error::version_not_supported);
    return 0;
}

// Trailer fields (RFC 9112 §7.1.2) are counted against the limits and dropped:
// RFC 9110 §6.5.1 lets a recipient discard them, and no herald user needs them.
inline int parser_base::on_field_name(const char* at, std::size_t n) {
    if (in_trailers_) return count_trailer(n);
    if (!name_open_) {
        if (fields_.size() >= limits_.max_fields) return stop(http::error::too_many_fields);
        fields_.begin_field_at(offset_of(at));
        name_open_ = true;
    }
    // RFC 9112 §5.1: a field name is a token. llhttp's non-strict build checks
    // names against its token table plus SP (llhttp's TOKEN list), and "Bad Name"
    // read differently by a proxy is how requests get smuggled: herald refuses the
    // SP. memchr, not a per-byte table walk: this runs for every field.
    if (std::memchr(at, ' ', n) != nullptr) return stop(http::error::bad_field);
    fields_.extend_name(static_cast<std::uint32_t>(n));
    return 0;
}

// RFC 9110 §5.1: a field name is a token, so never empty (`: x` is refused;
// llhttp reports it as a name of no bytes, or no name at all).
inline int parser_base::on_field_name_complete() noexcept {
    if (in_trailers_) return 0;
    // By size: the name's bytes reach fields_ only when this run ends.
    const bool named = name_open_ && fields_.last_name_size() != 0;
    name_open_ = false;
    return named ? 0 : stop(http::error::bad_field);
}

inline int parser_base::on_field_value(const char* at, std::size_t n) {
    if (in_trailers_) return count_trailer(n);
    fields_.extend_value(offset_of(at), static_cast<std::uint32_t>(n));
    return 0;
}

inline int parser_base::count_trailer(std::size_t n) noexcept {
    trailer_bytes_ += n;
    return trailer_bytes_ > limits_.max_header_bytes ? stop(http::error::header_too_large) : 0;
}

inline int parser_base::on_headers_complete() noexcept {
    // A request line without a version (HTTP/0.9's "GET /") never reaches
    // on_version_complete; RFC 9112 §3 requires one.
    if (llhttp_get_http_major(&llhttp_) != 1) return stop(http::error::version_not_supported);
    // RFC 9112 §4: a status code is three digits; llhttp takes "20" or "0".
    if (llhttp_.type == HTTP_RESPONSE && llhttp_.status_code < 100) return stop(http::error::bad_status);
    version_ = llhttp_get_http_major(&llhttp_) * 10u + llhttp_get_http_minor(&llhttp_);
    keep_alive_ = llhttp_should_keep_alive(&llhttp_) != 0;
    upgrade_ = llhttp_get_upgrade(&llhttp_) != 0;
    if (llhttp_.flags & F_CONTENT_LENGTH) {
        content_length_ = llhttp_.content_length;
        if (*content_length_ > limits_.max_body) return stop(http::error::body_too_large);
    }
    in_body_ = true;
    in_trailers_ = true;  // any field llhttp reports from here on is a trailer
    pending_head_ = true;
    // A response to HEAD, 1xx, 204 and 304 have no body whatever their fields say
    // (RFC 9112 §6.3 item 1); llhttp leaves that decision to its caller.
    if (skip_body_ || (llhttp_.type == HTTP_RESPONSE && status_has_no_body(static_cast<unsigned>(llhttp_.status_code))))
        return 1;  // the message completes in this same run
    // A request without Content-Length or chunked has no body (RFC 9112 §6.3 item
    // 7): llhttp goes straight on to on_message_complete, which pauses, and every
    // byte consumed belongs to the head. Otherwise pause here, so the head's
    // bytes are counted exactly before the body's begin.
    const bool bodyless_request = llhttp_.type == HTTP_REQUEST && !(llhttp_.flags & F_CHUNKED) &&
                                  !((llhttp_.flags & F_CONTENT_LENGTH) && llhttp_.content_length > 0);
    return bodyless_request ? 0 : HPE_PAUSED;
}

// A chunk too large for the body limit is refused when its size line is read,
// not after max_body bytes of it have come (llhttp stores the size in
// content_length here).
inline int parser_base::on_chunk_header() noexcept {
    if (llhttp_.content_length > limits_.max_body - body_bytes_) return stop(http::error::body_too_large);
    return 0;
}

inline int parser_base::on_body(const char* at, std::size_t n) noexcept {
    // llhttp flushes an open body span at the end of every run, even an empty
    // one; pausing on nothing would spin.
    if (n == 0) return 0;
    body_bytes_ += n;
    if (body_bytes_ > limits_.max_body) return stop(http::error::body_too_large);
    if ((llhttp_.flags & F_CHUNKED) && llhttp_.content_length == 0) {
        // This piece ends a chunk's data: its CRLF comes next (detail::chunk_crlf_check).
        chunk_crlf_.expect_at(fed_ + static_cast<std::uint64_t>(at + n - run_data_));
        if (!chunk_crlf_.check(run_data_, run_size_, fed_)) return stop(http::error::bad_chunk);
    }
    body_queue_[body_count_++] = {at, n};
    return body_count_ == body_queue_.size() ? HPE_PAUSED : 0;
}

inline int parser_base::on_message_complete() noexcept {
    in_body_ = false;
    pending_end_ = true;
    pending_upgrade_ = llhttp_get_upgrade(&llhttp_) != 0;
    return HPE_PAUSED;
}

}  // namespace herald::http::detail

#endif
