// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_UTF8_HPP
#define HERALD_UTF8_HPP

// Whole-text UTF-8 validation, shared by the modules whose wire formats are UTF-8
// (event streams, long-poll JSON answers).

#include <cstdint>
#include <cstring>
#include <string_view>

namespace herald {

// UTF-8 as RFC 3629 §4 defines it: no overlong forms, no surrogates (U+D800..DFFF),
// nothing above U+10FFFF. Eight ASCII bytes are checked at a time through memcpy
// (DESIGN.md "Speed without sharp edges"), since event data is mostly ASCII JSON.
inline bool is_utf8(std::string_view text) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const unsigned char* const end = p + text.size();
    while (p != end) {
        while (end - p >= 8) {
            std::uint64_t word;
            std::memcpy(&word, p, 8);
            if (word & 0x8080808080808080u) break;
            p += 8;
        }
        if (p == end) return true;
        const unsigned char lead = *p;
        if (lead < 0x80) {
            ++p;
            continue;
        }
        std::size_t length;
        unsigned char low = 0x80;   // the range of the second byte, which is where
        unsigned char high = 0xbf;  // overlongs, surrogates and > U+10FFFF are refused
        if (lead >= 0xc2 && lead <= 0xdf) {
            length = 2;
        } else if (lead >= 0xe0 && lead <= 0xef) {
            length = 3;
            if (lead == 0xe0) low = 0xa0;
            if (lead == 0xed) high = 0x9f;
        } else if (lead >= 0xf0 && lead <= 0xf4) {
            length = 4;
            if (lead == 0xf0) low = 0x90;
            if (lead == 0xf4) high = 0x8f;
        } else {
            return false;  // a continuation byte, C0, C1 or F5..FF where a lead belongs
        }
        if (static_cast<std::size_t>(end - p) < length) return false;
        if (p[1] < low || p[1] > high) return false;
        for (std::size_t i = 2; i < length; ++i)
            if (p[i] < 0x80 || p[i] > 0xbf) return false;
        p += length;
    }
    return true;
}

}  // namespace herald

#endif
