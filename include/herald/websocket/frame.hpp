// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_WEBSOCKET_FRAME_HPP
#define HERALD_WEBSOCKET_FRAME_HPP

// WebSocket frame headers (RFC 6455 §5.2), encoded and decoded:
//
//    0                   1                   2                   3
//   |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//   |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//   |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//   | |1|2|3|       |K|             |                               |
//   ... Masking-key (0 or 4 bytes) ... Payload Data ...
//
// The payload itself never passes through here: the caller reads it (and unmasks
// it with mask.hpp) in place, so a frame header costs at most 14 bytes of parsing.
// read_header() checks everything a header alone can break: reserved opcodes and
// bits, masking against the receiver's role (§5.1), control frame rules (§5.5),
// and the 64-bit length's high bit. Rules that need the stream's state
// (continuations, limits, close payloads) belong to connection.hpp.

#include <herald/websocket/error.hpp>
#include <herald/websocket/mask.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>

namespace herald::websocket {

enum class opcode : std::uint8_t {
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xa,
};

constexpr bool is_control(opcode op) noexcept { return (static_cast<std::uint8_t>(op) & 0x8) != 0; }

// RSV1 (frame_header::rsv): permessage-deflate's "this message is compressed",
// on a message's first frame (RFC 7692 §6).
inline constexpr std::uint8_t rsv1 = 0x4;

// Which side of the connection this endpoint is: clients mask, servers do not.
enum class role { server, client };

struct frame_header {
    bool fin = true;
    std::uint8_t rsv = 0;  // RSV1..RSV3 as bits 4, 2, 1 (0x4 = RSV1)
    opcode op = opcode::text;
    bool masked = false;
    std::uint64_t length = 0;
    mask_key key{};
};

inline constexpr std::size_t max_header_size = 14;

constexpr std::size_t header_size(const frame_header& h) noexcept {
    return 2 + (h.length < 126 ? 0 : h.length <= 0xffff ? 2 : 8) + (h.masked ? 4 : 0);
}

// Writes `h` into `out` (at least header_size(h) bytes, max_header_size always
// suffices), with the shortest length form (§5.2: "the minimal number of bytes
// MUST be used"). Returns the bytes written.
inline std::size_t write_header(const frame_header& h, char* out) noexcept {
    auto* o = reinterpret_cast<unsigned char*>(out);
    o[0] = static_cast<unsigned char>((h.fin ? 0x80 : 0) | ((h.rsv & 0x7) << 4) | static_cast<std::uint8_t>(h.op));
    const unsigned char mask_bit = h.masked ? 0x80 : 0;
    std::size_t n = 2;
    if (h.length < 126) {
        o[1] = static_cast<unsigned char>(mask_bit | h.length);
    } else if (h.length <= 0xffff) {
        o[1] = mask_bit | 126;
        o[2] = static_cast<unsigned char>(h.length >> 8);
        o[3] = static_cast<unsigned char>(h.length);
        n = 4;
    } else {
        o[1] = mask_bit | 127;
        for (int i = 0; i < 8; ++i) o[2 + i] = static_cast<unsigned char>(h.length >> (56 - 8 * i));
        n = 10;
    }
    if (h.masked) {
        for (int i = 0; i < 4; ++i) o[n + static_cast<std::size_t>(i)] = h.key[static_cast<std::size_t>(i)];
        n += 4;
    }
    return n;
}

// Decodes the header at the front of `input` for an endpoint of role `receiver`
// that negotiated the RSV bits in `allowed_rsv`. Returns the header's size, or 0
// when `input` does not hold a whole header yet (or when `ec` is set).
inline std::size_t read_header(std::string_view input, frame_header& out, role receiver, std::error_code& ec,
                               std::uint8_t allowed_rsv = 0) noexcept {
    ec = {};
    if (input.size() < 2) return 0;
    const auto* in = reinterpret_cast<const unsigned char*>(input.data());
    out.fin = (in[0] & 0x80) != 0;
    out.rsv = static_cast<std::uint8_t>((in[0] >> 4) & 0x7);
    const std::uint8_t op = in[0] & 0x0f;
    out.masked = (in[1] & 0x80) != 0;
    const std::uint8_t len7 = in[1] & 0x7f;
    // §5.2: opcodes 3-7 and B-F are reserved: "MUST _Fail the WebSocket Connection_".
    if ((op >= 0x3 && op <= 0x7) || op >= 0xb) return ec = error::reserved_opcode, 0;
    out.op = static_cast<opcode>(op);
    // §5.2: RSV bits "MUST be 0 unless an extension is negotiated that defines meanings".
    if (out.rsv & ~allowed_rsv) return ec = error::reserved_bits, 0;
    // §5.1: a server MUST close on an unmasked client frame; a client on a masked one.
    if (out.masked != (receiver == role::server)) return ec = error::bad_masking, 0;
    if (is_control(out.op)) {
        // §5.5: "All control frames MUST have a payload length of 125 bytes or less
        // and MUST NOT be fragmented."
        if (!out.fin) return ec = error::fragmented_control, 0;
        if (len7 > 125) return ec = error::control_too_long, 0;
    }
    std::size_t n = 2;
    if (len7 < 126) {
        out.length = len7;
    } else if (len7 == 126) {
        if (input.size() < 4) return 0;
        out.length = std::uint64_t{in[2]} << 8 | in[3];
        n = 4;
    } else {
        if (input.size() < 10) return 0;
        out.length = 0;
        for (int i = 0; i < 8; ++i) out.length = out.length << 8 | in[2 + i];
        // §5.2: "the most significant bit MUST be 0".
        if (out.length >> 63) return ec = error::bad_length, 0;
        n = 10;
    }
    if (out.masked) {
        if (input.size() < n + 4) return 0;
        for (std::size_t i = 0; i < 4; ++i) out.key[i] = in[n + i];
        n += 4;
    }
    return n;
}

}  // namespace herald::websocket

#endif
