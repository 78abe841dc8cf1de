// websocket::stream on a socket writes a server message with nothing queued before
// it at once, without the connection's output (impl/websocket_write_op.hpp,
// write_message): up to 1 KiB laid out with its header on the stack for one send, a
// larger one from the caller's bytes. What the kernel leaves is queued, in order;
// nothing is written after a write failed.
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

TEST_CASE("websocket stream on a socket: after a write cut short nothing more reaches the wire, a small message "
          "included",
          "[asio][websocket]") {
    // A cancelled write leaves part of its frame out; a frame written after it would
    // be read as that frame's payload. async_write does not refuse up front as
    // send() does, so the direct path must not write either.
    asio::io_context io;
    socket_pair pair(io);
    pair.bound_buffers(64 * 1024);
    ws::stream_options options;
    options.max_queued_bytes = 8 << 20;
    ws::stream<asio::ip::tcp::socket> stream(std::move(pair.server), options);
    std::error_code first = asio::error::would_block, second = asio::error::would_block;
    stream.async_write(ws::opcode::binary, std::string(1 << 20, 'x'), [&](std::error_code ec) { first = ec; });
    io.poll();
    REQUIRE(first == asio::error::would_block);  // the client reads nothing: it waits for the kernel
    stream.next_layer().cancel();
    io.restart();
    io.run_for(std::chrono::seconds(5));
    REQUIRE(first == asio::error::operation_aborted);
    // The client takes what the kernel holds, so that it has room for more.
    pair.client.non_blocking(true);
    std::string received;
    const auto drain = [&] {
        for (int quiet = 0; quiet < 20;) {
            char buf[65536];
            std::error_code ec;
            const std::size_t n = pair.client.read_some(asio::buffer(buf), ec);
            if (n) {
                received.append(buf, n);
                quiet = 0;
            } else {
                ++quiet;
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
        }
    };
    drain();
    stream.async_write(ws::opcode::text, "hi", [&](std::error_code ec) { second = ec; });
    io.restart();
    io.run_for(std::chrono::seconds(5));
    CHECK(second == asio::error::operation_aborted);  // the stream's write error
    drain();
    // Everything the client got is the cut frame: its payload's 'x', never "hi".
    REQUIRE(received.size() > 10);
    CHECK(received.size() < 10 + (1 << 20));
    CHECK(received.find("hi") == std::string::npos);
    CHECK(received.substr(10).find_first_not_of('x') == std::string::npos);
}
