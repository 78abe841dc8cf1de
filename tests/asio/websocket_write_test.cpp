// websocket::stream on a socket tries each write at once (impl/websocket_write_op.hpp):
// a frame the kernel takes whole is done with no operation left to run; one it
// takes only partly goes on from where the kernel stopped, and what was queued
// after it follows in order. Messages written at once without the connection's
// output: websocket_direct_write_test.cpp.
#include "../support/allocations.hpp"
#include "../support/websocket_wire.hpp"
#include "socket_pair.hpp"
#include "support.hpp"

#include <herald/asio/websocket.hpp>
#include <herald/websocket/connection.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

using namespace herald;
namespace ws = herald::websocket;

using testing::pattern;
using testing::read_messages;
using testing::socket_pair;

TEST_CASE("websocket stream on a socket: a frame the kernel takes whole leaves no operation to run", "[asio][websocket]") {
    asio::io_context io;
    socket_pair pair(io);
    ws::stream<asio::ip::tcp::socket> stream(std::move(pair.server));
    REQUIRE_FALSE(stream.send(ws::opcode::text, "at once"));
    // Written inside send(): nothing is pending on the io_context (an async_write
    // would have left its completion to run), and the bytes are already there.
    CHECK(io.poll() == 0);
    CHECK(read_messages(pair.client, 1) == std::vector<std::string>{"at once"});

    // async_write too: its frame is written in the call, its completion is posted.
    bool done = false;
    stream.async_write(ws::opcode::binary, "also", [&](std::error_code ec) {
        CHECK_FALSE(ec);
        done = true;
    });
    CHECK_FALSE(done);  // never inside the call
    CHECK(read_messages(pair.client, 1) == std::vector<std::string>{"also"});
    io.restart();  // the first poll() found no work and stopped it
    CHECK(io.poll() == 1);
    CHECK(done);
}

TEST_CASE("websocket stream on a socket: a write the kernel takes only partly goes on where it stopped, in order",
          "[asio][websocket]") {
    asio::io_context io;
    socket_pair pair(io);
    // Bounded kernel buffers: the first large frame fills them and the client does
    // not read yet, so the write at once takes only part of it. (Not much smaller:
    // with 4 KiB windows delayed acknowledgements make the transfer take seconds.)
    pair.bound_buffers(64 * 1024);
    ws::stream_options options;
    options.max_queued_bytes = 8 << 20;
    ws::stream<asio::ip::tcp::socket> stream(std::move(pair.server), options);

    const std::vector<std::string> sent = {pattern(1 << 20, 1), "small, sent while the first waits", pattern(300000, 2),
                                           pattern(70000, 3)};
    std::vector<int> completed;
    stream.async_write(ws::opcode::binary, sent[0], [&](std::error_code ec) {
        CHECK_FALSE(ec);
        completed.push_back(0);
    });
    REQUIRE_FALSE(stream.send(ws::opcode::text, sent[1]));
    stream.async_write(ws::opcode::binary, sent[2], [&](std::error_code ec) {
        CHECK_FALSE(ec);
        completed.push_back(2);
    });
    REQUIRE_FALSE(stream.send(ws::opcode::binary, sent[3]));
    // The client has not read: the kernel cannot have taken the first megabyte.
    io.poll();
    CHECK(completed.empty());

    std::vector<std::string> received;
    std::thread reader([&] { received = read_messages(pair.client, sent.size()); });
    while (completed.size() < 2) io.run_one();
    reader.join();
    CHECK(completed == std::vector<int>{0, 2});
    REQUIRE(received.size() == sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i) {
        INFO("message " << i);
        CHECK(received[i].size() == sent[i].size());
        CHECK(received[i] == sent[i]);
    }
}

TEST_CASE("websocket stream on a socket: nothing follows a close, a large message included", "[asio][websocket]") {
    asio::io_context io;
    socket_pair pair(io);
    ws::stream<asio::ip::tcp::socket> stream(std::move(pair.server));
    stream.async_close(1000, "", [](std::error_code) {});
    std::error_code sent;
    stream.async_write(ws::opcode::binary, pattern(4096, 5), [&](std::error_code ec) { sent = ec; });
    io.run_for(std::chrono::milliseconds(200));
    CHECK(sent == ws::error::closed);
    CHECK(pair.client.available() == 4);  // the close frame alone (RFC 6455 §5.5.1): 88 02 03 e8
}

