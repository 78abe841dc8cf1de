// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_JSON_HPP
#define HERALD_JSON_HPP

// Writing a JSON string (RFC 8259 §7), shared by the wire formats that answer in
// JSON (long polling) and by the examples.

#include <string>
#include <string_view>

namespace herald {

// Appends `text` as a JSON string, quotes included. `text` should be UTF-8; it is
// copied byte for byte apart from the escapes.
inline void append_json_string(std::string_view text, std::string& out) {
    constexpr std::string_view hex = "0123456789abcdef";
    out.push_back('"');
    for (const char c : text) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {  // RFC 8259 §7: controls must be escaped
                out += "\\u00";
                out.push_back(hex[static_cast<unsigned char>(c) >> 4]);
                out.push_back(hex[static_cast<unsigned char>(c) & 0xf]);
            } else {
                out.push_back(c);
            }
        }
    }
    out.push_back('"');
}

// The size append_json_string(text, out) appends.
inline std::size_t json_string_size(std::string_view text) noexcept {
    std::size_t size = 2;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        size += (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t') ? 2 : u < 0x20 ? 6 : 1;
    }
    return size;
}

}  // namespace herald

#endif
