// The hub's WebSocket transport with permessage-deflate: a message compressed once
// and the same bytes sent to every subscriber that agreed, whatever their number.
#include "hub_server.hpp"

#include <herald/asio/hub.hpp>
#include <herald/asio/websocket_connect.hpp>

#include <catch2/catch.hpp>

#include <random>
#include <thread>

using namespace herald;
namespace ws = herald::websocket;
using testing::hub_server;

namespace {

hub::route_options deflating(bool share) {
    hub::route_options o;
    o.websocket.handshake.deflate.enabled = true;
    o.compress_topic = [](std::string_view topic) { return topic == "ticker"; };
    o.share_compressed = share;
    return o;
}

// A subscriber on its own io_context that offers `offer` (enabled or not).
struct subscriber {
    subscriber(unsigned short port, const std::string& topic, const ws::deflate_options& offer)
        : ws(asio::ip::tcp::socket{io}, [gen = std::mt19937(1)]() mutable { return static_cast<std::uint32_t>(gen()); },
             options(offer)) {
        std::error_code result = asio::error::would_block;
        ws::async_connect(ws, "ws://127.0.0.1:" + std::to_string(port) + "/api/ws?topic=" + topic,
                          [&](std::error_code ec) { result = ec; });
        io.run_for(std::chrono::seconds(5));
        io.restart();
        REQUIRE_FALSE(result);
        CHECK(next().rfind(R"({"type":"ready")", 0) == 0);
    }
    static ws::stream_options options(const ws::deflate_options& offer) {
        ws::stream_options o;
        o.client.deflate = offer;
        return o;
    }
    std::string next() {
        std::string out;
        std::error_code result = asio::error::would_block;
        ws.async_read(out, [&](std::error_code ec, ws::opcode) { result = ec; });
        io.run_for(std::chrono::seconds(5));
        io.restart();
        REQUIRE_FALSE(result);
        return out;
    }
    std::uint64_t bytes_read() const { return bytes; }
    asio::io_context io;
    ws::stream<asio::ip::tcp::socket> ws;
    std::uint64_t bytes = 0;
};

// A ticker line repeated: compressible, and nothing in it JSON escapes.
std::string quote(int i) {
    std::string out;
    for (int k = 0; k < 60; ++k) out += "HRLD price " + std::to_string(100 + (i + k) % 13) + " volume " + std::to_string(k * 31) + "; ";
    return out;
}

}  // namespace

TEST_CASE("hub deflate: each message is compressed once for every subscriber that agreed, and all read it",
          "[asio][hub][deflate]") {
    for (bool share : {true, false}) {
        INFO("share_compressed " << share);
        hub_server server({}, deflating(share));
        const auto port = server.endpoint().port();
        ws::deflate_options on;
        on.enabled = true;
        ws::deflate_options narrow = on;
        narrow.server_max_window_bits = 10;  // takes no shared frame of the server's window of 15
        std::vector<std::unique_ptr<subscriber>> subs;
        for (int i = 0; i < 5; ++i) subs.push_back(std::make_unique<subscriber>(port, "ticker", on));
        subs.push_back(std::make_unique<subscriber>(port, "ticker", narrow));
        subs.push_back(std::make_unique<subscriber>(port, "ticker", ws::deflate_options{}));
        subscriber other(port, "secrets", on);  // a topic not opted in
        CHECK(subs[0]->ws.compressing());
        CHECK_FALSE(subs.back()->ws.compressing());
        const int messages = 20;
        for (int i = 0; i < messages; ++i) {
            REQUIRE(server.publish(quote(i), "ticker").rfind("200 ", 0) == 0);
            REQUIRE(server.publish(quote(i), "secrets").rfind("200 ", 0) == 0);
        }
        for (auto& s : subs) {
            for (int i = 0; i < messages; ++i) {
                const std::string m = s->next();
                CHECK(m.find(R"("id":"ep-)" + std::to_string(i + 1) + R"(","topic":"ticker","data":")" + quote(i) + R"("})") !=
                      std::string::npos);
            }
        }
        for (int i = 0; i < messages; ++i) CHECK(other.next().find(quote(i)) != std::string::npos);
        const auto stats = server.hub.stats();
        // What the deliveries put on the wire: with the frame shared, five
        // subscribers' copies are compressed; unshared, the hub hands the plain JSON
        // to streams that compress it each.
        const std::size_t json_size = quote(0).size() + 50;
        if (share) CHECK(stats.bytes_out < messages * 5 * json_size);  // eight plain copies: 8 * json_size each
        // Shared: the compressor ran once per message of the opted-in topic, not once
        // per subscriber (5 take the shared frame); per subscriber: the hub never did.
        CHECK(stats.deflated == (share ? messages : 0));
    }
}
