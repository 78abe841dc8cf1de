// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_WEBSOCKET_UTF8_HPP
#define HERALD_WEBSOCKET_UTF8_HPP

// A streaming UTF-8 validator for text messages (RFC 6455 §8.1: "When an endpoint
// is to interpret a byte stream as UTF-8 but finds that the byte stream is not, in
// fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket Connection_").
//
// How it works: the validator remembers how many continuation bytes the current
// sequence still needs and the range the next one must fall in (RFC 3629 §4: the
// second byte's range is what excludes overlong forms, surrogates and code points
// above U+10FFFF). feed() returns false at the first byte that makes the text
// invalid, whatever piece or fragment it comes in: it fails fast, as Autobahn's
// 6.x cases ask, instead of waiting for the message to end. A sequence cut by a
// fragment or a read is carried over. finish() says whether the message may end
// here (no sequence left open). ASCII is checked eight bytes at a time, and a
// sequence wholly inside the piece in one step.

#include <cstdint>
#include <cstring>
#include <string_view>

namespace herald::websocket {

class utf8_validator {
public:
    // Validates the next piece; false once the text is invalid (and from then on).
    bool feed(std::string_view piece) noexcept {
        if (failed_) return false;
        const auto* p = reinterpret_cast<const unsigned char*>(piece.data());
        const unsigned char* const end = p + piece.size();
        while (p != end) {
            if (needed_ == 0) {
                while (end - p >= 8) {
                    std::uint64_t word;
                    std::memcpy(&word, p, 8);
                    if (word & 0x8080808080808080u) break;
                    p += 8;
                }
                if (p == end) break;
                const unsigned char lead = *p;
                if (lead < 0x80) {
                    ++p;
                    continue;
                }
                // A whole sequence in this piece is checked at once (the common case in
                // text that is not ASCII); one cut by the piece's end goes byte by byte.
                const auto left = end - p;
                if (lead >= 0xc2 && lead <= 0xdf && left >= 2) {
                    if (!continuation(p[1], 0x80, 0xbf)) return fail();
                    p += 2;
                    continue;
                }
                if (lead >= 0xe0 && lead <= 0xef && left >= 3) {
                    if (!continuation(p[1], lead == 0xe0 ? 0xa0 : 0x80, lead == 0xed ? 0x9f : 0xbf) ||
                        !continuation(p[2], 0x80, 0xbf))
                        return fail();
                    p += 3;
                    continue;
                }
                if (lead >= 0xf0 && lead <= 0xf4 && left >= 4) {
                    if (!continuation(p[1], lead == 0xf0 ? 0x90 : 0x80, lead == 0xf4 ? 0x8f : 0xbf) ||
                        !continuation(p[2], 0x80, 0xbf) || !continuation(p[3], 0x80, 0xbf))
                        return fail();
                    p += 4;
                    continue;
                }
                ++p;
                low_ = 0x80;
                high_ = 0xbf;
                if (lead >= 0xc2 && lead <= 0xdf) {
                    needed_ = 1;
                } else if (lead >= 0xe0 && lead <= 0xef) {
                    needed_ = 2;
                    if (lead == 0xe0) low_ = 0xa0;   // no overlong 3-byte forms
                    if (lead == 0xed) high_ = 0x9f;  // no surrogates
                } else if (lead >= 0xf0 && lead <= 0xf4) {
                    needed_ = 3;
                    if (lead == 0xf0) low_ = 0x90;   // no overlong 4-byte forms
                    if (lead == 0xf4) high_ = 0x8f;  // nothing above U+10FFFF
                } else {
                    return fail();  // a continuation, C0, C1 or F5..FF where a lead belongs
                }
                continue;
            }
            const unsigned char next = *p++;
            if (next < low_ || next > high_) return fail();
            low_ = 0x80;
            high_ = 0xbf;
            --needed_;
        }
        return true;
    }

    // Whether the text may end here: valid so far and no sequence left open.
    bool finish() const noexcept { return !failed_ && needed_ == 0; }

    bool failed() const noexcept { return failed_; }

    void reset() noexcept {
        needed_ = 0;
        failed_ = false;
    }

private:
    static bool continuation(unsigned char c, unsigned char low, unsigned char high) noexcept { return c >= low && c <= high; }

    bool fail() noexcept {
        failed_ = true;
        return false;
    }

    unsigned needed_ = 0;
    unsigned char low_ = 0x80;
    unsigned char high_ = 0xbf;
    bool failed_ = false;
};

}  // namespace herald::websocket

#endif
