// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_WEBSOCKET_DETAIL_BASE64_HPP
#define HERALD_WEBSOCKET_DETAIL_BASE64_HPP

// Base64 (RFC 4648 §4, the standard alphabet, with padding), for the handshake's
// Sec-WebSocket-Key and Sec-WebSocket-Accept. Decoding is strict: padding where
// it belongs only, no whitespace, and unused trailing bits must be zero (§3.5
// allows refusing otherwise), so one key has one spelling.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace herald::websocket::detail {

inline constexpr std::string_view base64_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

inline std::string base64_encode(std::string_view in) {
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        const std::uint32_t v = std::uint32_t{static_cast<std::uint8_t>(in[i])} << 16 |
                                std::uint32_t{static_cast<std::uint8_t>(in[i + 1])} << 8 |
                                std::uint32_t{static_cast<std::uint8_t>(in[i + 2])};
        out.push_back(base64_alphabet[v >> 18]);
        out.push_back(base64_alphabet[(v >> 12) & 63]);
        out.push_back(base64_alphabet[(v >> 6) & 63]);
        out.push_back(base64_alphabet[v & 63]);
    }
    if (const std::size_t rest = in.size() - i; rest > 0) {
        std::uint32_t v = std::uint32_t{static_cast<std::uint8_t>(in[i])} << 16;
        if (rest == 2) v |= std::uint32_t{static_cast<std::uint8_t>(in[i + 1])} << 8;
        out.push_back(base64_alphabet[v >> 18]);
        out.push_back(base64_alphabet[(v >> 12) & 63]);
        out.push_back(rest == 2 ? base64_alphabet[(v >> 6) & 63] : '=');
        out.push_back('=');
    }
    return out;
}

inline int base64_value(char c) noexcept {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

// The decoded bytes, or nullopt for anything that is not canonical base64.
inline std::optional<std::string> base64_decode(std::string_view in) {
    if (in.size() % 4 != 0) return std::nullopt;
    std::string out;
    out.reserve(in.size() / 4 * 3);
    for (std::size_t i = 0; i < in.size(); i += 4) {
        const bool last = i + 4 == in.size();
        const int pad = last ? (in[i + 3] == '=') + (in[i + 2] == '=' && in[i + 3] == '=') : 0;
        int v[4];
        for (int j = 0; j < 4 - pad; ++j)
            if ((v[j] = base64_value(in[i + static_cast<std::size_t>(j)])) < 0) return std::nullopt;
        for (int j = 4 - pad; j < 4; ++j) v[j] = 0;
        const std::uint32_t bits = std::uint32_t(v[0]) << 18 | std::uint32_t(v[1]) << 12 | std::uint32_t(v[2]) << 6 | std::uint32_t(v[3]);
        out.push_back(static_cast<char>(bits >> 16));
        if (pad < 2) out.push_back(static_cast<char>((bits >> 8) & 0xff));
        if (pad < 1) out.push_back(static_cast<char>(bits & 0xff));
        if ((pad == 1 && (bits & 0xff) != 0) || (pad == 2 && (bits & 0xffff) != 0)) return std::nullopt;
    }
    return out;
}

}  // namespace herald::websocket::detail

#endif
