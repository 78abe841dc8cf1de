// The SSE response stream and channel over herald's in-memory test stream.
#include "support.hpp"

#include <herald/asio/sse_channel.hpp>
#include <herald/test/stream.hpp>

#include <asio/bind_executor.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <catch2/catch.hpp>

#include <functional>

using namespace herald;
using testing::after;
using testing::make_event;
using connection = http::server_connection<test::stream>;
using stream_type = sse::event_stream<test::stream>;
using testing::parse_events;
using testing::split_response;

namespace {

std::shared_ptr<connection> make_connection(asio::io_context& io, std::string request = "GET /events HTTP/1.1\r\nHost: t\r\n\r\n") {
    auto conn = std::make_shared<connection>(test::stream{io.get_executor(), request}, testing::quiet_options());
    bool read = false;
    conn->async_read_request([&](std::error_code ec) { read = !ec; });
    io.run();
    io.restart();
    REQUIRE(read);
    return conn;
}


}  // namespace

TEST_CASE("sse stream: head then queued events then close", "[asio][sse]") {
    asio::io_context io;
    auto conn = make_connection(io);
    sse::stream_options options;
    options.retry = 1500;
    auto stream = std::make_shared<stream_type>(conn, options);
    CHECK(stream->send(make_event("one", "1")));
    CHECK(stream->send(make_event("two\nlines", "2")));
    std::error_code result = asio::error::would_block;
    stream->async_run([&](std::error_code ec) { result = ec; });
    // Closed once "three" is written, whatever the machine's speed (a fixed delay
    // flaked under ThreadSanitizer on a loaded machine).
    std::function<void()> close_when_written = [&] {
        if (stream->next_layer().str().find("data: three") != std::string::npos) return stream->close();
        after(io, 1, close_when_written);
    };
    after(io, 5, [&] {
        stream->send(make_event("three", "3"));
        close_when_written();
    });
    io.run();
    CHECK_FALSE(result);
    CHECK_FALSE(stream->send(make_event("after")));  // ended: a channel drops it
    const auto [head, body] = split_response(stream->next_layer().str());
    CHECK(head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(head.find("Content-Type: text/event-stream\r\n") != std::string::npos);
    CHECK(head.find("Cache-Control: no-cache\r\n") != std::string::npos);
    CHECK(head.find("X-Accel-Buffering: no\r\n") != std::string::npos);
    CHECK(head.find("Connection: close\r\n") != std::string::npos);
    CHECK(head.find("Content-Length") == std::string::npos);  // delimited by the close
    CHECK(head.find("Transfer-Encoding") == std::string::npos);
    CHECK(body.rfind("retry: 1500\n", 0) == 0);
    const auto events = parse_events(body);
    REQUIRE(events.size() == 3);
    CHECK(events[1].data == "two\nlines");
    CHECK(events[2].data == "three");
    CHECK(events[2].id == "3");
}

TEST_CASE("sse stream: a client that leaves ends the run with eof", "[asio][sse]") {
    asio::io_context io;
    auto conn = make_connection(io);
    auto stream = std::make_shared<stream_type>(conn);
    std::error_code result = asio::error::would_block;
    stream->async_run([&](std::error_code ec) { result = ec; });
    after(io, 5, [&] { stream->next_layer().close_remote(); });
    io.run();
    CHECK(result == asio::error::eof);
    CHECK(stream->ended());
}

TEST_CASE("sse stream: async_run completes on the handler's executor, and a close before the run ends it at once",
          "[asio][sse]") {
    asio::io_context io;
    auto strand = asio::make_strand(io);
    auto conn = make_connection(io);
    auto stream = std::make_shared<stream_type>(conn);
    stream->close();  // before the run: nothing is written, the run ends with it
    std::error_code result = asio::error::would_block;
    bool on_strand = false;
    stream->async_run(asio::bind_executor(strand, [&](std::error_code ec) {
        result = ec;
        on_strand = strand.running_in_this_thread();
    }));
    io.run();
    CHECK_FALSE(result);
    CHECK(on_strand);
    CHECK(stream->next_layer().str().empty());
    CHECK(stream->ended());
}

TEST_CASE("sse stream: a HEAD request gets the head and no stream", "[asio][sse]") {
    asio::io_context io;
    auto conn = make_connection(io, "HEAD /events HTTP/1.1\r\nHost: t\r\n\r\n");
    auto stream = std::make_shared<stream_type>(conn);
    stream->send(make_event("x"));
    std::error_code result = asio::error::would_block;
    stream->async_run([&](std::error_code ec) { result = ec; });
    io.run();
    CHECK_FALSE(result);
    const auto [head, body] = split_response(stream->next_layer().str());
    CHECK(body.empty());
}

TEST_CASE("sse stream: a full queue closes the stream under the close policy", "[asio][sse]") {
    asio::io_context io;
    auto conn = make_connection(io);
    sse::stream_options options;
    options.max_queued_events = 4;
    auto stream = std::make_shared<stream_type>(conn, options);
    for (int i = 0; i < 4; ++i) CHECK(stream->send(make_event("e")));
    CHECK_FALSE(stream->send(make_event("one too many")));
    std::error_code result;
    stream->async_run([&](std::error_code ec) { result = ec; });
    io.run();
    CHECK(result == sse::error::send_queue_full);
    CHECK(result == condition::limit_exceeded);
}

TEST_CASE("sse stream: drop_oldest keeps the newest events within the byte and count budgets", "[asio][sse]") {
    asio::io_context io;
    auto conn = make_connection(io);
    sse::stream_options options;
    options.max_queued_events = 4;
    options.on_overflow = sse::overflow_policy::drop_oldest;
    auto stream = std::make_shared<stream_type>(conn, options);
    for (int i = 0; i < 10; ++i) CHECK(stream->send(make_event(std::to_string(i))));
    CHECK(stream->dropped() == 6);
    stream->async_run([](std::error_code) {});
    after(io, 5, [&] { stream->close(); });
    io.run();
    const auto events = parse_events(split_response(stream->next_layer().str()).second);
    REQUIRE(events.size() == 4);
    CHECK(events.front().data == "6");
    CHECK(events.back().data == "9");
}

TEST_CASE("sse stream: an idle stream sends keep-alive comments", "[asio][sse]") {
    asio::io_context io;
    auto conn = make_connection(io);
    sse::stream_options options;
    options.keepalive_interval = std::chrono::milliseconds(5);
    auto stream = std::make_shared<stream_type>(conn, options);
    stream->async_run([](std::error_code) {});
    after(io, 60, [&] { stream->close(); });
    io.run();
    const auto body = split_response(stream->next_layer().str()).second;
    CHECK(body.rfind(":\n", 0) == 0);
    CHECK(parse_events(body).empty());  // comments dispatch nothing
}

TEST_CASE("sse stream: sends from other threads all arrive in order", "[asio][sse]") {
    asio::io_context io;
    auto conn = make_connection(io);
    sse::stream_options options;
    options.max_queued_events = 100000;
    auto stream = std::make_shared<stream_type>(conn, options);
    stream->async_run([](std::error_code) {});
    std::thread producer([&] {
        for (int i = 0; i < 2000; ++i) stream->send(make_event(std::to_string(i)));
        stream->close();
    });
    io.run();
    producer.join();
    // close() may overtake queued events; every event written is whole and in order.
    const auto events = parse_events(split_response(stream->next_layer().str()).second);
    for (std::size_t i = 0; i < events.size(); ++i) REQUIRE(events[i].data == std::to_string(i));
}

TEST_CASE("sse stream: an event sent to an idle stream is written at once, not at the next keep-alive", "[asio][sse]") {
    // Only an idle writer is woken (a busy one takes the queue when its write
    // completes): each event here is sent after the one before it was written, to
    // a writer gone idle again, and must wake it.
    asio::io_context io;
    auto conn = make_connection(io);
    sse::stream_options options;
    options.keepalive_interval = std::chrono::seconds(30);
    auto stream = std::make_shared<stream_type>(conn, options);
    stream->async_run([](std::error_code) {});
    const auto written = [&](int i) {
        return stream->next_layer().str().find("data: " + std::to_string(i) + "\n") != std::string::npos;
    };
    asio::steady_timer limit{io, std::chrono::seconds(10)};  // a lost wake waits for the keep-alive
    bool timed_out = false;
    limit.async_wait([&](std::error_code ec) {
        if (ec) return;
        timed_out = true;
        stream->close();
    });
    int sent = 0;
    std::function<void()> step = [&] {
        if (timed_out) return;
        if (sent > 0 && !written(sent - 1)) return after(io, 2, step);
        if (sent == 5) {
            limit.cancel();
            return stream->close();
        }
        stream->send(make_event(std::to_string(sent++)));
        after(io, 2, step);
    };
    after(io, 5, step);
    io.run();
    const auto events = parse_events(split_response(stream->next_layer().str()).second);
    REQUIRE(events.size() == 5);
    for (int i = 0; i < 5; ++i) CHECK(events[static_cast<std::size_t>(i)].data == std::to_string(i));
}

TEST_CASE("sse channel: replay after Last-Event-ID then live events with no gap or duplicate", "[asio][sse]") {
    asio::io_context io;
    sse::channel channel("ep", {8, 1 << 20});
    std::error_code ec;
    for (int i = 1; i <= 3; ++i) channel.publish({"", "e" + std::to_string(i), std::nullopt, std::nullopt}, ec);

    auto conn = make_connection(io);
    auto stream = std::make_shared<stream_type>(conn);
    CHECK(channel.subscribe(stream, "ep-1") == sse::channel::outcome::resumed);
    CHECK(channel.subscriber_count() == 1);
    channel.publish({"", "e4", std::nullopt, std::nullopt}, ec);
    stream->async_run([](std::error_code) {});
    after(io, 5, [&] { stream->close(); });
    io.run();
    const auto events = parse_events(split_response(stream->next_layer().str()).second);
    REQUIRE(events.size() == 3);
    CHECK(events[0].data == "e2");
    CHECK(events[0].id == "ep-2");
    CHECK(events[2].data == "e4");
    CHECK(events[2].id == "ep-4");
    channel.publish({"", "e5", std::nullopt, std::nullopt}, ec);
    CHECK(channel.subscriber_count() == 0);  // the ended stream was dropped
}

TEST_CASE("sse channel: an id from another epoch gets the history-lost event", "[asio][sse]") {
    asio::io_context io;
    sse::channel channel("new", {8, 1 << 20});
    std::error_code ec;
    channel.publish({"", "x", std::nullopt, std::nullopt}, ec);
    auto conn = make_connection(io);
    auto stream = std::make_shared<stream_type>(conn);
    CHECK(channel.subscribe(stream, "old-7") == sse::channel::outcome::lost);
    stream->async_run([](std::error_code) {});
    after(io, 5, [&] { stream->close(); });
    io.run();
    const auto events = parse_events(split_response(stream->next_layer().str()).second);
    REQUIRE(events.size() == 1);
    CHECK(events[0].type == "history-lost");
    CHECK(events[0].id == "new-1");
}

TEST_CASE("sse stream: one event larger than the byte budget still goes under the close policy", "[asio][sse]") {
    asio::io_context io;
    auto conn = make_connection(io);
    sse::stream_options options;
    options.max_queued_bytes = 64;
    auto stream = std::make_shared<stream_type>(conn, options);
    CHECK(stream->send(make_event(std::string(200, 'x'))));  // alone: sent
    CHECK_FALSE(stream->send(make_event("y")));              // now the queue is over budget: closed
    std::error_code result;
    stream->async_run([&](std::error_code ec) { result = ec; });
    io.run();
    CHECK(result == sse::error::send_queue_full);
}

TEST_CASE("sse stream: HEAD gets no retry line either", "[asio][sse]") {
    asio::io_context io;
    auto conn = make_connection(io, "HEAD /events HTTP/1.1\r\nHost: t\r\n\r\n");
    sse::stream_options options;
    options.retry = 500;
    auto stream = std::make_shared<stream_type>(conn, options);
    stream->async_run([](std::error_code) {});
    io.run();
    CHECK(split_response(stream->next_layer().str()).second.empty());
}

TEST_CASE("sse channel: a replay the stream cannot queue is sent as history-lost", "[asio][sse]") {
    asio::io_context io;
    sse::channel channel("ep", {100, 1 << 20});
    std::error_code ec;
    for (int i = 0; i < 10; ++i) channel.publish({"", "e", std::nullopt, std::nullopt}, ec);
    auto conn = make_connection(io);
    sse::stream_options options;
    options.max_queued_events = 4;  // the 9 missed events do not fit
    auto stream = std::make_shared<stream_type>(conn, options);
    CHECK(channel.subscribe(stream, "ep-1") == sse::channel::outcome::lost);
    CHECK_FALSE(stream->ended());
    stream->async_run([](std::error_code) {});
    after(io, 5, [&] { stream->close(); });
    io.run();
    const auto events = parse_events(split_response(stream->next_layer().str()).second);
    REQUIRE(events.size() == 1);
    CHECK(events[0].type == "history-lost");
    CHECK(events[0].id == "ep-10");  // the client resumes from now on its next reconnect
}

TEST_CASE("sse channel: ended subscribers are dropped when others subscribe", "[asio][sse]") {
    asio::io_context io;
    sse::channel channel("ep");
    auto first = std::make_shared<stream_type>(make_connection(io));
    channel.subscribe(first, std::nullopt);
    first->close();
    auto second = std::make_shared<stream_type>(make_connection(io));
    channel.subscribe(second, std::nullopt);
    CHECK(channel.subscriber_count() == 1);  // no publish needed to let the first go
}

TEST_CASE("sse stream: writes that each finish in time never time out, however long the stream runs", "[asio][sse]") {
    asio::io_context io;
    auto conn = make_connection(io);
    sse::stream_options options;
    options.write_timeout = std::chrono::milliseconds(10);
    auto stream = std::make_shared<stream_type>(conn, options);
    std::error_code result = asio::error::would_block;
    stream->async_run([&](std::error_code ec) { result = ec; });
    // One send every 4 ms, each scheduled by the one before; the close 20 ms after
    // the last, so that it never overtakes a send however slowly the test runs.
    std::function<void(int)> send_from = [&](int i) {
        stream->send(make_event(std::to_string(i)));
        if (i + 1 < 20) after(io, 4, [&, i] { send_from(i + 1); });
        else after(io, 20, [&] { stream->close(); });
    };
    send_from(0);
    io.run();
    CHECK_FALSE(result);  // 100 ms of writes, none of them late
    CHECK(parse_events(split_response(stream->next_layer().str()).second).size() == 20);
}

TEST_CASE("sse stream: a write the client does not take in write_timeout ends the stream", "[asio][sse]") {
    // Over TCP: a client that reads nothing, and buffers too small for what is sent.
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor{io, {asio::ip::make_address("127.0.0.1"), 0}};
    asio::ip::tcp::socket client{io, asio::ip::tcp::v4()};
    client.set_option(asio::socket_base::receive_buffer_size(4096));
    client.connect(acceptor.local_endpoint());
    asio::write(client, asio::buffer(std::string_view("GET /events HTTP/1.1\r\nHost: t\r\n\r\n")));
    auto socket = acceptor.accept();
    socket.set_option(asio::socket_base::send_buffer_size(4096));
    using tcp_connection = http::server_connection<asio::ip::tcp::socket>;
    auto conn = std::make_shared<tcp_connection>(std::move(socket), testing::quiet_options());
    conn->async_read_request([](std::error_code ec) { REQUIRE_FALSE(ec); });
    io.run();
    io.restart();
    sse::stream_options options;
    options.write_timeout = std::chrono::milliseconds(100);
    auto stream = std::make_shared<sse::event_stream<asio::ip::tcp::socket>>(conn, options);
    std::error_code result = asio::error::would_block;
    stream->async_run([&](std::error_code ec) { result = ec; });
    // The head goes at once and arms the watchdog; the big event, 60 ms later, is
    // the write that stalls. Its timeout counts from its own start: the watchdog's
    // first expiry (100 ms after the head) finds it under way for less than that
    // and re-arms.
    const std::string big(1 << 20, 'x');
    std::chrono::steady_clock::time_point big_sent;
    after(io, 60, [&] {
        big_sent = std::chrono::steady_clock::now();
        CHECK(stream->send(make_event(big)));
    });
    io.run_for(std::chrono::seconds(10));
    const auto elapsed = std::chrono::steady_clock::now() - big_sent;
    CHECK(result == asio::error::timed_out);
    CHECK(elapsed >= std::chrono::milliseconds(95));  // not 40 ms: the stalled write's own 100 ms
    CHECK(elapsed < std::chrono::seconds(5));
    CHECK(stream->ended());
}

TEST_CASE("sse stream: close_when_sent writes what is queued, then ends, later sends are refused", "[asio][sse]") {
    asio::io_context io;
    auto conn = make_connection(io);
    auto stream = std::make_shared<stream_type>(conn);
    std::error_code result = asio::error::would_block;
    stream->async_run([&](std::error_code ec) { result = ec; });
    after(io, 5, [&] {  // the writer is idle, waiting: the close must wake it
        CHECK(stream->send(make_event("last", "9")));
        CHECK(stream->send(hub::sse_retry_later()));
        stream->close_when_sent();
        CHECK(stream->ended());  // the hub forgets it now
        CHECK_FALSE(stream->send(make_event("too late")));
    });
    io.run();
    CHECK_FALSE(result);
    const auto [head, body] = split_response(stream->next_layer().str());
    CHECK(body == "id: 9\ndata: last\n\nretry: 1000\n\n");
    const auto events = parse_events(body);
    REQUIRE(events.size() == 1);  // the retry line dispatches nothing
    CHECK(events[0].data == "last");
}
