// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_HTTP_DETAIL_LLHTTP_ERRORS_HPP
#define HERALD_HTTP_DETAIL_LLHTTP_ERRORS_HPP

// What llhttp's error numbers mean in herald's terms (http::error), and a check
// llhttp 8.1 lacks. Used by http/parser.hpp.

#include <herald/http/error.hpp>
#include <herald/http/fields.hpp>

#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <system_error>

namespace herald::http::detail {

inline std::error_code translate_llhttp_error(llhttp_errno_t err, const char* where) noexcept {
    switch (err) {
    case HPE_INVALID_METHOD:
        // A token llhttp does not know is a method herald does not implement (501,
        // RFC 9110 §9.1); anything else is not a method at all (400).
        return (where && (*where == ' ' || is_tchar(static_cast<unsigned char>(*where)))) ? http::error::unknown_method
                                                                                          : http::error::bad_method;
    case HPE_INVALID_URL: return http::error::bad_target;
    case HPE_INVALID_VERSION: return http::error::bad_version;
    case HPE_INVALID_HEADER_TOKEN: return http::error::bad_field;
    case HPE_INVALID_CONTENT_LENGTH:
    case HPE_UNEXPECTED_CONTENT_LENGTH: return http::error::bad_content_length;
    case HPE_INVALID_TRANSFER_ENCODING: return http::error::bad_transfer_encoding;
    case HPE_INVALID_CHUNK_SIZE: return http::error::bad_chunk;
    case HPE_INVALID_STATUS: return http::error::bad_status;
    case HPE_INVALID_EOF_STATE: return http::error::partial_message;
    case HPE_CLOSED_CONNECTION: return http::error::data_after_close;
    default: return http::error::malformed;
    }
}

// RFC 9112 §7.1: "chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF". llhttp 8.1
// built non-strict (Debian's, and the one herald compiles) takes any two bytes after
// a chunk's data for that CRLF (llhttp 9.1 and nginx refuse them); a front end that
// reads the framing differently is how requests are smuggled. This remembers where
// a chunk's data ended, as an offset in all the bytes fed to llhttp, and checks the
// two bytes there in whichever run they are fed.
class chunk_crlf_check {
public:
    void expect_at(std::uint64_t offset) noexcept {
        at_ = offset;
        left_ = 2;
    }
    // Checks the unchecked CRLF bytes among `n` bytes fed from stream offset `base`;
    // false at a byte that is not the CR or LF due there.
    bool check(const char* data, std::size_t n, std::uint64_t base) noexcept {
        while (left_ > 0) {
            const std::uint64_t pos = at_ + (2u - left_);
            if (pos < base || pos - base >= n) return true;  // not fed yet
            if (data[pos - base] != (left_ == 2 ? '\r' : '\n')) return false;
            --left_;
        }
        return true;
    }
    void reset() noexcept { left_ = 0; }

private:
    std::uint64_t at_ = 0;
    unsigned left_ = 0;
};

}  // namespace herald::http::detail

#endif
