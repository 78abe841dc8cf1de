// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_WEBSOCKET_MASK_HPP
#define HERALD_WEBSOCKET_MASK_HPP

// Masking and unmasking (RFC 6455 §5.3): byte i of the payload is XORed with byte
// (i mod 4) of the 4-byte key. A payload may arrive in many pieces, so the key
// position carries over from one call to the next.
//
// Speed: the key is widened to 64 bits once the position is back at 0, and applied
// 128 bytes per step in AVX2 registers when the CPU has them and the piece is long
// enough to pay for the check, else 64 bytes per step as four 16-byte vectors
// (GCC/Clang vector extensions: SSE2 on x86-64, NEON on AArch64), then 8 bytes per
// step, then bytewise; loads and stores go through memcpy (DESIGN.md: never
// type-punning), so any alignment is correct.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

namespace herald::websocket {

using mask_key = std::array<std::uint8_t, 4>;

namespace detail {

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// AVX2 where the CPU has it (checked once at run time; the build stays baseline
// x86-64): 128 bytes per step in 32-byte registers. Returns how many bytes it did.
// The loads and stores are the unaligned-access intrinsics (the SIMD form of
// memcpy): a 32-byte vector type through memcpy made GCC bounce every register
// through the stack, a tenth of the speed.
__attribute__((target("avx2"), noinline)) inline std::size_t apply_mask_avx2(char* data, std::size_t size,
                                                                            std::uint64_t wide) noexcept {
    const __m256i w = _mm256_set1_epi64x(static_cast<long long>(wide));
    std::size_t i = 0;
    for (; size - i >= 128; i += 128) {
        auto* p = reinterpret_cast<__m256i*>(data + i);
        const __m256i a = _mm256_xor_si256(_mm256_loadu_si256(p), w);
        const __m256i b = _mm256_xor_si256(_mm256_loadu_si256(p + 1), w);
        const __m256i c = _mm256_xor_si256(_mm256_loadu_si256(p + 2), w);
        const __m256i d = _mm256_xor_si256(_mm256_loadu_si256(p + 3), w);
        _mm256_storeu_si256(p, a);
        _mm256_storeu_si256(p + 1, b);
        _mm256_storeu_si256(p + 2, c);
        _mm256_storeu_si256(p + 3, d);
    }
    return i;
}

inline bool cpu_has_avx2() noexcept {
    static const bool has = __builtin_cpu_supports("avx2");
    return has;
}
#endif

}  // namespace detail

// XORs `data[0, size)` with `key` starting at key byte `offset` (0-3); returns the
// offset for the byte after the last one, for the next piece.
inline std::size_t apply_mask(char* data, std::size_t size, const mask_key& key, std::size_t offset = 0) noexcept {
    offset &= 3;
    std::size_t i = 0;
    // Bytes until the key position is 0 again, so the widened key lines up.
    for (; i < size && offset != 0; ++i, offset = (offset + 1) & 3)
        data[i] = static_cast<char>(data[i] ^ static_cast<char>(key[offset]));
    if (size - i >= 8) {
        std::uint64_t wide;
        const std::array<std::uint8_t, 8> pattern{key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]};
        std::memcpy(&wide, pattern.data(), 8);
        // 64 bytes per step in the compiler's vector type (SSE2 on any x86-64,
        // NEON on AArch64): GCC's -O2 cost model does not vectorize the word loop.
        typedef std::uint64_t lanes __attribute__((vector_size(16)));
        const lanes wide_lanes = {wide, wide};
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
        if (__builtin_expect(size - i >= 512, 0) && detail::cpu_has_avx2()) i += detail::apply_mask_avx2(data + i, size - i, wide);
#endif
        for (; size - i >= 64; i += 64) {
            lanes v[4];
            std::memcpy(v, data + i, 64);
            v[0] ^= wide_lanes;
            v[1] ^= wide_lanes;
            v[2] ^= wide_lanes;
            v[3] ^= wide_lanes;
            std::memcpy(data + i, v, 64);
        }
        for (; size - i >= 8; i += 8) {
            std::uint64_t w;
            std::memcpy(&w, data + i, 8);
            w ^= wide;
            std::memcpy(data + i, &w, 8);
        }
    }
    for (; i < size; ++i, offset = (offset + 1) & 3) data[i] = static_cast<char>(data[i] ^ static_cast<char>(key[offset]));
    return offset;
}

// Hands `in`, unmasked, to `use` in pieces of at most 16 KiB copied into one buffer
// per thread (for a consumer that must see plain bytes but keeps none, an
// inflater); stops at the first error `use` returns. `offset` as for apply_mask.
template <class Offset, class Use>
std::error_code for_each_unmasked(std::string_view in, const mask_key& key, Offset& offset, Use use) {
    thread_local std::string piece;
    while (!in.empty()) {
        piece.assign(in.data(), std::min<std::size_t>(in.size(), 16 * 1024));
        in.remove_prefix(piece.size());
        offset = static_cast<Offset>(apply_mask(piece.data(), piece.size(), key, offset));
        if (auto bad = use(std::string_view(piece))) return bad;
    }
    return {};
}

}  // namespace herald::websocket

#endif
