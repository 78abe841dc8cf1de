// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_WEBSOCKET_DETAIL_SHA1_HPP
#define HERALD_WEBSOCKET_DETAIL_SHA1_HPP

// SHA-1 (RFC 3174), for one purpose only: Sec-WebSocket-Accept (RFC 6455 §4.2.2,
// the SHA-1 of the client's key and a fixed GUID). SHA-1 is broken for collision
// resistance, which this use does not rely on: the accept key only proves that
// the server read the handshake. Tested against RFC 3174 §7.3's vectors.

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace herald::websocket::detail {

class sha1 {
public:
    using digest = std::array<std::uint8_t, 20>;

    void update(std::string_view bytes) noexcept {
        for (const char c : bytes) {
            block_[used_++] = static_cast<std::uint8_t>(c);
            if (used_ == 64) {
                compress();
                used_ = 0;
            }
        }
        length_ += bytes.size();
    }

    digest finish() noexcept {
        const std::uint64_t bits = length_ * 8;
        // RFC 3174 §4: a 1 bit, zeros up to 56 mod 64 bytes, then the length in bits.
        block_[used_++] = 0x80;
        if (used_ > 56) {
            std::memset(block_.data() + used_, 0, 64 - used_);
            compress();
            used_ = 0;
        }
        std::memset(block_.data() + used_, 0, 56 - used_);
        for (int i = 0; i < 8; ++i) block_[56 + i] = static_cast<std::uint8_t>(bits >> (56 - 8 * i));
        compress();
        digest out;
        for (int i = 0; i < 5; ++i)
            for (int j = 0; j < 4; ++j) out[4 * i + j] = static_cast<std::uint8_t>(h_[i] >> (24 - 8 * j));
        return out;
    }

    static digest of(std::string_view bytes) noexcept {
        sha1 s;
        s.update(bytes);
        return s.finish();
    }

private:
    static constexpr std::uint32_t rotl(std::uint32_t x, int n) noexcept { return (x << n) | (x >> (32 - n)); }

    // RFC 3174 §6.1, method 1.
    void compress() noexcept {
        std::uint32_t w[80];
        for (int t = 0; t < 16; ++t)
            w[t] = std::uint32_t{block_[4 * t]} << 24 | std::uint32_t{block_[4 * t + 1]} << 16 |
                   std::uint32_t{block_[4 * t + 2]} << 8 | std::uint32_t{block_[4 * t + 3]};
        for (int t = 16; t < 80; ++t) w[t] = rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
        std::uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4];
        for (int t = 0; t < 80; ++t) {
            std::uint32_t f, k;
            if (t < 20) {
                f = (b & c) | (~b & d);
                k = 0x5a827999;
            } else if (t < 40) {
                f = b ^ c ^ d;
                k = 0x6ed9eba1;
            } else if (t < 60) {
                f = (b & c) | (b & d) | (c & d);
                k = 0x8f1bbcdc;
            } else {
                f = b ^ c ^ d;
                k = 0xca62c1d6;
            }
            const std::uint32_t temp = rotl(a, 5) + f + e + w[t] + k;
            e = d;
            d = c;
            c = rotl(b, 30);
            b = a;
            a = temp;
        }
        h_[0] += a;
        h_[1] += b;
        h_[2] += c;
        h_[3] += d;
        h_[4] += e;
    }

    std::array<std::uint8_t, 64> block_{};
    std::size_t used_ = 0;
    std::uint64_t length_ = 0;
    std::uint32_t h_[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
};

}  // namespace herald::websocket::detail

#endif