TEST_CASE("websocket stream on a socket: small frames that find the kernel's buffer full wait in order, each intact",
          "[asio][websocket]") {
    // The first frame the kernel refuses is laid out in the thread's flight and then
    // waits in the stream's own. A frame that short lies inside its string (no heap
    // block), so moving the string would leave the write pointing at bytes no longer
    // there: the flights change hands, not places.
    asio::io_context io;
    socket_pair pair(io);
    const std::size_t filler = pair.fill_from_server();
    ws::stream<asio::ip::tcp::socket> stream(std::move(pair.server));
    constexpr std::size_t count = 20000;  // 9-byte frames
    auto numbered = [](std::size_t i) {
        std::string s = std::to_string(i);
        return std::string(7 - s.size(), '0') + s;
    };
    for (std::size_t i = 0; i < count; ++i) REQUIRE_FALSE(stream.send(ws::opcode::text, numbered(i)));
    CHECK_FALSE(stream.protocol().output().empty());  // they wait for the kernel to take more
    std::vector<std::string> received;
    std::thread reader([&] {
        pair.skip_filler(filler);
        received = read_messages(pair.client, count);
    });
    io.run_for(std::chrono::seconds(20));  // ends once the queue is written: nothing is left to run
    stream.next_layer().shutdown(asio::socket_base::shutdown_send);  // a reader still waiting fails, not hangs
    reader.join();
    REQUIRE(received.size() == count);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < count; ++i) wrong += received[i] != numbered(i);
    CHECK(wrong == 0);
}

TEST_CASE("websocket stream on a socket: a stream made and written at once allocates nothing for later writes",
          "[asio][websocket]") {
    // What a stream shares with its own handlers (the flight of a write the kernel
    // did not take whole, whether the stream is still there) is made on first need:
    // an idle connection that never needed it keeps none ("Memory per idle
    // connection", docs/benchmarks.md).
    asio::io_context io;
    socket_pair first(io), pair(io);
    {
        // The thread's flight, where every stream of the thread lays out its writes,
        // is made by the first write on the thread.
        ws::stream<asio::ip::tcp::socket> warm(std::move(first.server));
        REQUIRE_FALSE(warm.send(ws::opcode::text, "first"));
    }
    std::size_t made = 0, sent = 0;
    std::error_code refused;
    {
        test_support::allocation_counter allocations;
        ws::stream<asio::ip::tcp::socket> stream(std::move(pair.server));
        made = allocations.count();
        refused = stream.send(ws::opcode::text, "at once");  // a frame short enough for no buffer
        sent = allocations.count() - made;
    }
    REQUIRE_FALSE(refused);
    INFO("allocations: " << made << " to make the stream, " << sent << " to send");
    if constexpr (test_support::counts_allocations) {
        CHECK(made == 1);  // the handshake's state, let go of when it ends
        CHECK(sent == 0);
    }
    CHECK(read_messages(pair.client, 1) == std::vector<std::string>{"at once"});
}

TEST_CASE("websocket stream on a socket: one stream's write waits while another's goes out at once, and a stream "
          "destroyed mid-write leaves nothing that runs on it",
          "[asio][websocket]") {
    asio::io_context io;
    socket_pair slow(io), quick(io);
    slow.bound_buffers(16 * 1024);
    auto stalled = std::make_unique<ws::stream<asio::ip::tcp::socket>>(std::move(slow.server));
    const std::string large = pattern(1 << 20, 6);
    REQUIRE_FALSE(stalled->send(ws::opcode::binary, large));  // its client does not read: most of it waits
    REQUIRE_FALSE(stalled->send(ws::opcode::text, "behind it"));
    ws::stream<asio::ip::tcp::socket> other(std::move(quick.server));
    REQUIRE_FALSE(other.send(ws::opcode::text, "at once"));
    CHECK(read_messages(quick.client, 1) == std::vector<std::string>{"at once"});
    stalled.reset();  // with its write under way: the write's handler must not touch it
    io.run_for(std::chrono::seconds(5));  // ends as soon as the aborted write's handler ran
    REQUIRE_FALSE(other.send(ws::opcode::text, "and again"));
    CHECK(read_messages(quick.client, 1) == std::vector<std::string>{"and again"});
}

TEST_CASE("websocket stream on a socket: a shared frame's owner let go of after its write may send on another stream",
          "[asio][websocket]") {
    // The owner's destructor runs inside the first stream's flush, while the
    // thread's flight is in use: the second stream's write must not lay out its
    // frame in that same flight.
    asio::io_context io;
    socket_pair first(io), second(io);
    ws::stream<asio::ip::tcp::socket> a(std::move(first.server)), b(std::move(second.server));
    const std::string body = "shared";
    char head[ws::max_header_size];
    const std::size_t h = a.protocol().frame_header_for(ws::opcode::text, body.size(), head);
    bool sent_from_owner = false;
    std::shared_ptr<const void> owner(new int(0), [&](const int* p) {
        delete p;
        // On the other stream, and on this one: that waits until the flush is done.
        sent_from_owner = !b.send(ws::opcode::text, "from the owner") && !a.send(ws::opcode::text, "next, from the owner");
    });
    REQUIRE_FALSE(a.send_shared(std::move(owner), std::string_view(head, h), body));
    CHECK(sent_from_owner);
    REQUIRE_FALSE(a.send(ws::opcode::text, "after"));
    CHECK(read_messages(first.client, 3) == std::vector<std::string>{"shared", "next, from the owner", "after"});
    CHECK(read_messages(second.client, 1) == std::vector<std::string>{"from the owner"});
}

