// Helpers for tests of the WebSocket core: a seeded mask source, bytes from a
// list, a connection's output taken whole, its events fed from a wire, and a
// decompression bomb.
#ifndef HERALD_TESTS_SUPPORT_WEBSOCKET_WIRE_HPP
#define HERALD_TESTS_SUPPORT_WEBSOCKET_WIRE_HPP

#include <herald/websocket/connection.hpp>

#include <zlib.h>

#include <cstdint>
#include <algorithm>
#include <functional>
#include <initializer_list>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace herald::test {

inline std::function<std::uint32_t()> rng(unsigned seed) {
    return [gen = std::mt19937(seed)]() mutable { return static_cast<std::uint32_t>(gen()); };
}

inline std::string take(websocket::connection& c) {
    std::string out{c.output()};
    c.consume_output(out.size());
    return out;
}

inline std::string raw(std::initializer_list<int> list) {
    std::string out;
    for (int b : list) out.push_back(static_cast<char>(b));
    return out;
}

// One event of a connection, with what it carried.
struct seen {
    websocket::event_type type;
    std::string data;
    websocket::opcode kind = websocket::opcode::text;
    std::uint16_t code = 0;
};

// Feeds `wire` to `c` in pieces of `step` bytes (0: whole) and collects the events;
// throws when the connection leaves part of a piece unread.
inline std::vector<seen> feed(websocket::connection& c, const std::string& wire, std::size_t step = 0) {
    std::vector<seen> out;
    std::size_t at = 0;
    do {
        const std::size_t n = step == 0 ? wire.size() : std::min(step, wire.size() - at);
        std::string_view piece{wire.data() + at, n};
        at += n;
        for (auto ev = c.next(piece); ev != websocket::event_type::need_more; ev = c.next(piece))
            out.push_back({ev, std::string(c.data()), c.message_type(), c.close_code()});
        if (!piece.empty()) throw std::logic_error("the connection left input unread");
    } while (at < wire.size());
    return out;
}

// `size` zero bytes deflated raw with a sync flush, the tail removed (RFC 7692
// §7.2.1), made in pieces so that the test never holds them inflated either.
inline std::string deflated_zeros(std::size_t size) {
    z_stream z{};
    if (deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
    const std::string chunk(1 << 20, '\0');
    std::string out;
    char buf[1 << 16];
    for (std::size_t left = size; left > 0;) {
        const std::size_t n = std::min(left, chunk.size());
        left -= n;
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(chunk.data()));
        z.avail_in = static_cast<uInt>(n);
        do {
            z.next_out = reinterpret_cast<Bytef*>(buf);
            z.avail_out = sizeof buf;
            deflate(&z, left == 0 ? Z_SYNC_FLUSH : Z_NO_FLUSH);
            out.append(buf, sizeof buf - z.avail_out);
        } while (z.avail_out == 0);
    }
    deflateEnd(&z);
    out.resize(out.size() - 4);
    return out;
}

}  // namespace herald::test

#endif
