// examples/websocket_echo_server: what an idle WebSocket connection keeps once a
// large message went through it (issue 13: no buffer kept while idle). The
// stream reads through the thread's receive buffer and frees a message's and an
// echo's buffers after use; before that, each such connection kept over 200 KiB.
#include "../support/process.hpp"
#include "../support/sanitized.hpp"

#include <herald/asio/websocket.hpp>

#include <asio/ip/tcp.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

using namespace herald;
namespace ws = herald::websocket;
using test_support::child_server;

TEST_CASE("websocket_echo_server: a connection idle after a 64 KiB echo keeps a few KiB, not the message",
          "[examples][websocket][memory]") {
#ifdef HERALD_TEST_SANITIZED
    SUCCEED("skipped under a sanitizer: resident memory is the sanitizer's there");
#else
    child_server server{HERALD_WEBSOCKET_ECHO_SERVER, {}};
    asio::io_context io;
    using client = ws::stream<asio::ip::tcp::socket>;
    const std::string message(64 * 1024, 'm');
    // Opens `count` connections one after the other, each echoing one message, and
    // leaves them open: the server frees what it does not keep before the next
    // one comes, so its memory grows by what each keeps, not by a peak.
    const auto open = [&](std::vector<std::unique_ptr<client>>& clients, int count) {
        int echoed = 0;
        for (int i = 0; i < count; ++i) {
            auto& c = *clients.emplace_back(std::make_unique<client>(asio::ip::tcp::socket{io}, [] { return 7u; }));
            c.next_layer().connect(server.endpoint());
            std::string echo;
            bool done = false;
            c.async_handshake("127.0.0.1", "/", [&](std::error_code ec) {
                if (ec) return void(done = true);
                c.async_write(ws::opcode::binary, message, [](std::error_code) {});
                c.async_read(echo, [&](std::error_code read, ws::opcode) {
                    echoed += !read && echo == message;
                    done = true;
                });
            });
            io.restart();  // run_for() stopped it when it last ran out of work
            for (int step = 0; step < 100 && !done; ++step) io.run_for(std::chrono::milliseconds(50));
        }
        return echoed;
    };
    std::vector<std::unique_ptr<client>> clients;
    REQUIRE(open(clients, 1) == 1);  // what the server allocates once is in the baseline
    const long before = server.resident_kib();
    constexpr int count = 1000;
    REQUIRE(open(clients, count) == count);
    const long after = server.resident_kib();
    const long per_connection = (after - before) * 1024 / count;
    INFO("server VmRSS per idle connection after a 64 KiB echo: " << per_connection << " B");
    CHECK(per_connection < 8 * 1024);
#endif
}
