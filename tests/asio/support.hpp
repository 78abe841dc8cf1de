// Helpers shared by the Asio-layer tests: read back what a connection wrote.
#ifndef HERALD_TESTS_ASIO_SUPPORT_HPP
#define HERALD_TESTS_ASIO_SUPPORT_HPP

#include <herald/asio/http.hpp>
#include <herald/http/message.hpp>
#include <herald/http/parser.hpp>
#include <herald/websocket/connection.hpp>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <herald/sse/parser.hpp>
#include <herald/sse/serializer.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace herald::testing {

// An event to send, serialized once; `id` empty: none.
inline sse::shared_event make_event(std::string_view data, std::string_view id = {}) {
    std::error_code ec;
    auto ev = sse::make_shared_event({"", data, id.empty() ? std::nullopt : std::optional(id), std::nullopt}, ec);
    REQUIRE(ev);
    return ev;
}

struct received_event {
    std::string type;
    std::string data;
    std::string id;
};

// The events of an event-stream body, whole events only.
inline std::vector<received_event> parse_events(std::string_view body) {
    std::vector<received_event> out;
    sse::event_parser p;
    while (true) {
        const auto r = p.next(body);
        if (r == sse::parse_result::need_more) break;
        REQUIRE(r != sse::parse_result::error);
        if (r == sse::parse_result::event)
            out.push_back({std::string(p.type()), std::string(p.data()), std::string(p.last_event_id())});
    }
    return out;
}

// Splits a close-delimited response into its head and its body.
inline std::pair<std::string, std::string> split_response(const std::string& wire) {
    const auto end = wire.find("\r\n\r\n");
    REQUIRE(end != std::string::npos);
    return {wire.substr(0, end + 4), wire.substr(end + 4)};
}

// Server options whose output does not depend on the clock (no Date field), so
// tests can compare bytes.
inline http::server_options quiet_options() {
    http::server_options o;
    o.send_date = false;
    return o;
}

// Runs `fn` on `io` after `ms` milliseconds.
inline void after(asio::io_context& io, int ms, std::function<void()> fn) {
    auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(ms));
    timer->async_wait([timer, fn = std::move(fn)](std::error_code) { fn(); });
}

// One request on a new blocking loopback connection; the whole response.
inline http::response http_exchange(const asio::ip::tcp::endpoint& ep, const std::string& request) {
    asio::io_context io;
    asio::ip::tcp::socket socket{io};
    socket.connect(ep);
    asio::write(socket, asio::buffer(request));
    http::response res;
    http::response_parser p;
    std::array<char, 4096> chunk;
    while (true) {
        std::error_code ec;
        const std::size_t n = socket.read_some(asio::buffer(chunk), ec);
        std::string_view view{chunk.data(), n};
        if (ec) {
            REQUIRE(p.finish().type == http::event_type::end_of_message);
            return res;
        }
        for (http::event ev = p.next(view); ev.type != http::event_type::need_more; ev = p.next(view)) {
            REQUIRE(ev.type != http::event_type::error);
            if (ev.type == http::event_type::head) p.head_into(res);
            if (ev.type == http::event_type::body) res.body.append(ev.data);
            if (ev.type == http::event_type::end_of_message) return res;
        }
    }
}

// The bytes of one answer on a connection the server closes after it (`Connection:
// close`): no Catch assertion, so it may run on a thread of its own (Catch is not
// thread-safe); parse it on the test's thread with http_parse_whole.
inline std::string http_get_on_thread(const asio::ip::tcp::endpoint& ep, const std::string& target) {
    asio::io_context io;
    asio::ip::tcp::socket socket{io};
    std::error_code ec;
    socket.connect(ep, ec);
    const std::string request = "GET " + target + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    if (!ec) asio::write(socket, asio::buffer(request), ec);
    std::string wire;
    std::array<char, 4096> chunk;
    while (!ec) {
        const std::size_t n = socket.read_some(asio::buffer(chunk), ec);
        wire.append(chunk.data(), n);
    }
    return wire;
}

inline http::response http_parse_whole(std::string_view wire) {
    http::response res;
    http::response_parser p;
    for (http::event ev = p.next(wire); ev.type != http::event_type::need_more; ev = p.next(wire)) {
        REQUIRE(ev.type != http::event_type::error);
        if (ev.type == http::event_type::head) p.head_into(res);
        if (ev.type == http::event_type::body) res.body.append(ev.data);
        if (ev.type == http::event_type::end_of_message) return res;
    }
    FAIL("the answer ended early: " << wire);
    return res;
}

inline http::response http_get(const asio::ip::tcp::endpoint& ep, const std::string& target) {
    return http_exchange(ep, "GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n");
}

// Reads from a blocking `socket` until `messages` holds `count`, each parsed by
// `conn` (a client's connection, for a server's frames).
inline void read_ws_messages(asio::ip::tcp::socket& socket, websocket::connection& conn, std::vector<std::string>& messages,
                             std::size_t count) {
    std::array<char, 65536> buffer;
    while (messages.size() < count) {
        std::string_view input(buffer.data(), socket.read_some(asio::buffer(buffer)));
        while (true) {
            const auto ev = conn.next(input);
            if (ev == websocket::event_type::message) messages.emplace_back(conn.data());
            else if (ev == websocket::event_type::need_more) break;
            else FAIL("unexpected event " << static_cast<int>(ev));
        }
    }
}

}  // namespace herald::testing

#endif
