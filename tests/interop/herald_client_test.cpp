// herald's WebSocket client against npm's `ws` server (tests/interop/ws_server.cjs),
// a peer nobody here wrote: every length form, fragments, pings both ways, close
// codes from either side, the URI's target, and permessage-deflate.
#include "../support/process.hpp"

#include <herald/asio/websocket.hpp>
#include <herald/asio/websocket_connect.hpp>

#include <catch2/catch.hpp>

#include <cstdio>
#include <random>

using namespace herald;
namespace ws = herald::websocket;
using test_support::child_server;

namespace {

class client {
public:
    explicit client(unsigned short port, const std::string& target = "/", ws::deflate_options deflate = {}) {
        ws::stream_options options;
        options.client.deflate = deflate;
        options.limits.max_message = 8 << 20;
        options.limits.max_frame = 8 << 20;
        ws_.emplace(asio::ip::tcp::socket{io_}, [gen = std::mt19937(std::random_device{}())]() mutable { return static_cast<std::uint32_t>(gen()); },
                    options);
        std::error_code result = asio::error::would_block;
        ws::async_connect(*ws_, "ws://127.0.0.1:" + std::to_string(port) + target, [&](std::error_code ec) { result = ec; });
        step();
        REQUIRE_FALSE(result);
    }

    ws::stream<asio::ip::tcp::socket>& operator*() { return *ws_; }

    void write(ws::opcode type, const std::string& payload) {
        std::error_code result = asio::error::would_block;
        ws_->async_write(type, payload, [&](std::error_code ec) { result = ec; });
        step();
        REQUIRE_FALSE(result);
    }

    std::pair<ws::opcode, std::string> read(std::error_code expected = {}) {
        std::pair<ws::opcode, std::string> out;
        std::error_code result = asio::error::would_block;
        ws_->async_read(out.second, [&](std::error_code ec, ws::opcode type) {
            result = ec;
            out.first = type;
        });
        step();
        CHECK(result == expected);
        return out;
    }

    void step() {
        io_.run_for(std::chrono::seconds(10));
        io_.restart();
    }

private:
    asio::io_context io_;
    std::optional<ws::stream<asio::ip::tcp::socket>> ws_;
};

std::string json(int n, int k) {
    std::string out = "[";
    for (int i = 0; i < n; ++i)
        out += R"({"symbol":"HRLD","price":)" + std::to_string(100 + (i * 7 + k) % 97) + R"(,"volume":)" + std::to_string(i * 31) + "},";
    out.back() = ']';
    return out;
}

}  // namespace

TEST_CASE("herald client and npm ws server: permessage-deflate both ways, with and without context takeover, "
          "with small windows",
          "[interop][websocket][deflate]") {
    child_server server{HERALD_WS_SERVER, {"--modules", HERALD_NODE_MODULES, "--deflate", "1"}};
    struct variant {
        const char* name;
        ws::deflate_options offer;
        const char* agreed;  // as ws reports it
    };
    ws::deflate_options afresh;  // herald's defaults: both sides start each message afresh
    afresh.enabled = true;
    ws::deflate_options takeover = afresh;
    takeover.server_no_context_takeover = takeover.client_no_context_takeover = false;
    ws::deflate_options small = takeover;
    small.server_max_window_bits = 10;
    small.client_max_window_bits = 9;
    for (const auto& v : {variant{"afresh", afresh, R"({"server_no_context_takeover":true,"client_no_context_takeover":true})"},
                          variant{"takeover", takeover, "{}"},
                          variant{"small windows", small, R"({"server_max_window_bits":10,"client_max_window_bits":9})"}}) {
        INFO(v.name);
        client c{server.port(), "/", v.offer};
        CHECK((*c).compressing());
        c.write(ws::opcode::text, "deflate");
        CHECK(c.read().second == std::string("deflate:") + v.agreed);
        std::size_t plain = 0;
        for (int k = 0; k < 6; ++k) {
            const std::string m = json(400 + 300 * k, k);
            c.write(ws::opcode::text, m);
            CHECK(c.read() == std::pair(ws::opcode::text, m));
            plain += m.size();
        }
        const std::string binary(200000, '\x07');
        c.write(ws::opcode::binary, binary);
        CHECK(c.read() == std::pair(ws::opcode::binary, binary));
        plain += binary.size();
        // What crossed ws's socket, both ways: a fraction of the messages'.
        c.write(ws::opcode::text, "bytes");
        const std::string bytes = c.read().second;
        unsigned long long read = 0, written = 0;
        REQUIRE(std::sscanf(bytes.c_str(), "bytes:%llu:%llu", &read, &written) == 2);
        CHECK(read < plain / 4);
        CHECK(written < plain / 4);
    }
}

