// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_HTTP_SERIALIZER_HPP
#define HERALD_HTTP_SERIALIZER_HPP

// Writes HTTP/1.1 message heads, chunk framing and the Date field.
//
// A head is appended to a caller-owned std::string (reused across messages, so the
// steady state allocates nothing); the body is not copied behind it: the Asio layer
// sends (head, body) as one gathered write. Every name, value, method, target and
// reason is checked before a byte is written, so a value that would split the
// response (CR or LF, RFC 9112 §2.2) is an error, never bytes on the wire.

#include <herald/http/error.hpp>
#include <herald/http/fields.hpp>
#include <herald/http/message.hpp>
#include <herald/http/status.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace herald::http {

namespace detail {

// field-value of RFC 9110 §5.5: visible bytes, SP, HTAB and obs-text; never CR, LF or NUL.
constexpr bool is_field_value(std::string_view v) noexcept {
    for (char c : v) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
    }
    return true;
}

// request-target: visible ASCII without SP (RFC 9112 §3.2); no percent-decoding here.
constexpr bool is_target(std::string_view t) noexcept {
    if (t.empty()) return false;
    for (char c : t) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f) return false;
    }
    return true;
}

// What one pass over a message's fields finds: the first invalid name or value,
// and which of the fields the serializer would add are there already. One pass
// rather than a check and a find for each: every response head takes it.
struct field_survey {
    std::error_code error;
    bool date = false;
    bool content_length = false;
    bool transfer_encoding = false;
    bool connection_close = false;
};

inline field_survey survey_fields(const fields& f) noexcept {
    field_survey s;
    for (const auto field : f) {
        if (!is_token(field.name)) return {error::invalid_field_name};
        if (!is_field_value(field.value)) return {error::invalid_field_value};
        s.date = s.date || iequals(field.name, "Date");
        s.content_length = s.content_length || iequals(field.name, "Content-Length");
        s.transfer_encoding = s.transfer_encoding || iequals(field.name, "Transfer-Encoding");
        s.connection_close =
            s.connection_close || (iequals(field.name, "Connection") && token_list{field.value}.contains("close"));
    }
    return s;
}

// The decimal digits of `n`, as a view.
class decimal {
public:
    explicit decimal(std::uint64_t n) noexcept {
        do {
            digits_[--first_] = static_cast<char>('0' + n % 10);
            n /= 10;
        } while (n != 0);
    }
    std::string_view view() const noexcept { return {digits_ + first_, sizeof digits_ - first_}; }

private:
    char digits_[20];
    std::size_t first_ = sizeof digits_;
};

// Appends what `write(put)` puts, in one resize and a copy per piece: writes it
// once to count and once to copy, so the two cannot disagree. A head is a dozen
// short pieces, and std::string::append costs some forty instructions a call.
template <class Write>
void append_pieces(std::string& out, Write write) {
    std::size_t size = 0;
    write([&size](std::string_view piece) noexcept { size += piece.size(); });
    const std::size_t start = out.size();
    out.resize(start + size);
    char* at = out.data() + start;
    write([&at](std::string_view piece) noexcept {
        if (piece.empty()) return;  // data() may be null
        std::memcpy(at, piece.data(), piece.size());
        at += piece.size();
    });
}

template <class Put>
void put_fields(const fields& f, Put& put) {
    using namespace std::string_view_literals;
    for (const auto field : f) {
        put(field.name);
        put(": "sv);
        put(field.value);
        put("\r\n"sv);
    }
}

}  // namespace detail

struct head_options {
    std::string_view date;   // an IMF-fixdate from date_cache; empty: no Date field
    bool keep_alive = true;  // false adds `Connection: close` (RFC 9112 §9.6)
    bool chunked = false;    // the body follows as chunks: `Transfer-Encoding: chunked`
    // The body length to announce when the message is not chunked and has no
    // Content-Length field of its own. nullopt: the size of the message's body.
    std::optional<std::uint64_t> content_length;
    // The body ends when the connection closes (RFC 9112 §6.3 rule 8, responses
    // only): no length field at all. For streams of unknown length, such as SSE.
    bool until_close = false;
};

// Appends the status line and fields of `res`, adding Date, Connection: close,
// Content-Length or Transfer-Encoding as `options` and the status require. Nothing
// is appended when an error is returned.
inline std::error_code serialize_head(const response& res, std::string& out, const head_options& options = {}) {
    using namespace std::string_view_literals;  // pieces are views: no strlen each
    if (res.status < 100 || res.status > 999) return error::invalid_status;
    if (!detail::is_field_value(res.reason)) return error::invalid_field_value;
    const detail::field_survey has = detail::survey_fields(res.fields);
    if (has.error) return has.error;
    const detail::decimal status{res.status};
    const std::string_view reason = res.reason.empty() ? reason_phrase(res.status) : std::string_view{res.reason};
    const bool date = !options.date.empty() && !has.date;
    const bool close = !options.keep_alive && !has.connection_close;
    // RFC 9110 §8.6: no Content-Length in 1xx and 204; a 304 may keep the one of the
    // representation, which only the user knows, so herald adds none there either.
    const bool framed = !status_has_no_body(res.status) && !options.until_close && !has.content_length && !has.transfer_encoding;
    const detail::decimal length{options.content_length.value_or(res.body.size())};
    detail::append_pieces(out, [&](auto put) {
        put(res.version == 10 ? "HTTP/1.0 "sv : "HTTP/1.1 "sv);
        put(status.view());
        put(" "sv);
        put(reason);
        put("\r\n"sv);
        if (date) {
            put("Date: "sv);
            put(options.date);
            put("\r\n"sv);
        }
        detail::put_fields(res.fields, put);
        if (close) put("Connection: close\r\n"sv);
        if (framed && options.chunked) put("Transfer-Encoding: chunked\r\n"sv);
        if (framed && !options.chunked) {
            put("Content-Length: "sv);
            put(length.view());
            put("\r\n"sv);
        }
        put("\r\n"sv);
    });
    return {};
}

