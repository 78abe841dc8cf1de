// herald's Redis connection and script against a real redis-server.
#include "server.hpp"

#include <herald/asio/redis/script.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace herald;
using test_support::redis_call;
using test_support::redis_server;

namespace {

std::shared_ptr<redis::connection> connected(asio::io_context& io, const redis_server& server,
                                             redis::connection_options options = {}) {
    auto c = redis::connection::make(io.get_executor(), options);
    std::error_code result = asio::error::would_block;
    c->async_connect("127.0.0.1", server.port(), [&](std::error_code ec) { result = ec; });
    while (result == asio::error::would_block && io.run_one_for(std::chrono::seconds(5)) > 0) {
    }
    REQUIRE_FALSE(result);
    return c;
}

}  // namespace

TEST_CASE("redis connection: pipelined commands are answered in the order they were issued", "[redis]") {
    redis_server server;
    asio::io_context io;
    auto c = connected(io, server);
    std::vector<long long> got;
    for (int i = 0; i < 1000; ++i)
        c->command({"INCR", "n"}, [&](std::error_code ec, redis::reply r) {
            REQUIRE_FALSE(ec);
            got.push_back(r.integer);
        });
    redis::reply value;
    c->command({"GET", "n"}, [&](std::error_code, redis::reply r) {
        value = std::move(r);
        c->close();
    });
    io.run_for(std::chrono::seconds(10));
    REQUIRE(got.size() == 1000);
    for (std::size_t i = 0; i < got.size(); ++i) REQUIRE(got[i] == static_cast<long long>(i + 1));
    CHECK(value.text == "1000");
}

TEST_CASE("redis connection: an error reply is a reply, and the connection goes on", "[redis]") {
    redis_server server;
    asio::io_context io;
    auto c = connected(io, server);
    redis::reply first, second;
    c->command({"SET", "s", "text"}, [](std::error_code, redis::reply) {});
    c->command({"INCR", "s"}, [&](std::error_code ec, redis::reply r) {
        CHECK_FALSE(ec);
        first = std::move(r);
    });
    c->command({"PING"}, [&](std::error_code, redis::reply r) {
        second = std::move(r);
        c->close();
    });
    io.run_for(std::chrono::seconds(5));
    CHECK(first.is_error("ERR"));
    CHECK(second.text == "PONG");
}

TEST_CASE("redis connection: a subscriber gets pushed messages, and still answers PING", "[redis]") {
    redis_server server;
    asio::io_context io;
    auto sub = connected(io, server);
    auto pub = connected(io, server);
    std::vector<std::pair<std::string, std::string>> messages;
    sub->on_message([&](const std::string& channel, const std::string& payload) {
        messages.emplace_back(channel, payload);
        if (messages.size() == 3) {
            sub->command({"PING"}, [&](std::error_code ec, redis::reply r) {
                CHECK_FALSE(ec);
                CHECK(r.at(0)->text == "pong");  // RESP2's answer to PING in subscriber mode
                sub->close();
                pub->close();
            });
        }
    });
    sub->command({"SUBSCRIBE", "news"}, [&](std::error_code ec, redis::reply r) {
        REQUIRE_FALSE(ec);
        CHECK(r.at(0)->text == "subscribe");
        for (const char* m : {"one", "two", "three"}) pub->command({"PUBLISH", "news", m}, [](std::error_code, redis::reply) {});
    });
    io.run_for(std::chrono::seconds(5));
    REQUIRE(messages.size() == 3);
    CHECK(messages[0] == std::pair<std::string, std::string>("news", "one"));
    CHECK(messages[2].second == "three");
}

TEST_CASE("redis connection: a command not answered in time fails it, those after it, and the connection", "[redis]") {
    redis_server server;
    asio::io_context io;
    redis::connection_options options;
    options.command_timeout = std::chrono::milliseconds(200);
    auto c = connected(io, server, options);
    std::error_code lost, slept, after, later;
    c->on_lost([&](std::error_code ec) { lost = ec; });
    c->command({"DEBUG", "SLEEP", "1"}, [&](std::error_code ec, redis::reply) { slept = ec; });
    c->command({"PING"}, [&](std::error_code ec, redis::reply) {
        after = ec;
        c->command({"PING"}, [&](std::error_code ec2, redis::reply) { later = ec2; });
    });
    const auto start = std::chrono::steady_clock::now();
    io.run_for(std::chrono::seconds(5));
    CHECK(slept == redis::error::timed_out);
    CHECK(after == redis::error::timed_out);
    CHECK(later == redis::error::timed_out);  // the connection is gone: nothing more is sent
    CHECK(lost == redis::error::timed_out);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(900));  // not the whole second
}

TEST_CASE("redis connection: a server that goes away fails what waits and tells on_lost", "[redis]") {
    auto server = std::make_unique<redis_server>();
    asio::io_context io;
    auto c = connected(io, *server);
    std::error_code lost, waited;
    c->on_lost([&](std::error_code ec) { lost = ec; });
    c->command({"PING"}, [&](std::error_code, redis::reply) {
        c->command({"BLPOP", "nothing", "0"}, [&](std::error_code ec, redis::reply) { waited = ec; });  // waits for ever
        server.reset();  // SIGTERM: Redis closes its connections
    });
    io.run_for(std::chrono::seconds(5));
    CHECK(lost == redis::error::connection_lost);
    CHECK(waited == redis::error::connection_lost);
}

TEST_CASE("redis connection: connecting where nobody listens fails", "[redis]") {
    asio::io_context io;
    auto c = redis::connection::make(io.get_executor());
    std::error_code result = asio::error::would_block, command;
    c->async_connect("127.0.0.1", std::to_string(test_support::free_port()), [&](std::error_code ec) { result = ec; });
    c->command({"PING"}, [&](std::error_code ec, redis::reply) { command = ec; });
    io.run_for(std::chrono::seconds(5));
    CHECK(result == asio::error::connection_refused);
    CHECK(command == asio::error::connection_refused);
}

TEST_CASE("redis script: run with EVALSHA, loaded again after Redis forgot it", "[redis]") {
    redis_server server;
    asio::io_context io;
    auto c = connected(io, server);
    const redis::script add{"return redis.call('INCRBY', KEYS[1], ARGV[1])"};
    std::vector<long long> got;
    add.run(c, {"sum"}, {"5"}, [&](std::error_code ec, redis::reply r) {
        REQUIRE_FALSE(ec);
        got.push_back(r.integer);
        c->command({"SCRIPT", "FLUSH"}, [&](std::error_code, redis::reply) {
            add.run(c, {"sum"}, {"2"}, [&](std::error_code ec2, redis::reply r2) {
                REQUIRE_FALSE(ec2);
                got.push_back(r2.integer);
                c->close();
            });
        });
    });
    io.run_for(std::chrono::seconds(5));
    CHECK(got == std::vector<long long>{5, 7});
    CHECK(redis_call(server.port(), {"GET", "sum"}).text == "7");
}
