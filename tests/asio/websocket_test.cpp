// The WebSocket stream over herald's in-memory test stream, with a client made of
// the sans-I/O core on the other side.
#include "support.hpp"

#include <herald/asio/websocket.hpp>
#include <herald/asio/websocket_connect.hpp>
#include <herald/http/serializer.hpp>
#include <herald/memory_budget.hpp>
#include <herald/test/stream.hpp>

#include <asio/bind_executor.hpp>
#include <asio/co_spawn.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/strand.hpp>
#include <asio/use_future.hpp>

#include <catch2/catch.hpp>

#include <future>
#include <random>
#include <thread>

using namespace herald;
namespace ws = herald::websocket;
using testing::after;

namespace {

http::request upgrade() {
    return ws::upgrade_request("localhost", "/", "dGhlIHNhbXBsZSBub25jZQ==");
}

struct peer {
    ws::connection core{ws::role::client, {}, [gen = std::mt19937(9)]() mutable { return static_cast<std::uint32_t>(gen()); }};

    // What the client core makes of everything the server wrote after its 101.
    std::vector<std::pair<ws::event_type, std::string>> read(const std::string& wire) {
        std::vector<std::pair<ws::event_type, std::string>> out;
        std::string_view input{wire};
        input.remove_prefix(wire.find("\r\n\r\n") + 4);
        for (auto ev = core.next(input); ev != ws::event_type::need_more; ev = core.next(input))
            out.emplace_back(ev, std::string(core.data()));
        return out;
    }
};

// A server stream on a test stream whose output bound is 1000 bytes, and whose
// close waits for no answer (the test's peer never sends one, and io.run() then
// returns without waiting on a close timer).
struct bounded_server {
    static ws::stream_options options() {
        ws::stream_options o;
        o.max_queued_bytes = 1000;
        o.close_timeout = {};
        return o;
    }
    asio::io_context io;
    ws::stream<test::stream> ws{test::stream{io.get_executor()}, options()};

    // The payloads of the messages the peer read, then "close <code>".
    std::vector<std::string> received() {
        peer client;
        std::vector<std::string> out;
        for (const auto& [type, data] : client.read(ws.next_layer().str()))
            out.push_back(type == ws::event_type::close ? "close " + std::to_string(client.core.close_code()) : data);
        return out;
    }
};

}  // namespace

TEST_CASE("websocket stream: accept then echo messages then close", "[asio][websocket]") {
    asio::io_context io;
    peer client;
    REQUIRE_FALSE(client.core.write_message(ws::opcode::text, "hello"));
    REQUIRE_FALSE(client.core.write_ping("p"));
    REQUIRE_FALSE(client.core.write_message(ws::opcode::binary, std::string(70000, '\x02')));
    REQUIRE_FALSE(client.core.write_close(1000, "done"));
    test::stream socket{io.get_executor(), client.core.output()};
    ws::stream<test::stream> server{std::move(socket)};
    std::error_code accepted = asio::error::would_block, ended = asio::error::would_block;
    std::vector<std::string> echoed;
    std::string buffer;
    std::function<void()> read_one = [&] {
        server.async_read(buffer, [&](std::error_code ec, ws::opcode type) {
            if (ec) {
                ended = ec;
                return;
            }
            echoed.push_back(buffer);
            auto copy = std::make_shared<std::string>(buffer);
            server.async_write(type, *copy, [copy](std::error_code) {});
            read_one();
        });
    };
    server.async_accept(upgrade(), [&](std::error_code ec) {
        accepted = ec;
        if (!ec) read_one();
    });
    io.run();
    CHECK_FALSE(accepted);
    CHECK(ended == ws::error::closed);
    REQUIRE(echoed.size() == 2);
    const std::string wire = server.next_layer().str();
    CHECK(wire.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0) == 0);
    CHECK(wire.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") != std::string::npos);
    const auto events = client.read(wire);
    REQUIRE(events.size() == 4);
    CHECK(events[0] == std::pair(ws::event_type::message, std::string("hello")));
    CHECK(events[1] == std::pair(ws::event_type::pong, std::string("p")));
    CHECK(events[2].second.size() == 70000);
    CHECK(events[3].first == ws::event_type::close);
    CHECK(client.core.close_code() == 1000);
}

