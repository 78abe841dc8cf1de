// Drives examples/sse_server with herald's own SSE client over loopback: replay
// after a dropped connection, and history-lost after a restart.
#include "../asio/support.hpp"
#include "../support/process.hpp"

#include <herald/asio/sse_client.hpp>

#include <catch2/catch.hpp>

#include <optional>

using namespace herald;
using test_support::child_server;

namespace {

std::string publish(const child_server& server, const std::string& data) {
    const auto res = testing::http_exchange(server.endpoint(), "POST /publish HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                                                                  std::to_string(data.size()) + "\r\n\r\n" + data);
    REQUIRE(res.status == 200);
    return res.body;
}

// Runs `io` until the client's next event; fails after ten seconds.
sse::received_event next_event(sse::client& client, asio::io_context& io) {
    std::optional<sse::received_event> got;
    std::error_code error;
    client.async_next([&](std::error_code ec, sse::received_event ev) {
        error = ec;
        got = std::move(ev);
    });
    io.restart();
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!got && std::chrono::steady_clock::now() < give_up) io.run_one_for(std::chrono::milliseconds(50));
    REQUIRE(got);
    REQUIRE_FALSE(error);
    return *got;
}

sse::client_options client_options(const child_server& server) {
    sse::client_options o;
    o.port = std::to_string(server.port());
    o.reconnection_time = std::chrono::milliseconds(50);
    o.backoff.base = std::chrono::milliseconds(50);
    return o;
}

// Waits (bounded) until the server counts `n` subscribers.
void wait_for_subscribers(const child_server& server, int n) {
    const std::string want = "{\"subscribers\":" + std::to_string(n) + ",";
    for (int i = 0; i < 500; ++i) {
        if (testing::http_get(server.endpoint(), "/stats").body.rfind(want, 0) == 0) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("the server never had " << n << " subscribers");
}

}  // namespace

TEST_CASE("sse_server: a client resumes after a dropped connection with no gap and no duplicate", "[examples][sse]") {
    child_server server{HERALD_SSE_SERVER, {"--epoch", "ep", "--retry-ms", "50"}};
    asio::io_context io;
    sse::client client{io.get_executor(), client_options(server), 1};
    // A first connection is told where "now" is: `event: ready` with the newest id.
    std::optional<sse::received_event> first;
    client.async_next([&](std::error_code, sse::received_event ev) { first = std::move(ev); });
    std::thread pump([&] { io.run_for(std::chrono::seconds(2)); });
    wait_for_subscribers(server, 1);
    pump.join();
    REQUIRE(first);
    CHECK(first->type == "ready");
    CHECK(first->id == "ep-0");
    CHECK(first->data == R"({"type":"ready","topic":"events","id":"ep-0"})");
    for (int i = 0; i < 5; ++i) CHECK(publish(server, std::to_string(i)) == "{\"id\":\"ep-" + std::to_string(i + 1) + "\"}");
    std::vector<sse::received_event> events;
    while (events.size() < 5) events.push_back(next_event(client, io));
    // Drop every stream, then publish while the client is away (or coming back).
    CHECK(testing::http_exchange(server.endpoint(), "POST /disconnect HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n").status == 200);
    for (int i = 5; i < 10; ++i) publish(server, std::to_string(i));
    while (events.size() < 10) events.push_back(next_event(client, io));
    for (int i = 0; i < 10; ++i) {
        CHECK(events[i].data == std::to_string(i));
        CHECK(events[i].id == "ep-" + std::to_string(i + 1));
        CHECK(events[i].type == "message");
    }
    CHECK(client.connections() == 2);
    CHECK(client.last_event_id() == "ep-10");
}

TEST_CASE("sse_server: after a restart a client with an old id is told its history is lost", "[examples][sse]") {
    std::optional<child_server> server;
    server.emplace(HERALD_SSE_SERVER, std::vector<std::string>{"--epoch", "first", "--retry-ms", "50"});
    const auto port = server->port();
    asio::io_context io;
    auto options = client_options(*server);
    options.last_event_id = "first-0";
    sse::client client{io.get_executor(), options, 2};
    std::optional<sse::received_event> got;
    client.async_next([&](std::error_code, sse::received_event ev) { got = std::move(ev); });
    std::thread pump([&] { io.run_for(std::chrono::seconds(2)); });
    wait_for_subscribers(*server, 1);
    publish(*server, "before");
    pump.join();
    REQUIRE(got);
    CHECK(got->data == "before");
    CHECK(got->id == "first-1");

    server.reset();  // a full restart: a new epoch, an empty history
    server.emplace(HERALD_SSE_SERVER, std::vector<std::string>{"--epoch", "second", "--retry-ms", "50"}, port);
    std::optional<sse::received_event> lost;
    client.async_next([&](std::error_code, sse::received_event ev) { lost = std::move(ev); });
    io.restart();
    std::thread reconnect([&] { io.run_for(std::chrono::seconds(5)); });
    wait_for_subscribers(*server, 1);
    reconnect.join();
    REQUIRE(lost);
    CHECK(lost->type == "history-lost");
    CHECK(lost->id == "second-0");
    CHECK(lost->data == R"({"type":"lost","topic":"events","id":"second-0"})");  // the hub's one lost signal
    publish(*server, "live");
    const auto live = next_event(client, io);
    CHECK(live.data == "live");
    CHECK(live.id == "second-1");
}

TEST_CASE("sse_server: a refused stream fails the client for good", "[examples][sse]") {
    child_server server{HERALD_SSE_SERVER, {}};
    asio::io_context io;
    auto options = client_options(server);
    options.target = "/nowhere";  // 404
    sse::client client{io.get_executor(), options, 3};
    std::optional<std::error_code> result;
    client.async_next([&](std::error_code ec, sse::received_event) { result = ec; });
    io.run_for(std::chrono::seconds(5));
    REQUIRE(result);
    CHECK(*result == sse::error::bad_status);
    CHECK(client.connections() == 0);
}

TEST_CASE("sse_server: a long stream of more than a megabyte stays on one connection", "[examples][sse]") {
    child_server server{HERALD_SSE_SERVER, {"--epoch", "big"}};
    asio::io_context io;
    sse::client client{io.get_executor(), client_options(server), 6};
    std::optional<sse::received_event> first;
    client.async_next([&](std::error_code, sse::received_event ev) { first = std::move(ev); });
    std::thread pump([&] { io.run_for(std::chrono::seconds(2)); });
    wait_for_subscribers(server, 1);
    const std::string chunk(100 * 1024, 'x');
    for (int i = 0; i < 15; ++i) publish(server, chunk);  // 1.5 MB in all
    pump.join();
    REQUIRE(first);
    CHECK(first->type == "ready");  // a first connection: where now is
    std::size_t received = 0;
    while (received < 15) {
        CHECK(next_event(client, io).data.size() == chunk.size());
        ++received;
    }
    CHECK(client.connections() == 1);
    CHECK(client.last_event_id() == "big-15");
    // Events already buffered complete through the executor, never inside async_next.
    publish(server, "a");
    publish(server, "b");
    next_event(client, io);
    bool returned = false, completed_inline = false;
    client.async_next([&](std::error_code, sse::received_event) { completed_inline = !returned; });
    returned = true;
    io.restart();
    io.run_for(std::chrono::seconds(2));
    CHECK_FALSE(completed_inline);
}
