// async_serve on a real socket while a request is parked: the serving loop waits
// for readability alone and the connection holds no read buffer (serve.hpp, park);
// it still notices the client leaving, keeps what it pipelines, and is woken by
// an answer, a hand-off or close().
#include "support.hpp"

#include <herald/asio/serve.hpp>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/write.hpp>

#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace herald;
using testing::after;
using testing::quiet_options;
using tcp = asio::ip::tcp;
using tcp_connection = http::server_connection<tcp::socket>;

namespace {

// A server connection and the client socket at its other end, on `io`.
struct served_pair {
    explicit served_pair(asio::io_context& io) : client(io) {
        tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
        client.connect(acceptor.local_endpoint());
        server = std::make_shared<tcp_connection>(acceptor.accept(), quiet_options());
    }
    tcp::socket client;
    std::shared_ptr<tcp_connection> server;  // shared: a hand-off takes it
    std::optional<http::responder> parked;  // /slow's
    std::vector<std::string> seen;          // the targets served
    std::error_code result = asio::error::would_block;

    // Serves: /slow is parked, anything else is answered with its target.
    void serve() {
        http::async_serve(
            *server,
            [this](const http::request& req, http::responder r) {
                seen.push_back(req.target);
                if (req.target == "/slow") {
                    r.on_abandon([] {});  // parked: watched by a readiness wait, with no read buffer
                    parked.emplace(std::move(r));
                }
                else r(http::response{200, "text/plain", req.target});
            },
            [this](std::error_code ec) { result = ec; });
    }
    void answer_slow() {
        (*parked)(http::response{200, "text/plain", "/slow"});
        parked.reset();
    }
};

}  // namespace

TEST_CASE("serve on a socket: bytes pipelined while a request is parked are answered after it in order", "[asio][serve]") {
    asio::io_context io;
    served_pair pair{io};
    pair.serve();
    asio::write(pair.client, asio::buffer(std::string("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")));
    after(io, 20, [&] { asio::write(pair.client, asio::buffer(std::string("GET /next HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"))); });
    after(io, 40, [&] { pair.answer_slow(); });
    std::string wire;
    asio::async_read(pair.client, asio::dynamic_buffer(wire), [](std::error_code, std::size_t) {});  // until the server closes
    io.run_for(std::chrono::seconds(10));
    CHECK_FALSE(pair.result);
    REQUIRE(pair.seen == std::vector<std::string>{"/slow", "/next"});
    const auto slow = wire.find("\r\n\r\n/slow");
    const auto next = wire.find("\r\n\r\n/next");
    CHECK(slow != std::string::npos);
    CHECK(next != std::string::npos);
    CHECK(slow < next);
}

TEST_CASE("serve on a socket: a client that leaves while its request is parked is noticed and the handler told", "[asio][serve]") {
    asio::io_context io;
    served_pair pair{io};
    std::optional<http::responder> parked;
    int abandoned = 0;
    std::error_code result = asio::error::would_block;
    http::async_serve(
        *pair.server,
        [&](const http::request&, http::responder r) {
            r.on_abandon([&] { ++abandoned; });
            parked.emplace(std::move(r));
        },
        [&](std::error_code ec) { result = ec; });
    asio::write(pair.client, asio::buffer(std::string("GET /poll HTTP/1.1\r\nHost: t\r\n\r\n")));
    after(io, 20, [&] { pair.client.close(); });  // the client hangs up
    io.run_for(std::chrono::seconds(10));
    CHECK(result == asio::error::operation_aborted);
    CHECK(abandoned == 1);
    CHECK_FALSE(pair.server->keep_alive());
    parked.reset();
}

TEST_CASE("serve on a socket: on_abandon with an empty function parks the request, and the client leaving calls nothing", "[asio][serve]") {
    // As with std::function: nullptr and an empty std::function are no callable.
    const std::string path = GENERATE("/a", "/b");
    asio::io_context io;
    served_pair pair{io};
    std::optional<http::responder> parked;
    std::error_code result = asio::error::would_block;
    bool empty_function = false;
    http::async_serve(
        *pair.server,
        [&](const http::request& req, http::responder r) {
            empty_function = req.path() == "/b";
            if (empty_function) r.on_abandon(std::function<void()>{});
            else r.on_abandon(nullptr);
            parked.emplace(std::move(r));
        },
        [&](std::error_code ec) { result = ec; });
    asio::write(pair.client, asio::buffer("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n"));
    after(io, 20, [&] {
        CHECK(pair.server->read_buffer_capacity() == 0);  // parked: let go of
        pair.client.close();
    });
    io.run_for(std::chrono::seconds(10));
    CHECK(empty_function == (path == "/b"));
    CHECK(result == asio::error::operation_aborted);
    parked.reset();
}

