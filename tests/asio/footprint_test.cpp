// What an idle connection keeps, as each is one of many thousands
// (docs/benchmarks.md, "Memory per idle connection"): an open websocket::stream
// lets go of what only the opening handshake needs (its options, the answer, the
// key) and makes its timers when first used; an HTTP connection makes its request
// parser for a request and lets it go while a request is parked or handed off, and
// a parked request's slot holds no timer and no empty response.
#include <herald/asio/http.hpp>
#include <herald/asio/responder.hpp>
#include <herald/asio/sse.hpp>
#include <herald/asio/websocket.hpp>
#include <herald/test/stream.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <string>

using namespace herald;
namespace ws = herald::websocket;

namespace {

// Draws 1, 2, 3, ...: the client's key is known in advance.
struct counting_random {
    std::uint32_t next = 0;
    std::uint32_t operator()() { return ++next; }
};

}  // namespace

TEST_CASE("websocket footprint: an open stream on a socket is at most 616 bytes, its protocol connection 280", "[asio][websocket]") {
    // 1,600 bytes when it kept its options, the handshake's answer and three timers;
    // 776 and 400 with padding between members and a copy of the close reason; 696
    // and 328 with a std::function for a server's (unused) mask keys, word-sized
    // counters for bytes, and an empty subprotocol string.
    if constexpr (sizeof(void*) == 8) {
        CHECK(sizeof(ws::stream<asio::ip::tcp::socket>) <= 616);
        CHECK(sizeof(ws::connection) <= 280);
    }
}

TEST_CASE("http footprint: a connection and an SSE stream on a socket are at most 296 and 400 bytes", "[asio][http][sse]") {
    // 1,336 and 1,432 when the connection held its parser and a bad request's answer
    // for good, and the stream a 512-byte read buffer and a std::deque; the stream
    // was 848 while it shared its connection and had a timer, a write watchdog, its
    // response and a vector of buffers of its own. The connection was 736 with a
    // timer of its own for its deadline, a copy of its options and a date cache,
    // 592 with its deadline's action a std::function set at every arm, 568 with its
    // request in it rather than on the heap (where a parked one is let go of), 416
    // with its parser, read buffer and last answer's head in it rather than on the
    // heap together (where a parked one lets go of them) and its flags apart, 336
    // with its request's budget share and bad-request answer beside the pointer to
    // its request, not in the record it points to (let go of by a parked one), 312
    // while its deadline kept its due time beside its sweep entry's, and the
    // resolution it joins the sweep with once.
    if constexpr (sizeof(void*) == 8) {
        CHECK(sizeof(http::server_connection<asio::ip::tcp::socket>) <= 296);
        CHECK(sizeof(sse::event_stream<asio::ip::tcp::socket>) <= 400);
    }
}

TEST_CASE("http footprint: a parked request's response slot is at most 104 bytes on an io_context's executor", "[asio][http]") {
    // 392 while it held its wake-up timer and an empty std::optional<response>, 208
    // with a hand-off's function and type in it rather than on the heap, 176 with
    // its executor type-erased whatever the connection's (asio::any_io_executor, 56
    // bytes): it is now the connection's own type, and 8 bytes more (a vtable pointer) where that is type-erased.
    // 136 with its three flags in three words, 120 with on_abandon a std::function
    // (32 bytes, and a heap block for a lambda holding a weak_ptr) and not a
    // small_callback (24, none), 112 with a function pointer to wake its parked
    // connection (now a virtual call of the slot's type, which knows the connection's).
    if constexpr (sizeof(void*) == 8) {
        CHECK(sizeof(http::detail::response_slot_on<asio::io_context::executor_type>) <= 104);
        CHECK(sizeof(http::detail::response_slot_on<asio::ip::tcp::socket::executor_type>) <= 152);
    }
}

TEST_CASE("websocket footprint: the server's handshake state goes with its answer, and a second accept is refused",
          "[asio][websocket]") {
    asio::io_context io;
    ws::stream_options options;
    options.handshake.subprotocols = {"chat"};
    ws::stream<test::stream> server{test::stream{io.get_executor()}, options};
    auto request = ws::upgrade_request("localhost", "/", "dGhlIHNhbXBsZSBub25jZQ==", {"chat"});
    std::error_code first = asio::error::would_block, second = asio::error::would_block;
    server.async_accept(request, [&](std::error_code ec) {
        first = ec;
        server.async_accept(request, [&](std::error_code ec2) { second = ec2; });
    });
    io.run();
    CHECK_FALSE(first);
    CHECK(second == ws::error::invalid_state);
    CHECK(server.subprotocol() == "chat");  // kept, unlike the rest of the handshake
    const std::string wire = server.next_layer().str();
    CHECK(wire.rfind("HTTP/1.1 101 ", 0) == 0);
    CHECK(wire.find("HTTP/1.1", 1) == std::string::npos);  // one answer only
}

TEST_CASE("websocket footprint: a client's handshake state goes with the 101, and a second handshake is refused",
          "[asio][websocket]") {
    asio::io_context io;
    counting_random draw;
    auto copy = draw;
    const std::string key = ws::make_key(copy);  // what the stream will send
    const std::string answer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                               "Sec-WebSocket-Accept: " + ws::accept_key(key) + "\r\n\r\n";
    ws::stream<test::stream> client{test::stream{io.get_executor(), answer}, draw};
    std::error_code first = asio::error::would_block, second = asio::error::would_block;
    client.async_handshake("localhost", "/", [&](std::error_code ec) {
        first = ec;
        client.async_handshake("localhost", "/", [&](std::error_code ec2) { second = ec2; });
    });
    io.run_for(std::chrono::seconds(5));  // a second handshake that read again would wait, not fail
    CHECK_FALSE(first);
    CHECK(second == ws::error::invalid_state);
    const std::string wire = client.next_layer().str();
    CHECK(wire.find("Sec-WebSocket-Key: " + key + "\r\n") != std::string::npos);
    CHECK(wire.find("GET", 1) == std::string::npos);  // one request only
}

TEST_CASE("websocket client: the handshake's nonce and the mask keys come from one generator", "[asio][websocket]") {
    // A generator copied by value into both would repeat its draws: the nonce, sent
    // in the clear, would give away the mask keys (RFC 6455 §5.3).
    asio::io_context io;
    counting_random draw;
    auto copy = draw;
    const std::string key = ws::make_key(copy);  // draws 1 to 16
    const std::string answer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                               "Sec-WebSocket-Accept: " + ws::accept_key(key) + "\r\n\r\n";
    ws::stream<test::stream> client{test::stream{io.get_executor(), answer}, draw};
    std::error_code wrote = asio::error::would_block;
    client.async_handshake("localhost", "/", [&](std::error_code ec) {
        REQUIRE_FALSE(ec);
        client.async_write(ws::opcode::text, "hi", [&](std::error_code ec2) { wrote = ec2; });
    });
    io.run_for(std::chrono::seconds(5));
    REQUIRE_FALSE(wrote);
    const std::string wire = client.next_layer().str();
    const std::string frame = wire.substr(wire.find("\r\n\r\n") + 4);
    REQUIRE(frame.size() == 2 + 4 + 2);
    CHECK(frame.substr(2, 4) == std::string({'\0', '\0', '\0', '\x11'}));  // the 17th draw, not the 1st again
}