// Appends the request line and fields of `req`; a body gets Content-Length (or
// chunked framing when `options.chunked`). Date is not sent by clients.
inline std::error_code serialize_head(const request& req, std::string& out, const head_options& options = {}) {
    using namespace std::string_view_literals;
    if (!detail::is_token(req.method)) return error::invalid_method;
    if (!detail::is_target(req.target)) return error::invalid_target;
    const detail::field_survey has = detail::survey_fields(req.fields);
    if (has.error) return has.error;
    const std::uint64_t body_length = options.content_length.value_or(req.body.size());
    const bool framed = !has.content_length && !has.transfer_encoding;
    // RFC 9110 §8.6: a user agent SHOULD send Content-Length for POST and PUT even
    // when the body is empty.
    const bool announce_length = body_length > 0 || req.method == "POST" || req.method == "PUT";
    const detail::decimal length{body_length};
    detail::append_pieces(out, [&](auto put) {
        put(req.method);
        put(" "sv);
        put(req.target);
        put(req.version == 10 ? " HTTP/1.0\r\n"sv : " HTTP/1.1\r\n"sv);
        detail::put_fields(req.fields, put);
        if (!options.keep_alive && !has.connection_close) put("Connection: close\r\n"sv);
        if (framed && options.chunked) put("Transfer-Encoding: chunked\r\n"sv);
        if (framed && !options.chunked && announce_length) {
            put("Content-Length: "sv);
            put(length.view());
            put("\r\n"sv);
        }
        put("\r\n"sv);
    });
    return {};
}

// The framing of one chunk (RFC 9112 §7.1): chunk_prefix(n), then n bytes, then
// chunk_suffix. An empty chunk would end the body, so never frame a zero-size one
// through chunk_prefix: send last_chunk instead.
class chunk_prefix {
public:
    explicit chunk_prefix(std::size_t size) noexcept {
        static constexpr char hex[] = "0123456789abcdef";
        char digits[16];
        int n = 0;
        do {
            digits[n++] = hex[size & 0xf];
            size >>= 4;
        } while (size != 0);
        while (n > 0) data_[size_++] = digits[--n];
        data_[size_++] = '\r';
        data_[size_++] = '\n';
    }
    std::string_view view() const noexcept { return {data_, size_}; }

private:
    char data_[18];
    std::size_t size_ = 0;
};

inline constexpr std::string_view chunk_suffix = "\r\n";
inline constexpr std::string_view last_chunk = "0\r\n\r\n";

// Appends one whole chunk, copying `data`: for small chunks where a gathered write
// is not worth it. An empty `data` appends nothing.
inline void serialize_chunk(std::string_view data, std::string& out) {
    if (data.empty()) return;
    out.append(chunk_prefix{data.size()}.view());
    out.append(data);
    out.append(chunk_suffix);
}

// The IMF-fixdate of RFC 9110 §5.6.7: "Sun, 06 Nov 1994 08:49:37 GMT".
inline std::string format_http_date(std::chrono::system_clock::time_point now) {
    using namespace std::chrono;
    static constexpr const char* weekdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const auto day = floor<days>(now);
    const year_month_day ymd{day};
    const hh_mm_ss<seconds> time{floor<seconds>(now - day)};
    char text[32];
    std::snprintf(text, sizeof text, "%s, %02u %s %04d %02d:%02d:%02d GMT",
                  weekdays[weekday{day}.c_encoding()], static_cast<unsigned>(ymd.day()),
                  months[static_cast<unsigned>(ymd.month()) - 1], static_cast<int>(ymd.year()),
                  static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                  static_cast<int>(time.seconds().count()));
    return text;
}

// The Date field value, formatted at most once per second however many responses
// ask (time is an input: the caller passes `now`).
class date_cache {
public:
    std::string_view get(std::chrono::system_clock::time_point now) {
        const auto second = std::chrono::floor<std::chrono::seconds>(now);
        if (second != second_ || text_.empty()) {
            second_ = second;
            text_ = format_http_date(second);
            ++formats_;
        }
        return text_;
    }
    // How many times the date was formatted: for tests of the once-a-second rule.
    std::size_t formats() const noexcept { return formats_; }

private:
    std::chrono::sys_seconds second_{};
    std::string text_;
    std::size_t formats_ = 0;
};

}  // namespace herald::http

#endif
