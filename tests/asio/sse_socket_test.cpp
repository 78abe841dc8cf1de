// An SSE stream on a real socket: it watches for the client leaving by waiting
// for readability (sse.hpp, event_stream::watch), with no buffer of its own.
#include "support.hpp"

#include <herald/asio/sse.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/write.hpp>

#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <string>

using namespace herald;
using testing::after;
using testing::make_event;
using tcp = asio::ip::tcp;
using tcp_connection = http::server_connection<tcp::socket>;
using tcp_stream = sse::event_stream<tcp::socket>;

namespace {

// A stream's connection with its request read, and the client's socket.
struct opened {
    explicit opened(asio::io_context& io) : client(io) {
        tcp::acceptor acceptor{io, {asio::ip::make_address("127.0.0.1"), 0}};
        client.connect(acceptor.local_endpoint());
        asio::write(client, asio::buffer(std::string_view("GET /events HTTP/1.1\r\nHost: t\r\n\r\n")));
        conn = std::make_shared<tcp_connection>(acceptor.accept(), testing::quiet_options());
        bool read = false;
        conn->async_read_request([&](std::error_code ec) { read = !ec; });
        io.run();
        io.restart();
        REQUIRE(read);
    }
    tcp::socket client;
    std::shared_ptr<tcp_connection> conn;
};

}  // namespace

TEST_CASE("sse stream on a socket: bytes the client sends are discarded, events go on, and its leaving ends the run",
          "[asio][sse]") {
    asio::io_context io;
    opened o{io};
    auto stream = std::make_shared<tcp_stream>(o.conn);
    std::error_code result = asio::error::would_block;
    stream->async_run([&](std::error_code ec) { result = ec; });
    // More than one read's worth, which an EventSource never sends: read and dropped.
    after(io, 10, [&] { asio::write(o.client, asio::buffer(std::string(20000, 'j'))); });
    after(io, 30, [&] { CHECK(stream->send(make_event("after the junk"))); });
    // The client reads until the event is in, then leaves.
    std::string wire;
    char chunk[4096];
    std::function<void()> read_on = [&] {
        o.client.async_read_some(asio::buffer(chunk), [&](std::error_code ec, std::size_t n) {
            wire.append(chunk, n);
            if (!ec && wire.find("after the junk\n\n") == std::string::npos) return read_on();
            o.client.close();
        });
    };
    read_on();
    io.run_for(std::chrono::seconds(10));
    CHECK(result == asio::error::eof);
    CHECK(stream->ended());
    const auto body = testing::split_response(wire).second;
    const auto events = testing::parse_events(body);
    REQUIRE(events.size() == 1);
    CHECK(events[0].data == "after the junk");
}

TEST_CASE("sse stream on a socket: a context destroyed under a running stream frees it, though its handler holds it",
          "[asio][sse]") {
    // The handler waits in the stream while the stream runs: without the run's
    // guard, stream -> handler -> stream would be a cycle that nothing breaks once
    // the context has destroyed the stream's pending watch.
    std::weak_ptr<tcp_stream> weak;
    bool completed = false;
    {
        asio::io_context io;
        opened o{io};
        auto stream = std::make_shared<tcp_stream>(o.conn);
        weak = stream;
        stream->async_run([stream, &completed](std::error_code) { completed = true; });
        std::string head;
        asio::read_until(o.client, asio::dynamic_buffer(head), "\r\n\r\n");  // the head went out
        io.poll();
        stream.reset();
        o.conn.reset();
    }  // the client's socket stays open until then: the stream does not end by its leaving
    CHECK_FALSE(completed);  // a destroyed context runs no handler
    CHECK(weak.expired());
}
