// websocket::stream on a socket writes a server message with nothing queued before
// it at once, without the connection's output (impl/websocket_write_op.hpp,
// write_message): up to 1 KiB laid out with its header on the stack for one send, a
// larger one from the caller's bytes. What the kernel leaves is queued, in order.
#include "../support/allocations.hpp"
#include "socket_pair.hpp"

#include <herald/asio/websocket.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace herald;
namespace ws = herald::websocket;
using testing::pattern;
using testing::read_messages;
using testing::socket_pair;

TEST_CASE("websocket stream on a socket: a large server message is written from the caller's bytes, not copied",
          "[asio][websocket]") {
    asio::io_context io;
    socket_pair pair(io);
    ws::stream<asio::ip::tcp::socket> stream(std::move(pair.server));
    const std::string payload = pattern(64 * 1024, 4);
    std::size_t allocated = 0;
    {
        test_support::allocation_counter allocations;
        REQUIRE_FALSE(stream.send(ws::opcode::binary, payload));
        allocated = allocations.bytes();
    }
    INFO("allocated " << allocated << " B");
    if constexpr (test_support::counts_allocations) CHECK(allocated < 1024);  // no copy of the 64 KiB
    CHECK(read_messages(pair.client, 1) == std::vector<std::string>{payload});
    CHECK(io.poll() == 0);  // and nothing left to write
}

TEST_CASE("websocket stream on a socket: a small message with nothing queued before it goes out from the stack, "
          "allocating nothing even as the thread's first write",
          "[asio][websocket]") {
    // Up to kept_buffer_capacity the header and payload are laid out together on
    // the stack and given to one send: no connection output grows to hold them and
    // no thread flight is made (impl/websocket_write_op.hpp, write_message).
    asio::io_context io;
    socket_pair pair(io);
    ws::stream<asio::ip::tcp::socket> stream(std::move(pair.server));
    const std::string payload = pattern(kept_buffer_capacity, 5);
    std::size_t allocated = 0;
    std::error_code refused;
    std::thread fresh([&] {  // no thread_local of herald's made yet
        test_support::allocation_counter allocations;
        refused = stream.send(ws::opcode::binary, payload);
        allocated = allocations.count();
    });
    fresh.join();
    REQUIRE_FALSE(refused);
    if constexpr (test_support::counts_allocations) CHECK(allocated == 0);
    CHECK(stream.protocol().output().empty());
    CHECK(read_messages(pair.client, 1) == std::vector<std::string>{payload});
    CHECK(io.poll() == 0);  // nothing left to write
}

TEST_CASE("websocket stream on a socket: small messages past what the kernel takes, the one it takes in part "
          "included, arrive whole and in order",
          "[asio][websocket]") {
    // 1,000-byte messages into bounded buffers the client does not read yet: the
    // first that does not fit is cut where the kernel stopped (or refused whole),
    // its rest queued from the stack's copy, and every later one queues behind it.
    asio::io_context io;
    socket_pair pair(io);
    pair.bound_buffers(16 * 1024);
    ws::stream<asio::ip::tcp::socket> stream(std::move(pair.server));
    std::vector<std::string> sent;
    for (unsigned i = 0; i < 400; ++i) {
        sent.push_back(pattern(1000, 100 + i));
        REQUIRE_FALSE(stream.send(ws::opcode::binary, sent.back()));
    }
    std::vector<std::string> received;
    std::thread reader([&] { received = read_messages(pair.client, sent.size()); });
    io.run_for(std::chrono::seconds(20));  // ends once the queue is written
    stream.next_layer().shutdown(asio::socket_base::shutdown_send);  // a reader still waiting fails, not hangs
    reader.join();
    REQUIRE(received.size() == sent.size());
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < sent.size(); ++i) wrong += received[i] != sent[i];
    CHECK(wrong == 0);
}
