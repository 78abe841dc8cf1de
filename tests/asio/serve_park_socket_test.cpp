// async_serve on a real socket while a request is parked: the connection waits
// for readability and holds no read buffer (http.hpp, server_connection::watch),
// and still notices the client leaving and keeps what it pipelines.
#include "support.hpp"

#include <herald/asio/serve.hpp>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

using namespace herald;
using testing::after;
using testing::quiet_options;
using tcp = asio::ip::tcp;
using connection = http::server_connection<tcp::socket>;

namespace {

// A server connection and the client socket at its other end, on `io`.
struct socket_pair {
    explicit socket_pair(asio::io_context& io) : client(io) {
        tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
        client.connect(acceptor.local_endpoint());
        server.emplace(acceptor.accept(), quiet_options());
    }
    tcp::socket client;
    std::optional<connection> server;
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
    socket_pair pair{io};
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
    socket_pair pair{io};
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

TEST_CASE("serve on a socket: the next request after a late answer is read by the watch", "[asio][serve]") {
    asio::io_context io;
    socket_pair pair{io};
    pair.serve();
    asio::write(pair.client, asio::buffer(std::string("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")));
    after(io, 20, [&] { pair.answer_slow(); });
    after(io, 60, [&] { asio::write(pair.client, asio::buffer(std::string("GET /then HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"))); });
    std::string wire;
    asio::async_read(pair.client, asio::dynamic_buffer(wire), [](std::error_code, std::size_t) {});
    io.run_for(std::chrono::seconds(10));
    CHECK_FALSE(pair.result);
    CHECK(pair.seen == std::vector<std::string>{"/slow", "/then"});
    CHECK(wire.find("\r\n\r\n/then") != std::string::npos);
}
