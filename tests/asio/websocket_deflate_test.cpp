// permessage-deflate through websocket::stream: negotiated in the handshake,
// messages compressed and inflated on the way, and one compressed frame shared by
// many streams.
#include "support.hpp"

#include <herald/asio/websocket.hpp>
#include <herald/asio/websocket_connect.hpp>
#include <herald/test/stream.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace herald;
namespace ws = herald::websocket;

namespace {

std::function<std::uint32_t()> random_bits(unsigned seed) {
    return [gen = std::mt19937(seed)]() mutable { return static_cast<std::uint32_t>(gen()); };
}

ws::deflate_options deflate_on() {
    ws::deflate_options o;
    o.enabled = true;
    return o;
}

// JSON-like text: what a hub sends, and what compresses well.
std::string ticker_json(std::size_t count) {
    std::string out = "[";
    for (std::size_t i = 0; i < count; ++i)
        out += R"({"symbol":"HRLD","price":)" + std::to_string(100 + i % 17) + R"(,"volume":)" + std::to_string(i * 31) + "},";
    out.back() = ']';
    return out;
}

// The frames a server stream wrote after its 101, read by a client core that
// agreed to `params` (none: no extension).
std::vector<std::string> client_reads(const std::string& wire, const std::optional<ws::deflate_params>& params) {
    ws::connection core(ws::role::client, {}, random_bits(1));
    if (params) core.enable_deflate(*params, deflate_on());
    std::vector<std::string> out;
    std::string_view input{wire};
    input.remove_prefix(wire.find("\r\n\r\n") + 4);
    for (auto ev = core.next(input); ev != ws::event_type::need_more; ev = core.next(input)) {
        REQUIRE(ev == ws::event_type::message);
        out.emplace_back(core.data());
    }
    return out;
}

http::request offer_request(const ws::deflate_options& offer) {
    return ws::upgrade_request("localhost", "/", "dGhlIHNhbXBsZSBub25jZQ==", {}, {}, ws::deflate_offer(offer));
}

}  // namespace

TEST_CASE("websocket deflate: a server that enables it answers the offer and compresses what it sends",
          "[asio][websocket][deflate]") {
    asio::io_context io;
    ws::stream_options options;
    options.handshake.deflate = deflate_on();
    ws::stream<test::stream> server{test::stream{io.get_executor()}, options};
    const std::string big = ticker_json(500);
    server.async_accept(offer_request(deflate_on()), [&](std::error_code ec) {
        REQUIRE_FALSE(ec);
        CHECK(server.compressing());
        server.async_write(ws::opcode::text, big, [](std::error_code) {});
        server.async_write(ws::opcode::text, "tiny", [](std::error_code) {});
    });
    io.run();
    const std::string wire = server.next_layer().str();
    CHECK(wire.find("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
                    "client_no_context_takeover\r\n") != std::string::npos);
    const std::size_t frames = wire.size() - (wire.find("\r\n\r\n") + 4);
    CHECK(frames < big.size() / 4);  // on the wire compressed
    ws::deflate_params agreed;
    agreed.server_no_context_takeover = agreed.client_no_context_takeover = true;
    const auto messages = client_reads(wire, agreed);
    REQUIRE(messages.size() == 2);
    CHECK(messages[0] == big);
    CHECK(messages[1] == "tiny");
}

TEST_CASE("websocket deflate: without it enabled an offer is declined and nothing is compressed",
          "[asio][websocket][deflate]") {
    asio::io_context io;
    ws::stream<test::stream> server{test::stream{io.get_executor()}};
    server.async_accept(offer_request(deflate_on()), [&](std::error_code ec) {
        REQUIRE_FALSE(ec);
        CHECK_FALSE(server.compressing());
        server.async_write(ws::opcode::text, ticker_json(50), [](std::error_code) {});
    });
    io.run();
    const std::string wire = server.next_layer().str();
    CHECK(wire.find("Sec-WebSocket-Extensions") == std::string::npos);
    CHECK(client_reads(wire, std::nullopt) == std::vector<std::string>{ticker_json(50)});
}

TEST_CASE("websocket deflate: one compressed frame is shared by every stream that takes it",
          "[asio][websocket][deflate]") {
    asio::io_context io;
    ws::stream_options options;
    options.handshake.deflate = deflate_on();
    options.close_timeout = {};
    std::vector<std::unique_ptr<ws::stream<test::stream>>> servers;
    ws::deflate_options narrow = deflate_on();
    narrow.server_max_window_bits = 10;  // a client that asks for a small window
    const std::vector<ws::deflate_options> offers = {deflate_on(), deflate_on(), narrow, ws::deflate_options{}};
    for (const auto& offer : offers) {
        servers.push_back(std::make_unique<ws::stream<test::stream>>(test::stream{io.get_executor()}, options));
        servers.back()->async_accept(offer_request(offer), [](std::error_code ec) { REQUIRE_FALSE(ec); });
    }
    io.run();
    io.restart();
    const std::string text = ticker_json(200);
    auto compressed = std::make_shared<std::string>();
    REQUIRE(ws::compress_message(text, 15, deflate_on(), *compressed));
    char head[ws::max_header_size];
    const std::size_t head_size = ws::write_header({true, 0x4, ws::opcode::text, false, compressed->size(), {}}, head);
    auto plain_head = std::make_shared<std::string>();
    char h2[ws::max_header_size];
    plain_head->assign(h2, ws::write_header({true, 0, ws::opcode::text, false, text.size(), {}}, h2));
    std::vector<bool> took;
    for (auto& s : servers) {
        took.push_back(s->takes_compressed(15));
        if (took.back()) CHECK_FALSE(s->send_shared(compressed, {head, head_size}, *compressed));
        else CHECK_FALSE(s->send_shared(plain_head, *plain_head, text));
    }
    io.run();
    CHECK(took == std::vector<bool>{true, true, false, false});
    for (std::size_t i = 0; i < servers.size(); ++i) {
        INFO("stream " << i);
        std::optional<ws::deflate_params> agreed;
        if (offers[i].enabled) {
            agreed.emplace();
            agreed->server_no_context_takeover = agreed->client_no_context_takeover = true;
            agreed->server_max_window_bits = offers[i].server_max_window_bits;
        }
        const std::string wire = servers[i]->next_layer().str();
        CHECK(client_reads(wire, agreed) == std::vector<std::string>{text});
    }
}

