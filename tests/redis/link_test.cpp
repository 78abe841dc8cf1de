// herald's Redis link (two connections kept up) against a real redis-server that
// kills its subscribers and restarts.
#include "server.hpp"

#include <herald/asio/redis/link.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace herald;
using test_support::redis_call;
using test_support::redis_server;

using test_support::eventually;

TEST_CASE("redis link: up, then down and up again after its subscriber is killed and after Redis restarts",
          "[redis][link]") {
    auto server = std::make_unique<redis_server>();
    const unsigned short port = server->port_number();
    asio::io_context io;
    redis::link_options options;
    options.port = std::to_string(port);
    options.name = "test-node";
    options.reconnect = {std::chrono::milliseconds(20), std::chrono::milliseconds(200), 0, timing::jitter::full};
    options.probe_interval = std::chrono::milliseconds(500);
    auto link = redis::link::make(io.get_executor(), options);
    std::mutex mutex;
    std::vector<std::string> messages;
    std::atomic<int> ups{0}, downs{0};
    link->on_message([&](const std::string& channel, const std::string& payload) {
        std::lock_guard lock(mutex);
        messages.push_back(channel + ":" + payload);
    });
    link->on_state([&](bool up) { ++(up ? ups : downs); });
    link->subscribe("ch");
    link->start();
    auto work = asio::make_work_guard(io);
    std::thread runner([&] { io.run(); });
    const auto got = [&](const std::string& m) {
        std::lock_guard lock(mutex);
        return std::find(messages.begin(), messages.end(), m) != messages.end();
    };

    // Counts are "at least": a loaded machine may make a probe late and the link
    // reconnect once more than the script below does.
    REQUIRE(eventually([&] { return ups >= 1; }));
    CHECK(eventually([&] { return redis_call(server->port(), {"PUBLISH", "ch", "a"}).integer == 1 && got("ch:a"); }));

    // CLIENT KILL TYPE pubsub: the subscriber connection goes; the link notices and comes back.
    const int ups_before = ups;
    CHECK(redis_call(server->port(), {"CLIENT", "KILL", "TYPE", "pubsub"}).integer == 1);
    REQUIRE(eventually([&] { return ups > ups_before; }));
    CHECK(downs >= 1);
    CHECK(eventually([&] { return redis_call(server->port(), {"PUBLISH", "ch", "b"}).integer == 1 && got("ch:b"); }));

    // Redis stops and comes back on the same port: the link reconnects and subscribes again.
    const int downs_before = downs;
    server.reset();
    REQUIRE(eventually([&] { return downs > downs_before; }));
    CHECK_FALSE(link->up());
    std::promise<std::error_code> refused;
    link->command({"PING"}, [&](std::error_code ec, redis::reply) { refused.set_value(ec); });
    CHECK(refused.get_future().get() == redis::error::not_connected);
    const int ups_down = ups;
    server = std::make_unique<redis_server>(port);
    REQUIRE(eventually([&] { return ups > ups_down; }));
    CHECK(eventually([&] { return redis_call(server->port(), {"PUBLISH", "ch", "c"}).integer == 1 && got("ch:c"); }));
    {
        std::lock_guard lock(mutex);  // its probes went to its own channel, never to on_message
        for (const auto& m : messages) CHECK(m.rfind("herald:probe:", 0) != 0);
    }
    link->stop();
    work.reset();
    runner.join();
}
