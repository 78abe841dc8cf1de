// Helpers for tests of the WebSocket core: a seeded mask source, bytes from a
// list, and a connection's output taken whole.
#ifndef HERALD_TESTS_SUPPORT_WEBSOCKET_WIRE_HPP
#define HERALD_TESTS_SUPPORT_WEBSOCKET_WIRE_HPP

#include <herald/websocket/connection.hpp>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <random>
#include <string>

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

}  // namespace herald::test

#endif