TEST_CASE("websocket stream: a refused upgrade is answered and closed", "[asio][websocket]") {
    asio::io_context io;
    test::stream socket{io.get_executor()};
    ws::stream<test::stream> server{std::move(socket)};
    auto req = upgrade();
    req.fields.set("Sec-WebSocket-Version", "8");
    std::error_code result;
    server.async_accept(req, [&](std::error_code ec) { result = ec; });
    io.run();
    CHECK(result == ws::error::bad_version);
    const std::string wire = server.next_layer().str();
    CHECK(wire.rfind("HTTP/1.1 426", 0) == 0);
    CHECK(wire.find("Sec-WebSocket-Version: 13\r\n") != std::string::npos);
}

TEST_CASE("websocket stream: a protocol error is answered with its close code", "[asio][websocket]") {
    asio::io_context io;
    std::string unmasked = "\x81\x02hi";  // a client frame must be masked
    test::stream socket{io.get_executor(), unmasked};
    ws::stream<test::stream> server{std::move(socket)};
    std::error_code result;
    std::string buffer;
    server.async_accept(upgrade(), [&](std::error_code) {
        server.async_read(buffer, [&](std::error_code ec, ws::opcode) { result = ec; });
    });
    io.run();
    CHECK(result == ws::error::bad_masking);
    peer client;
    const auto events = client.read(server.next_layer().str());
    REQUIRE(events.size() == 1);
    CHECK(events[0].first == ws::event_type::close);
    CHECK(client.core.close_code() == 1002);
}

TEST_CASE("websocket stream: writes issued together go out in order and a full queue pushes back", "[asio][websocket]") {
    bounded_server t;
    auto& server = t.ws;
    std::vector<std::error_code> results;
    const std::string big(2000, 'z');
    server.async_accept(upgrade(), [&](std::error_code) {
        for (int i = 0; i < 3; ++i)
            server.async_write(ws::opcode::text, std::to_string(i), [&](std::error_code ec) { results.push_back(ec); });
        server.async_write(ws::opcode::text, big, [&](std::error_code ec) { results.push_back(ec); });
        server.async_write(ws::opcode::text, "after the big one", [&](std::error_code ec) { results.push_back(ec); });
        // A full queue does not stop a close: closing is how a writer answers one.
        server.async_close(1008, "too slow", [&](std::error_code ec) { results.push_back(ec); });
    });
    t.io.run();
    REQUIRE(results.size() == 6);
    int refused = 0;
    for (auto& ec : results) refused += ec == ws::error::send_queue_full;
    CHECK(refused == 1);  // the frame queued behind 2 KB of pending output
    CHECK_FALSE(results.back());
    CHECK(t.received() == std::vector<std::string>{"0", "1", "2", big, "close 1008"});
}

TEST_CASE("websocket stream: heartbeats ping an idle peer and close a silent one", "[asio][websocket]") {
    asio::io_context io;
    test::stream socket{io.get_executor()};
    ws::stream<test::stream> server{std::move(socket)};
    std::error_code read_result;
    std::string buffer;
    server.async_accept(upgrade(), [&](std::error_code) {
        server.start_heartbeat({std::chrono::milliseconds(5), std::chrono::milliseconds(20), std::chrono::milliseconds(20)});
        server.async_read(buffer, [&](std::error_code ec, ws::opcode) { read_result = ec; });
    });
    io.run_for(std::chrono::seconds(5));  // ends once the silent peer is declared dead
    CHECK(read_result);  // the transport was closed under the pending read
    peer client;
    const auto events = client.read(server.next_layer().str());
    REQUIRE(events.size() >= 2);  // keep-alive pings, then the probe
    for (const auto& [type, data] : events) CHECK(type == ws::event_type::ping);
}