TEST_CASE("websocket deflate: client and server over loopback compress both ways, with each window size",
          "[asio][websocket][deflate]") {
    for (int window : {9, 12, 15}) {
        for (bool takeover : {false, true}) {
            INFO("window " << window << " takeover " << takeover);
            asio::io_context io;
            asio::ip::tcp::acceptor acceptor{io, {asio::ip::make_address("127.0.0.1"), 0}};
            ws::stream_options server_options;
            server_options.handshake.deflate = deflate_on();
            server_options.handshake.deflate.server_no_context_takeover = !takeover;
            server_options.handshake.deflate.client_no_context_takeover = !takeover;
            server_options.handshake.deflate.client_max_window_bits = window;
            std::shared_ptr<ws::stream<asio::ip::tcp::socket>> session;
            std::vector<std::string> server_got;
            std::string server_buffer;
            std::function<void()> echo = [&] {
                session->async_read(server_buffer, [&](std::error_code ec3, ws::opcode type) {
                    if (ec3) return;
                    server_got.push_back(server_buffer);
                    session->async_write(type, server_buffer, [](std::error_code) {});  // copied into the output at once
                    echo();
                });
            };
            acceptor.async_accept([&](std::error_code ec, asio::ip::tcp::socket socket) {
                REQUIRE_FALSE(ec);
                session = std::make_shared<ws::stream<asio::ip::tcp::socket>>(std::move(socket), server_options);
                session->async_accept([&](std::error_code ec2) {
                    REQUIRE_FALSE(ec2);
                    echo();
                });
            });
            ws::stream_options client_options;
            client_options.client.deflate = deflate_on();
            client_options.client.deflate.server_no_context_takeover = false;
            client_options.client.deflate.client_no_context_takeover = false;
            client_options.client.deflate.server_max_window_bits = window;
            ws::stream<asio::ip::tcp::socket> client{asio::ip::tcp::socket{io}, random_bits(3), client_options};
            const std::vector<std::string> sent = {ticker_json(1), ticker_json(300), ticker_json(300), "", ticker_json(3000)};
            std::vector<std::string> echoed;
            std::string buffer;
            std::function<void()> read_back = [&] {
                client.async_read(buffer, [&](std::error_code ec, ws::opcode) {
                    if (ec) return;
                    echoed.push_back(buffer);
                    if (echoed.size() == sent.size()) {
                        client.async_close(1000, "", [](std::error_code) {});
                        // Read the server's answer, which ends the close handshake at once
                        // (unread, the close would wait out close_timeout).
                        return client.async_read(buffer, [](std::error_code, ws::opcode) {});
                    }
                    read_back();
                });
            };
            ws::async_connect(client, "ws://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/",
                              [&](std::error_code ec) {
                                  REQUIRE_FALSE(ec);
                                  CHECK(client.compressing());
                                  for (const auto& m : sent) client.async_write(ws::opcode::text, m, [](std::error_code) {});
                                  read_back();
                              });
            io.run_for(std::chrono::seconds(20));
            CHECK(server_got == sent);
            CHECK(echoed == sent);
            REQUIRE(session);
            CHECK(session->protocol().deflate()->params().client_max_window_bits == window);
            CHECK(session->protocol().deflate()->params().server_max_window_bits == window);
            CHECK(session->protocol().deflate()->params().server_no_context_takeover == !takeover);
        }
    }
}

TEST_CASE("websocket deflate: a client fails a 101 that answers with an extension it did not offer",
          "[asio][websocket][deflate]") {
    for (bool offered : {false, true}) {
        asio::io_context io;
        ws::stream_options options;
        if (offered) options.client.deflate = deflate_on();
        test::stream socket{io.get_executor()};
        ws::stream<test::stream> client{std::move(socket), random_bits(5), options};
        std::error_code result = asio::error::would_block;
        client.async_handshake("localhost", "/", [&](std::error_code ec) { result = ec; });
        io.poll();  // the request is written; the read for the answer waits
        // The key the client drew is in its request: answer it properly, with an
        // extension the client did not offer (offered: parameters it did not allow).
        const std::string request = client.next_layer().str();
        const auto at = request.find("Sec-WebSocket-Key: ") + 19;
        const std::string key = request.substr(at, request.find("\r\n", at) - at);
        const std::string extension = offered ? "permessage-deflate; client_max_window_bits" : "permessage-deflate";
        client.next_layer().append("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                   "Sec-WebSocket-Accept: " + ws::accept_key(key) + "\r\nSec-WebSocket-Extensions: " +
                                   extension + "\r\n\r\n");
        io.run_for(std::chrono::seconds(5));
        CHECK(result == ws::error::bad_extension);
    }
}
