// herald's WebSocket client stream against examples/websocket_echo_server over loopback.
#include "../support/process.hpp"

#include <herald/asio/websocket.hpp>

#include <asio/ip/tcp.hpp>

#include <catch2/catch.hpp>

#include <random>

using namespace herald;
namespace ws = herald::websocket;
using test_support::child_server;

TEST_CASE("websocket_echo_server: herald's client handshakes and gets its messages back", "[examples][websocket]") {
    child_server server{HERALD_WEBSOCKET_ECHO_SERVER, {}};
    asio::io_context io;
    asio::ip::tcp::socket socket{io};
    socket.connect({asio::ip::make_address("127.0.0.1"), server.port()});
    ws::stream<asio::ip::tcp::socket> client{std::move(socket),
                                             [gen = std::mt19937(std::random_device{}())]() mutable {
                                                 return static_cast<std::uint32_t>(gen());
                                             }};
    std::error_code handshake = asio::error::would_block, closed = asio::error::would_block;
    std::vector<std::pair<ws::opcode, std::string>> got;
    std::string buffer;
    const std::string big(100000, 'b');
    std::function<void()> read = [&] {
        client.async_read(buffer, [&](std::error_code ec, ws::opcode type) {
            if (ec) {
                closed = ec;
                return;
            }
            got.emplace_back(type, buffer);
            if (got.size() == 3) client.async_close(1000, "done", [](std::error_code) {});
            read();
        });
    };
    client.async_handshake("127.0.0.1", "/echo", [&](std::error_code ec) {
        handshake = ec;
        if (ec) return;
        client.async_write(ws::opcode::text, "hello", [](std::error_code) {});
        client.async_write(ws::opcode::binary, big, [](std::error_code) {});
        client.async_write(ws::opcode::text, "caf\xc3\xa9", [](std::error_code) {});
        read();
    });
    io.run_for(std::chrono::seconds(10));
    CHECK_FALSE(handshake);
    REQUIRE(got.size() == 3);
    CHECK(got[0] == std::pair(ws::opcode::text, std::string("hello")));
    CHECK(got[1] == std::pair(ws::opcode::binary, big));
    CHECK(got[2].second == "caf\xc3\xa9");
    CHECK(closed == ws::error::closed);  // the server echoed our close
    CHECK(client.protocol().close_code() == 1000);
}

TEST_CASE("websocket client: a server that does not switch protocols is refused", "[examples][websocket]") {
    child_server server{HERALD_SSE_SERVER, {}};  // plain HTTP: answers 404
    asio::io_context io;
    asio::ip::tcp::socket socket{io};
    socket.connect({asio::ip::make_address("127.0.0.1"), server.port()});
    ws::stream<asio::ip::tcp::socket> client{std::move(socket), [] { return 4u; }};
    std::error_code result;
    client.async_handshake("127.0.0.1", "/echo", [&](std::error_code ec) { result = ec; });
    io.run_for(std::chrono::seconds(10));
    CHECK(result == ws::error::not_switching);
}