TEST_CASE("websocket stream: traffic from the peer keeps a heartbeat stream open", "[asio][websocket]") {
    asio::io_context io;
    test::stream socket{io.get_executor()};
    ws::stream<test::stream> server{std::move(socket)};
    peer client;
    int messages = 0;
    std::error_code read_result;
    std::string buffer;
    std::function<void()> read = [&] {
        server.async_read(buffer, [&](std::error_code ec, ws::opcode) {
            if (ec) {
                read_result = ec;
                return;
            }
            ++messages;
            read();
        });
    };
    server.async_accept(upgrade(), [&](std::error_code) {
        // A 200 ms idle limit against a message every 10 ms: wide enough for a loaded
        // sanitizer run, and no probe may be sent.
        server.start_heartbeat({std::chrono::milliseconds(0), std::chrono::milliseconds(200), std::chrono::milliseconds(200)});
        read();
    });
    for (int i = 1; i <= 10; ++i)
        after(io, 10 * i, [&] {
            REQUIRE_FALSE(client.core.write_message(ws::opcode::text, "tick"));
            server.next_layer().append(client.core.output());
            client.core.consume_output(client.core.output().size());
        });
    after(io, 115, [&] { server.next_layer().close_remote(); });
    io.run();
    CHECK(messages == 10);
    CHECK(read_result == asio::error::eof);
    CHECK(server.next_layer().str().find("\x89") == std::string::npos);  // no probe was needed
}

TEST_CASE("websocket stream: use_awaitable and use_future work as callbacks do", "[asio][websocket]") {
    SECTION("use_awaitable") {
        asio::io_context io;
        peer client;
        REQUIRE_FALSE(client.core.write_message(ws::opcode::text, "from a coroutine"));
        test::stream socket{io.get_executor(), client.core.output()};
        ws::stream<test::stream> server{std::move(socket)};
        std::string echoed;
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                co_await server.async_accept(upgrade(), asio::use_awaitable);
                std::string buffer;
                const ws::opcode type = co_await server.async_read(buffer, asio::use_awaitable);
                co_await server.async_write(type, buffer, asio::use_awaitable);
                echoed = buffer;
            },
            asio::detached);
        io.run();
        CHECK(echoed == "from a coroutine");
        const auto events = client.read(server.next_layer().str());
        REQUIRE(events.size() == 1);
        CHECK(events[0].second == "from a coroutine");
    }
    SECTION("use_future") {
        asio::io_context io;
        auto work = asio::make_work_guard(io);
        std::thread runner([&] { io.run(); });
        test::stream socket{io.get_executor()};
        ws::stream<test::stream> server{std::move(socket)};
        // Operations start on the stream's executor (the io thread runs it): the
        // futures are made there, and waited for here.
        auto accept = asio::post(io, asio::use_future([&] { return server.async_accept(upgrade(), asio::use_future); })).get();
        CHECK_NOTHROW(accept.get());
        auto write = asio::post(io, asio::use_future([&] {
                         return server.async_write(ws::opcode::binary, "via a future", asio::use_future);
                     })).get();
        CHECK_NOTHROW(write.get());
        work.reset();
        io.stop();
        runner.join();
        peer client;
        const auto events = client.read(server.next_layer().str());
        REQUIRE(events.size() == 1);
        CHECK(events[0].second == "via a future");
    }
}

TEST_CASE("websocket stream: accept reads the upgrade request from a bare stream", "[asio][websocket]") {
    asio::io_context io;
    peer client;
    std::string wire;
    REQUIRE_FALSE(http::serialize_head(upgrade(), wire));
    REQUIRE_FALSE(client.core.write_message(ws::opcode::text, "behind the request"));
    wire += client.core.output();  // the first frame arrives in the same read as the request
    ws::stream<test::stream> server{test::stream{io.get_executor(), wire}};
    server.next_layer().read_size(7);  // and in small pieces
    std::error_code accepted = asio::error::would_block, read = asio::error::would_block;
    std::vector<char> message;
    server.async_accept([&](std::error_code ec) {
        accepted = ec;
        if (ec) return;
        server.async_read(asio::dynamic_buffer(message), [&](std::error_code ec2, ws::opcode type) {
            read = ec2;
            CHECK(type == ws::opcode::text);
        });
    });
    io.run();
    CHECK_FALSE(accepted);
    CHECK_FALSE(read);
    CHECK(std::string(message.begin(), message.end()) == "behind the request");
    CHECK(server.next_layer().str().rfind("HTTP/1.1 101 Switching Protocols\r\n", 0) == 0);
}