TEST_CASE("websocket stream on a socket: a shared frame's owner let go of after a write that waited may send on the "
          "same stream",
          "[asio][websocket]") {
    // Let go of when the async write completes: the stream's state is settled
    // first, and what the owner sends is written after.
    asio::io_context io;
    socket_pair pair(io);
    const std::size_t filler = pair.fill_from_server();
    ws::stream<asio::ip::tcp::socket> a(std::move(pair.server));
    const std::string body = pattern(3000, 8);
    char head[ws::max_header_size];
    const std::size_t h = a.protocol().frame_header_for(ws::opcode::binary, body.size(), head);
    int sent_from_owner = 0;
    std::shared_ptr<const void> owner(new int(0), [&](const int* p) {
        delete p;
        sent_from_owner = a.send(ws::opcode::text, "from the owner") ? -1 : 1;
    });
    REQUIRE_FALSE(a.send_shared(std::move(owner), std::string_view(head, h), body));
    CHECK(sent_from_owner == 0);  // the kernel is full: the frame waits, and its owner with it
    std::vector<std::string> received;
    std::thread reader([&] {
        pair.skip_filler(filler);
        received = read_messages(pair.client, 2);
    });
    io.run_for(std::chrono::seconds(10));  // ends once both are written
    a.next_layer().shutdown(asio::socket_base::shutdown_send);  // a reader still waiting fails, not hangs
    reader.join();
    CHECK(sent_from_owner == 1);
    CHECK(received == std::vector<std::string>{body, "from the owner"});
}

TEST_CASE("websocket stream on a socket: 64 KiB echoes allocate no message buffer once the thread has two spare",
          "[asio][websocket]") {
    // Each echo holds two large buffers (the message received, the caller's copy);
    // let go of after it (free_if_large), they are the thread's for the next one,
    // so the heap is neither trimmed nor grown per message (herald/buffer.hpp). The
    // client reads the echoes raw: a WebSocket connection of its own on this thread
    // would take a spare too. async_read_each makes no copy, and a message that ends
    // its read is echoed from the connection's bytes, not copied into the output.
    const bool each = GENERATE(false, true);
    INFO((each ? "async_read_each" : "async_read"));
    asio::io_context io;
    socket_pair pair(io);
    pair.server.set_option(asio::socket_base::send_buffer_size(1 << 20));  // each echo written at once
    pair.client.set_option(asio::socket_base::receive_buffer_size(1 << 20));
    ws::stream<asio::ip::tcp::socket> server(std::move(pair.server));
    ws::connection client(ws::role::client, {}, test::rng(9));
    const std::string payload = pattern(64 * 1024, 7);
    const std::string echo = std::string("\x82\x7f\0\0\0\0\0\x01\0\0", 10) + payload;  // 64-bit length form
    std::string message, received(echo.size(), '\0');
    std::size_t allocated_bytes = 0;
    for (int i = 0; i < 12; ++i) {
        REQUIRE_FALSE(client.write_message(ws::opcode::binary, payload));
        asio::write(pair.client, asio::buffer(test::take(client)));
        {
            test_support::allocation_counter allocations;
            bool read = false;
            if (each) {
                server.async_read_each(
                    [&](ws::opcode type, std::string_view m) {
                        REQUIRE_FALSE(server.send(type, m));
                        return false;  // one message a turn
                    },
                    [&](std::error_code ec) {
                        REQUIRE_FALSE(ec);
                        read = true;
                    });
            } else {
                server.async_read(message, [&](std::error_code ec, ws::opcode) {
                    REQUIRE_FALSE(ec);
                    REQUIRE_FALSE(server.send(ws::opcode::binary, message));
                    free_if_large(message);  // as an echo session does: no large buffer kept while idle
                    read = true;
                });
            }
            io.restart();  // the last echo left the io_context out of work
            while (!read && io.run_one() != 0) {
            }
            REQUIRE(read);
            io.poll();  // what is left to run (an uncork) before the client blocks
            if (i >= 2) allocated_bytes += allocations.bytes();  // after two echoes made the spares
        }
        asio::read(pair.client, asio::buffer(received));
        REQUIRE(received == echo);
    }
    INFO("allocated " << allocated_bytes << " B in 10 echoes of 64 KiB");
    // 1.3 MiB before. What each may still allocate is the first read's 16 KiB: a
    // spare goes only to a string with at least half its size in hand.
    if constexpr (test_support::counts_allocations) CHECK(allocated_bytes < 10 * 20 * 1024);
}
