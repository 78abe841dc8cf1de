// The HTTP server over real loopback sockets, on a thread pool.
#include <herald/asio/server.hpp>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/thread_pool.hpp>
#include <asio/write.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using namespace herald;
using asio::ip::tcp;

namespace {

// A blocking client: sends `requests` on one connection and reads `count` answers.
std::vector<std::string> exchange(const tcp::endpoint& ep, const std::string& requests, std::size_t count) {
    asio::io_context io;
    tcp::socket socket{io};
    socket.connect(ep);
    asio::write(socket, asio::buffer(requests));
    std::vector<std::string> bodies;
    http::response_parser p;
    std::string pending;
    std::array<char, 4096> chunk;
    while (bodies.size() < count) {
        std::error_code ec;
        const std::size_t n = socket.read_some(asio::buffer(chunk), ec);
        if (ec) break;
        pending.append(chunk.data(), n);
        std::string_view view{pending};
        for (http::event ev = p.next(view); ev.type != http::event_type::need_more; ev = p.next(view)) {
            REQUIRE(ev.type != http::event_type::error);
            if (ev.type == http::event_type::head) bodies.emplace_back();
            if (ev.type == http::event_type::body) bodies.back().append(ev.data);
        }
        pending.clear();
    }
    return bodies;
}

}  // namespace

TEST_CASE("loopback: a thread-pool server answers many keep-alive clients at once", "[asio][http][loopback]") {
    asio::thread_pool pool{2};
    std::atomic<int> handled{0};
    http::server server{pool.get_executor(), [&](const http::request& req) {
                            ++handled;
                            return http::response{200, "text/plain", std::string(req.target)};
                        }};
    REQUIRE_FALSE(server.listen({asio::ip::make_address("127.0.0.1"), 0}));
    server.start();
    const auto ep = server.local_endpoint();
    constexpr int clients = 8, per_client = 50;
    std::vector<std::thread> threads;
    std::atomic<int> correct{0};
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
            std::string requests;
            for (int i = 0; i < per_client; ++i)
                requests += "GET /" + std::to_string(c) + "/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
            const auto bodies = exchange(ep, requests, per_client);
            bool in_order = bodies.size() == per_client;
            for (int i = 0; in_order && i < per_client; ++i)
                in_order = bodies[i] == "/" + std::to_string(c) + "/" + std::to_string(i);
            if (in_order) ++correct;
        });
    }
    for (auto& t : threads) t.join();
    CHECK(correct == clients);
    CHECK(handled == clients * per_client);
    server.stop();
    pool.join();
}

TEST_CASE("loopback: stop closes open connections and the pool drains", "[asio][http][loopback]") {
    asio::thread_pool pool{1};
    http::server server{pool.get_executor(), [](const http::request&) { return http::response{204}; }};
    REQUIRE_FALSE(server.listen({asio::ip::make_address("127.0.0.1"), 0}));
    server.start();
    asio::io_context io;
    tcp::socket idle{io};
    idle.connect(server.local_endpoint());
    // Wait until the server has the connection before stopping it.
    for (int i = 0; i < 1000 && server.connection_count() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE(server.connection_count() == 1);
    server.stop();
    std::array<char, 16> chunk;
    std::error_code ec;
    idle.read_some(asio::buffer(chunk), ec);
    CHECK(ec == asio::error::eof);
    pool.join();  // returns only when no connection is left waiting
    CHECK(server.connection_count() == 0);
}