TEST_CASE("websocket stream: async_read into a dynamic buffer appends each message", "[asio][websocket]") {
    asio::io_context io;
    peer client;
    REQUIRE_FALSE(client.core.write_message(ws::opcode::binary, "one,"));
    REQUIRE_FALSE(client.core.write_message(ws::opcode::binary, "two"));
    ws::stream<test::stream> server{test::stream{io.get_executor(), client.core.output()}};
    std::string all = "start:";
    int reads = 0;
    server.async_accept(upgrade(), [&](std::error_code) {
        server.async_read(asio::dynamic_buffer(all), [&](std::error_code ec, ws::opcode) {
            reads += !ec;
            server.async_read(asio::dynamic_buffer(all), [&](std::error_code ec2, ws::opcode) { reads += !ec2; });
        });
    });
    io.run();
    CHECK(reads == 2);
    CHECK(all == "start:one,two");
}

TEST_CASE("websocket stream: a bare accept refuses what is not a WebSocket upgrade", "[asio][websocket]") {
    struct case_ {
        std::string input;
        std::error_code expected;
        std::string status;
    };
    std::string huge = "GET / HTTP/1.1\r\nHost: t\r\nX: " + std::string(20000, 'x') + "\r\n\r\n";
    for (const auto& c : {case_{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", ws::error::no_upgrade, "HTTP/1.1 426"},
                          case_{"GET / HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n", {}, "HTTP/1.1 400"},
                          case_{"BREW / HTTP/1.1\r\nHost: t\r\n\r\n", {}, "HTTP/1.1 501"},
                          case_{huge, {}, "HTTP/1.1 431"}}) {
        INFO(c.input.substr(0, 40));
        asio::io_context io;
        ws::stream<test::stream> server{test::stream{io.get_executor(), c.input}};
        std::error_code result;
        server.async_accept([&](std::error_code ec) { result = ec; });
        io.run();
        CHECK(result);
        if (c.expected) CHECK(result == c.expected);
        if (!c.expected) CHECK(result.category() == http::error_category());
        INFO(server.next_layer().str());
        CHECK(server.next_layer().str().rfind(c.status, 0) == 0);
    }
    SECTION("a peer that leaves mid-request ends the accept with the stream's error") {
        asio::io_context io;
        ws::stream<test::stream> server{test::stream{io.get_executor(), "GET / HTTP/1.1\r\nHo"}};
        server.next_layer().close_remote();
        std::error_code result;
        server.async_accept([&](std::error_code ec) { result = ec; });
        io.run();
        CHECK(result == asio::error::eof);
        CHECK(server.next_layer().str().empty());
    }
}

namespace {

// A loopback listener whose sessions use the bare-stream accept and echo one message.
struct loopback_echo {
    asio::io_context& io;
    ws::stream_options options{};
    asio::ip::tcp::acceptor acceptor{io, {asio::ip::make_address("127.0.0.1"), 0}};
    std::string subprotocol{};

    void start() {
        acceptor.async_accept([this](std::error_code ec, asio::ip::tcp::socket socket) {
            if (ec) return;
            auto s = std::make_shared<ws::stream<asio::ip::tcp::socket>>(std::move(socket), options);
            auto buffer = std::make_shared<std::string>();
            s->async_accept([this, s, buffer](std::error_code ec2) {
                if (ec2) return;
                subprotocol = s->subprotocol();
                s->async_read(*buffer, [s, buffer](std::error_code ec3, ws::opcode type) {
                    if (!ec3) s->async_write(type, *buffer, [s, buffer](std::error_code) {});
                });
            });
        });
    }
    unsigned short port() const { return acceptor.local_endpoint().port(); }
};

std::function<std::uint32_t()> seeded_random() {
    return [gen = std::mt19937(std::random_device{}())]() mutable { return static_cast<std::uint32_t>(gen()); };
}

}  // namespace

TEST_CASE("websocket async_connect: a ws:// URI is resolved, connected and upgraded", "[asio][websocket]") {
    asio::io_context io;
    loopback_echo server{io};
    server.options.handshake.subprotocols = {"v2.herald", "v1.herald"};
    server.start();
    ws::stream_options options;
    options.client.subprotocols = {"v1.herald", "v2.herald"};
    options.client.origin = "http://localhost";
    ws::stream<asio::ip::tcp::socket> client{asio::ip::tcp::socket{io}, seeded_random(), options};
    std::error_code connected = asio::error::would_block;
    std::string echoed;
    const std::string uri = "ws://localhost:" + std::to_string(server.port()) + "/echo?room=1";
    ws::async_connect(client, uri, [&](std::error_code ec) {
        connected = ec;
        if (ec) return;
        client.async_write(ws::opcode::text, "over loopback", [](std::error_code) {});
        client.async_read(echoed, [](std::error_code, ws::opcode) {});
    });
    io.run_for(std::chrono::seconds(10));
    CHECK_FALSE(connected);
    CHECK(echoed == "over loopback");
    CHECK(client.subprotocol() == "v2.herald");  // the server's preference among those offered
    CHECK(server.subprotocol == "v2.herald");
}

TEST_CASE("websocket async_connect: bad URIs, wss:// and refused connections fail cleanly", "[asio][websocket]") {
    asio::io_context io;
    auto attempt = [&](const std::string& uri) {
        ws::stream<asio::ip::tcp::socket> client{asio::ip::tcp::socket{io}, seeded_random()};
        std::error_code result = asio::error::would_block;
        bool inside_call = true;
        ws::async_connect(client, uri, [&](std::error_code ec) {
            CHECK_FALSE(inside_call);  // completions never run inside the initiating call
            result = ec;
        });
        inside_call = false;
        io.restart();
        io.run_for(std::chrono::seconds(10));
        return result;
    };
    CHECK(attempt("http://127.0.0.1/") == ws::error::bad_uri);
    CHECK(attempt("ws://127.0.0.1:99999/") == ws::error::bad_uri);
    CHECK(attempt("wss://127.0.0.1/") == ws::error::needs_tls);
    asio::ip::tcp::acceptor closed{io, {asio::ip::make_address("127.0.0.1"), 0}};
    const auto port = closed.local_endpoint().port();
    closed.close();  // nobody listens there now
    CHECK(attempt("ws://127.0.0.1:" + std::to_string(port) + "/") == asio::error::connection_refused);
}

TEST_CASE("websocket stream: a backlog of buffered messages is handed out flat, and the replies are corked", "[asio][websocket]") {
    asio::io_context io;
    peer client;
    constexpr int count = 100000;
    for (int i = 0; i < count; ++i) REQUIRE_FALSE(client.core.write_message(ws::opcode::binary, std::string(1, static_cast<char>(i))));
    REQUIRE_FALSE(client.core.write_close(1000, "done"));
    ws::stream<test::stream> server{test::stream{io.get_executor(), client.core.output()}};
    server.next_layer().read_size(64 * 1024);  // hundreds of messages arrive in each read
    int received = 0;
    bool inside_initiation = false, ran_inside = false;
    std::string buffer;
    std::function<void()> read_one = [&] {
        inside_initiation = true;
        server.async_read(buffer, [&](std::error_code ec, ws::opcode) {
            ran_inside = ran_inside || inside_initiation;  // Asio's rule: never inside the initiating call
            if (ec) return;
            ++received;
            auto copy = std::make_shared<std::string>(buffer);
            server.async_write(ws::opcode::binary, *copy, [copy](std::error_code) {});
            read_one();
        });
        inside_initiation = false;
    };
    server.async_accept(upgrade(), [&](std::error_code) {
        server.next_layer().clear();  // count the frames' writes only
        read_one();
    });
    io.run();
    CHECK(received == count);  // and no stack overflow on the way: completions were posted
    CHECK_FALSE(ran_inside);
    const auto events = client.read("\r\n\r\n" + server.next_layer().str());
    REQUIRE(events.size() == count + 1);
    CHECK(events[count - 1].second == std::string(1, static_cast<char>(count - 1)));
    CHECK(events.back().first == ws::event_type::close);
    // Each read of 64 KiB carries ~21,000 messages; their echoes leave in a few
    // writes, not one each.
    INFO(server.next_layer().nwrite() << " writes");
    CHECK(server.next_layer().nwrite() < 100);
}

TEST_CASE("websocket stream: a corked reply still goes out when nobody reads on", "[asio][websocket]") {
    asio::io_context io;
    peer client;
    REQUIRE_FALSE(client.core.write_message(ws::opcode::text, "one"));
    REQUIRE_FALSE(client.core.write_message(ws::opcode::text, "two"));  // still buffered after the first is read
    // (the test stream then waits for more, as a socket would; the io_context ends when the write has)
    ws::stream<test::stream> server{test::stream{io.get_executor(), client.core.output()}};
    std::error_code written = asio::error::would_block;
    std::string buffer;
    server.async_accept(upgrade(), [&](std::error_code) {
        server.async_read(buffer, [&](std::error_code, ws::opcode) {
            server.async_write(ws::opcode::text, "reply", [&](std::error_code ec) { written = ec; });
            // no further async_read
        });
    });
    io.run();
    CHECK_FALSE(written);
    const auto events = client.read(server.next_layer().str());
    REQUIRE(events.size() == 1);
    CHECK(events[0].second == "reply");
}

TEST_CASE("websocket stream: a reply corked by a second buffered message still goes out", "[asio][websocket]") {
    // Two messages in one read; the first handler reads again at once, the second
    // writes and reads no more. The write must not wait for a read that never comes.
    asio::io_context io;
    peer client;
    REQUIRE_FALSE(client.core.write_message(ws::opcode::text, "first"));
    REQUIRE_FALSE(client.core.write_message(ws::opcode::text, "second"));
    ws::stream<test::stream> server{test::stream{io.get_executor(), client.core.output()}};
    std::error_code written = asio::error::would_block;
    std::string buffer;
    server.async_accept(upgrade(), [&](std::error_code) {
        server.async_read(buffer, [&](std::error_code, ws::opcode) {
            server.async_read(buffer, [&](std::error_code, ws::opcode) {
                server.async_write(ws::opcode::text, "reply to " + buffer, [&](std::error_code ec) { written = ec; });
            });
        });
    });
    io.run_for(std::chrono::seconds(5));  // fails rather than hangs
    CHECK_FALSE(written);
    const auto events = client.read(server.next_layer().str());
    REQUIRE(events.size() == 1);
    CHECK(events[0].second == "reply to second");
}

TEST_CASE("websocket stream: accept with a deferred token does not keep the request", "[asio][websocket]") {
    asio::io_context io;
    ws::stream<test::stream> server{test::stream{io.get_executor()}};
    auto op = [&] {
        http::request req = upgrade();  // gone before the operation runs
        return server.async_accept(req, asio::experimental::deferred);
    }();
    std::error_code result = asio::error::would_block;
    std::move(op)([&](std::error_code ec) { result = ec; });
    io.run();
    CHECK_FALSE(result);
    CHECK(server.next_layer().str().rfind("HTTP/1.1 101 Switching Protocols\r\n", 0) == 0);
}

TEST_CASE("websocket stream: a dynamic buffer too small for a message fails that read, not the stream", "[asio][websocket]") {
    asio::io_context io;
    peer client;
    REQUIRE_FALSE(client.core.write_message(ws::opcode::binary, "too long"));
    REQUIRE_FALSE(client.core.write_message(ws::opcode::binary, "fits"));
    ws::stream<test::stream> server{test::stream{io.get_executor(), client.core.output()}};
    std::vector<char> small;
    std::error_code first = asio::error::would_block, second = asio::error::would_block;
    server.async_accept(upgrade(), [&](std::error_code) {
        server.async_read(asio::dynamic_buffer(small, 5), [&](std::error_code ec, ws::opcode) {
            first = ec;
            server.async_read(asio::dynamic_buffer(small, 5), [&](std::error_code ec2, ws::opcode) { second = ec2; });
        });
    });
    io.run_for(std::chrono::seconds(5));
    CHECK(first == ws::error::message_too_big);
    CHECK_FALSE(second);
    CHECK(std::string(small.begin(), small.end()) == "fits");
}

TEST_CASE("websocket stream: send queues at once in order with async_write, and refuses past the bound and after close", "[asio][websocket]") {
    bounded_server t;
    auto& server = t.ws;
    std::vector<std::error_code> sent;
    const std::string big(2000, 'z');
    server.async_accept(upgrade(), [&](std::error_code) {
        sent.push_back(server.send(ws::opcode::text, "0"));  // written at once: the flush takes it
        server.async_write(ws::opcode::text, "1", [](std::error_code) {});
        sent.push_back(server.send(ws::opcode::binary, big));  // waits behind "1"
        sent.push_back(server.send(ws::opcode::text, "dropped"));  // 2 KB already waiting: refused
        server.async_close(1008, "too slow", [](std::error_code) {});
        sent.push_back(server.send(ws::opcode::text, "after the close"));
    });
    t.io.run();
    REQUIRE(sent.size() == 4);
    CHECK_FALSE(sent[0]);
    CHECK_FALSE(sent[1]);
    CHECK(sent[2] == ws::error::send_queue_full);
    CHECK(sent[3] == ws::error::closed);  // not "slow down": nothing more may be sent
    CHECK(t.received() == std::vector<std::string>{"0", "1", big, "close 1008"});
}

TEST_CASE("websocket stream: output of its own past the memory budget is refused, shared frames are not held, and "
          "written bytes go back", "[asio][websocket][budget]") {
    asio::io_context io;
    memory_budget budget{10000};
    ws::stream_options options;
    options.limits.budget = &budget;
    options.close_timeout = {};
    ws::stream<test::stream> server{test::stream{io.get_executor()}, options};
    const auto shared = std::make_shared<const std::string>(8000, 's');
    char head[ws::max_header_size];
    const std::size_t head_size = server.protocol().frame_header_for(ws::opcode::text, shared->size(), head);
    std::vector<std::error_code> sent;
    std::size_t held_while_queued = 0;
    server.async_accept(upgrade(), [&](std::error_code) {
        sent.push_back(server.send(ws::opcode::text, std::string(6000, 'a')));
        sent.push_back(server.send(ws::opcode::text, std::string(5000, 'b')));  // 6,000 + 5,000 > 10,000
        sent.push_back(server.send_shared(shared, {head, head_size}, *shared));  // one copy for all: not held
        held_while_queued = budget.used();
        server.async_write(ws::opcode::text, std::string(5000, 'c'), [&](std::error_code ec) { sent.push_back(ec); });
    });
    io.run();
    REQUIRE(sent.size() == 4);
    CHECK_FALSE(sent[0]);
    CHECK(sent[1] == budget_error::exhausted);
    CHECK_FALSE(sent[2]);
    CHECK(sent[3] == budget_error::exhausted);
    CHECK(held_while_queued >= 6000);
    CHECK(held_while_queued < 6100);
    CHECK(budget.used() == 0);  // all written
    CHECK(budget.refusals() == 2);
}

TEST_CASE("websocket stream: a close the peer never answers ends the transport after close_timeout", "[asio][websocket]") {
    asio::io_context io;
    test::stream socket{io.get_executor()};
    ws::stream_options options;
    options.close_timeout = std::chrono::milliseconds(30);
    ws::stream<test::stream> server{std::move(socket), options};
    std::error_code read_result, close_result = asio::error::would_block;
    std::string buffer;
    const auto start = std::chrono::steady_clock::now();
    server.async_accept(upgrade(), [&](std::error_code) {
        server.async_read(buffer, [&](std::error_code ec, ws::opcode) { read_result = ec; });
        server.async_close(1008, "too slow", [&](std::error_code ec) { close_result = ec; });
    });
    io.run_for(std::chrono::seconds(5));  // ends once the transport is closed
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
    CHECK_FALSE(close_result);  // the close frame was written
    CHECK(read_result);         // the read ended with the transport
    CHECK_FALSE(server.next_layer().is_open());
}

namespace {

// A stream whose writes stay pending: like the kernel under io_uring, or a reactor
// running on another thread, it may read a write's bytes until the write's handler
// is called — after its owner destroyed it, when destruction comes first. Asio's
// rule is that the bytes live until then.
class held_write_stream {
public:
    using executor_type = asio::io_context::executor_type;
    held_write_stream(executor_type ex, std::shared_ptr<std::string> wire) : ex_(ex), wire_(std::move(wire)) {}
    held_write_stream(held_write_stream&&) = default;
    ~held_write_stream() {
        if (!pending_) return;
        // Destroyed with a write out: the bytes are read, and the handler told, later.
        asio::post(ex_, [wire = wire_, pending = std::move(pending_)] {
            for (const auto& b : pending->buffers) wire->append(static_cast<const char*>(b.data()), b.size());
            pending->handler(asio::error::operation_aborted, 0);
        });
    }

    executor_type get_executor() const noexcept { return ex_; }

    template <class Buffers, class Handler>
    void async_write_some(const Buffers& buffers, Handler&& handler) {
        pending_ = std::make_shared<pending>();
        for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it)
            pending_->buffers.emplace_back(*it);
        pending_->handler = [h = std::make_shared<std::decay_t<Handler>>(std::forward<Handler>(handler))](
                                std::error_code ec, std::size_t n) { (*h)(ec, n); };
    }

private:
    struct pending {
        std::vector<asio::const_buffer> buffers;
        std::function<void(std::error_code, std::size_t)> handler;
    };
    executor_type ex_;
    std::shared_ptr<std::string> wire_;
    std::shared_ptr<pending> pending_;
};

}  // namespace