TEST_CASE("herald client and npm ws server: every length form, text and binary", "[interop][websocket]") {
    child_server server{HERALD_WS_SERVER, {"--modules", HERALD_NODE_MODULES}};
    client c{server.port()};
    for (std::size_t size : {0, 1, 125, 126, 127, 65535, 65536, 1 << 20, 5 << 20}) {
        INFO(size << " bytes");
        std::string binary(size, static_cast<char>(size % 251));
        c.write(ws::opcode::binary, binary);
        CHECK(c.read() == std::pair(ws::opcode::binary, binary));
        std::string text;
        while (text.size() + 2 <= size) text += "\xc3\xa9";
        if (text.size() < size) text += 'x';
        c.write(ws::opcode::text, text);
        CHECK(c.read() == std::pair(ws::opcode::text, text));
    }
}

TEST_CASE("herald client and npm ws server: fragments, pings both ways, the URI's target", "[interop][websocket]") {
    child_server server{HERALD_WS_SERVER, {"--modules", HERALD_NODE_MODULES}};
    client c{server.port(), "/rooms/7?token=abc"};
    c.write(ws::opcode::text, "path");
    CHECK(c.read().second == "path:/rooms/7?token=abc");

    // Fragments with a ping between them (RFC 6455 §5.4), a UTF-8 sequence cut across two.
    (*c).async_write_fragment(ws::opcode::text, "frag", false, [](std::error_code ec) { CHECK_FALSE(ec); });
    (*c).async_ping(std::string(125, 'p'), [](std::error_code ec) { CHECK_FALSE(ec); });  // the largest control payload
    (*c).async_write_fragment(ws::opcode::text, "mented \xc3", false, [](std::error_code ec) { CHECK_FALSE(ec); });
    (*c).async_write_fragment(ws::opcode::text, "\xa9", true, [](std::error_code ec) { CHECK_FALSE(ec); });
    c.step();
    CHECK(c.read() == std::pair(ws::opcode::text, std::string("fragmented \xc3\xa9")));

    // The server's ping is answered by herald without the application's help.
    c.write(ws::opcode::text, "ping:are you there");
    CHECK(c.read().second == "pong:are you there");
}

TEST_CASE("herald client and npm ws server: close codes from either side", "[interop][websocket]") {
    child_server server{HERALD_WS_SERVER, {"--modules", HERALD_NODE_MODULES}};
    for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4000, 4999}) {
        INFO("herald closes with " << code);
        client c{server.port()};
        std::error_code sent = asio::error::would_block;
        (*c).async_close(static_cast<std::uint16_t>(code), "client closing", [&](std::error_code ec) { sent = ec; });
        c.read(ws::error::closed);  // the close handshake ends when ws's echo arrives
        CHECK_FALSE(sent);
        CHECK((*c).protocol().close_code() == code);  // §5.5.1: ws echoes the code
    }
    for (int code : {1000, 1001, 1003, 1008, 1011, 3000, 4001}) {
        INFO("ws closes with " << code);
        client c{server.port()};
        c.write(ws::opcode::text, "close:" + std::to_string(code));
        c.read(ws::error::closed);
        CHECK((*c).protocol().close_code() == code);
        CHECK((*c).protocol().close_reason() == "server closing");
    }
}
