// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_WEBSOCKET_URI_HPP
#define HERALD_WEBSOCKET_URI_HPP

// WebSocket URIs (RFC 6455 §3):
//
//   ws-URI  = "ws:"  "//" host [ ":" port ] path [ "?" query ]
//   wss-URI = "wss:" "//" host [ ":" port ] path [ "?" query ]
//
// parse_uri() splits one into what a client needs: where to connect (host, port),
// what to ask for (target = path and query, "/" when the path is empty, §3: "the
// path component ... if empty, '/'") and the Host field (§4.1 item 4: the port
// only when it is not the scheme's default). Strict on purpose: a fragment
// ("#" ... "MUST NOT be used"), userinfo, a port out of range, spaces or control
// bytes are refused with error::bad_uri rather than guessed at.

#include <herald/websocket/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace herald::websocket {

struct uri {
    bool secure = false;       // wss://
    std::string host;          // a name, an IPv4 address, or an IPv6 address without brackets
    std::uint16_t port = 80;   // 80 for ws://, 443 for wss:// unless given
    std::string target;        // path and query: "/chat?room=1"
    std::string host_field;    // the Host field value: "example.com", "[::1]:9001"
};

namespace detail {

inline bool iequal_prefix(std::string_view s, std::string_view prefix) noexcept {
    if (s.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != prefix[i]) return false;
    }
    return true;
}

// What may appear unescaped in a URI (RFC 3986 §2): printable ASCII other than
// space and " < > \ ^ ` { | }.
inline bool uri_chars_ok(std::string_view s) noexcept {
    for (const char c : s) {
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) return false;
        if (std::string_view("\"<>\\^`{|}").find(c) != std::string_view::npos) return false;
    }
    return true;
}

// A reg-name or IPv4 address (RFC 3986 §3.2.2): unreserved, pct-encoded, sub-delims.
inline bool host_chars_ok(std::string_view s) noexcept {
    for (const char c : s) {
        const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && std::string_view("-._~%!$&'()*+,;=").find(c) == std::string_view::npos) return false;
    }
    return true;
}

}  // namespace detail

inline std::error_code parse_uri(std::string_view text, uri& out) {
    uri u;
    // RFC 3986 §3.1: schemes are case-insensitive.
    if (detail::iequal_prefix(text, "wss://")) {
        u.secure = true;
        u.port = 443;
        text.remove_prefix(6);
    } else if (detail::iequal_prefix(text, "ws://")) {
        text.remove_prefix(5);
    } else {
        return error::bad_uri;
    }
    if (!detail::uri_chars_ok(text) || text.find('#') != std::string_view::npos) return error::bad_uri;

    const std::size_t authority_end = text.find_first_of("/?");
    std::string_view authority = text.substr(0, authority_end);
    const std::string_view rest = authority_end == std::string_view::npos ? std::string_view{} : text.substr(authority_end);
    if (authority.find('@') != std::string_view::npos) return error::bad_uri;  // userinfo has no place in ws-URI

    std::string_view host;
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {  // IP-literal (RFC 3986 §3.2.2)
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos || close < 2) return error::bad_uri;
        host = authority.substr(1, close - 1);
        if (host.find(':') == std::string_view::npos) return error::bad_uri;  // IPv6 has colons; [name] is not a host
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return error::bad_uri;
            port = after.substr(1);
            if (port.empty()) return error::bad_uri;
        }
        for (const char c : host)
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.'))
                return error::bad_uri;
    } else {
        const std::size_t colon = authority.rfind(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) {
            port = authority.substr(colon + 1);
            if (port.empty()) return error::bad_uri;
        }
        if (!detail::host_chars_ok(host)) return error::bad_uri;
    }
    if (host.empty()) return error::bad_uri;
    if (!port.empty()) {
        if (port.size() > 5) return error::bad_uri;
        std::uint32_t value = 0;
        for (const char c : port) {
            if (c < '0' || c > '9') return error::bad_uri;
            value = value * 10 + static_cast<std::uint32_t>(c - '0');
        }
        if (value == 0 || value > 65535) return error::bad_uri;
        u.port = static_cast<std::uint16_t>(value);
    }

    u.host.assign(host);
    // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) about "/" + string
    // at -O2, and a user's -Werror build must not break on herald's headers.
    u.target.clear();
    if (rest.empty() || rest.front() == '?') u.target.push_back('/');
    u.target.append(rest);
    const bool bracketed = host.find(':') != std::string_view::npos;
    u.host_field.clear();
    if (bracketed) u.host_field.push_back('[');
    u.host_field.append(u.host);
    if (bracketed) u.host_field.push_back(']');
    if (u.port != (u.secure ? 443 : 80)) u.host_field.append(":").append(std::to_string(u.port));
    out = std::move(u);
    return {};
}

}  // namespace herald::websocket

#endif