TEST_CASE("websocket stream: a stream destroyed while its flush is being written leaves the bytes alive for the write",
          "[asio][websocket]") {
    asio::io_context io;
    auto wire = std::make_shared<std::string>();
    {
        ws::stream<held_write_stream> server{held_write_stream{io.get_executor(), wire}};
        REQUIRE_FALSE(server.send(ws::opcode::text, std::string(1000, 'x')));
    }  // destroyed with the frame's write out
    io.run();  // the write reads its bytes now: freed memory before the flush owned them
    REQUIRE(wire->size() == 1004);
    CHECK(*wire == std::string("\x81\x7e\x03\xe8", 4) + std::string(1000, 'x'));
}

TEST_CASE("websocket stream: a write refused at once completes on the handler's strand, not the stream's executor",
          "[asio][websocket]") {
    asio::io_context io;
    auto strand = asio::make_strand(io);
    ws::stream_options options;
    options.max_queued_bytes = 0;  // every write is refused: send_queue_full, completed at once
    ws::stream<test::stream> server{test::stream{io.get_executor()}, options};
    std::error_code result;
    bool on_strand = false;
    server.async_write(ws::opcode::text, "x", asio::bind_executor(strand, [&](std::error_code ec) {
                           result = ec;
                           on_strand = strand.running_in_this_thread();
                       }));
    io.run();
    CHECK(result == ws::error::send_queue_full);
    CHECK(on_strand);  // before: run straight from the stream's executor
}