TEST_CASE("serve on a socket: a parked request holds no read buffer, an answer from another thread wakes it, and the next request is read", "[asio][serve]") {
    // Nor does the connection before its first request or between the answer and
    // the next one (read_request_op waits for readability before it makes one).
    // The loop waits on the socket's readiness alone (serve.hpp, park): the answer
    // wakes it by cancelling that wait.
    asio::io_context io;
    served_pair pair{io};
    pair.serve();
    asio::write(pair.client, asio::buffer(std::string("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")));
    CHECK(pair.server->read_buffer_capacity() == 0);  // nothing read yet: none made
    after(io, 20, [&] {
        CHECK(pair.server->read_buffer_capacity() == 0);  // parked: let go of
        std::thread([&] { pair.answer_slow(); }).join();
    });
    // Answered, and waiting for the next request: still none, until it comes.
    after(io, 50, [&] { CHECK(pair.server->read_buffer_capacity() == 0); });
    after(io, 60, [&] { asio::write(pair.client, asio::buffer(std::string("GET /then HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"))); });
    std::string wire;
    asio::async_read(pair.client, asio::dynamic_buffer(wire), [](std::error_code, std::size_t) {});
    io.run_for(std::chrono::seconds(10));
    CHECK_FALSE(pair.result);
    CHECK(pair.seen == std::vector<std::string>{"/slow", "/then"});
    CHECK(wire.find("\r\n\r\n/slow") != std::string::npos);
    CHECK(wire.find("\r\n\r\n/then") != std::string::npos);
}

TEST_CASE("serve on a socket: close() ends a parked wait and the request is abandoned", "[asio][serve]") {
    asio::io_context io;
    served_pair pair{io};
    int abandoned = 0;
    std::optional<http::responder> parked;
    http::async_serve(
        *pair.server,
        [&](const http::request&, http::responder r) {
            r.on_abandon([&] { ++abandoned; });
            parked.emplace(std::move(r));
        },
        [&](std::error_code ec) { pair.result = ec; });
    asio::write(pair.client, asio::buffer(std::string("GET /poll HTTP/1.1\r\nHost: t\r\n\r\n")));
    after(io, 20, [&] { pair.server->close(); });  // a server stop, not the client leaving
    io.run_for(std::chrono::seconds(10));
    CHECK(pair.result == asio::error::operation_aborted);
    CHECK(abandoned == 1);
    (*parked)(http::response{200});  // too late: nothing is written, nothing breaks
    io.restart();
    io.run_for(std::chrono::milliseconds(20));
    CHECK(abandoned == 1);
}

TEST_CASE("serve on a socket: a hand-off wakes a parked loop and the handler takes the connection", "[asio][serve]") {
    asio::io_context io;
    served_pair pair{io};
    std::shared_ptr<tcp_connection> taken;
    std::optional<http::responder> parked;
    http::async_serve(
        pair.server,
        [&](const http::request&, http::responder r) {
            r.on_abandon([] { FAIL("abandoned"); });
            parked.emplace(std::move(r));
        },
        [&](std::error_code ec) { pair.result = ec; });
    asio::write(pair.client, asio::buffer(std::string("GET /events HTTP/1.1\r\nHost: t\r\n\r\n")));
    after(io, 20, [&] { parked->hand_off<tcp_connection>([&](std::shared_ptr<tcp_connection> c) { taken = std::move(c); }); });
    io.run_for(std::chrono::milliseconds(200));
    CHECK_FALSE(pair.result);
    REQUIRE(taken);
    CHECK(taken == pair.server);
    CHECK(taken->next_layer().is_open());
}

TEST_CASE("serve on a socket: a connection whose requests never park leaves its socket in blocking mode", "[asio][serve]") {
    // Its first read waits for readability (no buffer yet) and then reads as Asio
    // does; only a parked request puts the socket in non-blocking mode, as SSE and
    // WebSocket streams do. A handler that takes the socket over for synchronous
    // writes keeps getting them.
    asio::io_context io;
    served_pair pair{io};
    pair.serve();
    asio::write(pair.client, asio::buffer(std::string("GET /now HTTP/1.1\r\nHost: t\r\n\r\n")));  // kept alive: still open after
    std::string wire;
    asio::async_read_until(pair.client, asio::dynamic_buffer(wire), "\r\n\r\n/now", [&](std::error_code, std::size_t) { io.stop(); });
    io.run_for(std::chrono::seconds(10));
    CHECK(wire.find("\r\n\r\n/now") != std::string::npos);
    REQUIRE(pair.server->next_layer().is_open());
    CHECK_FALSE(pair.server->next_layer().non_blocking());
}
