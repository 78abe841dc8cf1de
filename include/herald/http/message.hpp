// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_HTTP_MESSAGE_HPP
#define HERALD_HTTP_MESSAGE_HPP

// Owning request and response messages: what a server handler receives and
// returns, and what a client sends and reads. A connection keeps one of each and
// reuses it, so assigning into their strings reuses capacity and the steady state
// allocates nothing.

#include <herald/http/error.hpp>
#include <herald/http/fields.hpp>
#include <herald/http/status.hpp>

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace herald::http {

// A query parameter of a target (`/messages?since=4&x=y`), undecoded, or nullopt.
// Enough for the examples' `?since=N`; it does not percent-decode.
inline std::optional<std::string_view> query_parameter(std::string_view target, std::string_view name) noexcept {
    const auto question = target.find('?');
    if (question == std::string_view::npos) return std::nullopt;
    std::string_view query = target.substr(question + 1);
    query = query.substr(0, query.find('#'));
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        const auto eq = pair.find('=');
        if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

namespace detail {
inline int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
}  // namespace detail

// application/x-www-form-urlencoded value decoding (WHATWG URL §5.1): `+` is a
// space, `%XX` a byte; a `%` not followed by two hex digits stays as it is.
inline std::string form_decode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '+') {
            out.push_back(' ');
        } else if (in[i] == '%' && i + 2 < in.size() && detail::hex_value(in[i + 1]) >= 0 && detail::hex_value(in[i + 2]) >= 0) {
            out.push_back(static_cast<char>(detail::hex_value(in[i + 1]) * 16 + detail::hex_value(in[i + 2])));
            i += 2;
        } else {
            out.push_back(in[i]);
        }
    }
    return out;
}

// A query parameter, decoded (a topic "a:b" arrives as a%3Ab), or nullopt.
inline std::optional<std::string> query_value(std::string_view target, std::string_view name) {
    if (const auto raw = query_parameter(target, name)) return form_decode(*raw);
    return std::nullopt;
}

// The path of a target, without its query.
constexpr std::string_view target_path(std::string_view target) noexcept {
    return target.substr(0, target.find_first_of("?#"));
}

// RFC 9112 §9.3: HTTP/1.1 persists unless `Connection: close`; HTTP/1.0 only with
// `Connection: keep-alive`. `version` is 10 or 11.
inline bool keeps_alive(unsigned version, const fields& f) noexcept {
    if (f.has_token("Connection", "close")) return false;
    return version >= 11 || f.has_token("Connection", "keep-alive");
}

// RFC 9110 §10.1.1: the only expectation defined is 100-continue, and an HTTP/1.0
// client cannot be waiting for it.
inline bool expects_100_continue(unsigned version, const fields& f) noexcept {
    return version >= 11 && iequals(f.value_or("Expect", ""), "100-continue");
}

namespace detail {
// The bytes of uri-host [ ":" port ] (RFC 3986 §3.2.2): a reg-name's unreserved,
// pct-encoded and sub-delims characters, ':' and digits of a port, and the brackets
// of an IP literal. A table: the Host value of every request is checked.
inline constexpr std::array<bool, 256> host_char_table = [] {
    std::array<bool, 256> table{};
    for (const unsigned char c : std::string_view{"-._~!$&'()*+,;=%:[]"}) table[c] = true;
    for (int c = '0'; c <= '9'; ++c) table[static_cast<std::size_t>(c)] = true;
    for (int c = 'a'; c <= 'z'; ++c) table[static_cast<std::size_t>(c)] = table[static_cast<std::size_t>(c - 'a' + 'A')] = true;
    return table;
}();
}  // namespace detail

// RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any
// HTTP/1.1 request message that lacks a Host header field and to any request
// message that contains more than one Host header field line or a Host header field
// with an invalid field value." A valid value is uri-host [ ":" port ] (RFC 3986
// §3.2.2: a reg-name of unreserved, pct-encoded and sub-delims characters, or a
// bracketed IP literal), or empty (RFC 9110 §7.2, a target without an authority).
// -> {} or http::error::bad_host.
inline std::error_code check_host(unsigned version, const http::fields& fields) noexcept {
    std::optional<std::string_view> host;
    for (const auto field : fields) {
        if (!iequals(field.name, "Host")) continue;
        if (host) return http::error::bad_host;  // a second one
        host = field.value;
    }
    if (!host) return version >= 11 ? std::error_code{http::error::bad_host} : std::error_code{};
    for (const char c : *host)
        if (!detail::host_char_table[static_cast<unsigned char>(c)]) return http::error::bad_host;
    return {};
}

struct request {
    std::string method = "GET";
    std::string target = "/";
    unsigned version = 11;  // 10 for HTTP/1.0, 11 for HTTP/1.1
    http::fields fields;
    std::string body;

    std::string_view path() const noexcept { return target_path(target); }

    bool keep_alive() const noexcept { return keeps_alive(version, fields); }

    bool expects_continue() const noexcept { return expects_100_continue(version, fields); }

    // {} or http::error::bad_host (check_host above).
    std::error_code check_host() const noexcept { return http::check_host(version, fields); }

    // True when the client asks to switch to `protocol` (RFC 9110 §7.8).
    bool wants_upgrade(std::string_view protocol) const noexcept {
        return fields.has_token("Connection", "upgrade") && fields.has_token("Upgrade", protocol);
    }

    void clear() noexcept {
        method.clear();
        target.clear();
        version = 11;
        fields.clear();
        body.clear();
    }
};

struct response {
    unsigned status = 200;
    std::string reason;  // empty: the standard phrase for `status`
    unsigned version = 11;
    http::fields fields;
    std::string body;

    response() = default;
    explicit response(unsigned status_code) : status(status_code) {}
    response(unsigned status_code, std::string_view content_type, std::string body_text)
        : status(status_code), body(std::move(body_text)) {
        fields.append("Content-Type", content_type);
    }

    bool keep_alive() const noexcept { return keeps_alive(version, fields); }

    void clear() noexcept {
        status = 200;
        reason.clear();
        version = 11;
        fields.clear();
        body.clear();
    }
};

}  // namespace herald::http

#endif
