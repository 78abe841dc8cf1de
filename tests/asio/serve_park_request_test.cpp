// async_serve on a real socket lets go of a parked request while it waits
// (server_connection::let_go_of_request): its target, fields and body go, and the
// answer still follows what the request asked for — no content for HEAD,
// `Connection: close` when the client said so — from the two facts kept.
#include "support.hpp"

#include <herald/asio/serve.hpp>
#include <herald/asio/sse.hpp>
#include <herald/memory_budget.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/read_until.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

using namespace herald;
using testing::quiet_options;
using tcp = asio::ip::tcp;

namespace {

using parked_connection = http::server_connection<tcp::socket>;

// A connection served with async_serve, its client socket, and the request
// parked on it (every request parks, as a long poll does). `when_parked` runs
// once the loop has parked the request (posted from the handler, so after it).
struct parking_pair {
    parking_pair(asio::io_context& io, const http::server_options& options) : client(io) {
        tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
        client.connect(acceptor.local_endpoint());
        server = std::make_shared<parked_connection>(acceptor.accept(), options);
        http::async_serve(
            server,
            [this, &io](const http::request& req, http::responder r) {
                seen.push_back(req.method + " " + req.target + " " + req.body);
                r.on_abandon([] {});
                parked.emplace(std::move(r));
                asio::post(io, [this] {
                    if (when_parked) when_parked();
                });
            },
            [this](std::error_code ec) { result = ec; });
    }
    void answer(std::string body) {
        (*std::exchange(parked, std::nullopt))(http::response{200, "text/plain", std::move(body)});
    }
    // Reads into `wire` until the server closes.
    void read_all() {
        asio::async_read(client, asio::dynamic_buffer(wire), [](std::error_code, std::size_t) {});
    }

    tcp::socket client;
    std::shared_ptr<parked_connection> server;
    std::optional<http::responder> parked;
    std::function<void()> when_parked;
    std::vector<std::string> seen;
    std::string wire;
    std::error_code result = asio::error::would_block;
};

}  // namespace

TEST_CASE("serve on a socket: a parked request is let go of, and its HEAD answer has no content and closes as asked",
          "[asio][serve]") {
    asio::io_context io;
    parking_pair pair{io, quiet_options()};
    asio::write(pair.client, asio::buffer(std::string("HEAD /slow?since=1 HTTP/1.1\r\nHost: t\r\nX-Long: "
                                                      + std::string(200, 'x') + "\r\nConnection: close\r\n\r\n")));
    pair.when_parked = [&] {
        const auto& request = std::as_const(*pair.server).request();
        CHECK(request.target == "/");  // none: the default of a connection before its first request
        CHECK(request.fields.size() == 0);
        CHECK(pair.server->head_request());  // kept apart
        (void)pair.server->request();         // makes an empty request: the answer still follows the facts
        CHECK(pair.server->head_request());
        pair.answer("hello");
    };
    pair.read_all();
    io.run_for(std::chrono::seconds(10));
    CHECK_FALSE(pair.result);
    CHECK(pair.seen == std::vector<std::string>{"HEAD /slow?since=1 "});
    INFO(pair.wire);
    CHECK(pair.wire.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(pair.wire.find("Content-Length: 5\r\n") != std::string::npos);  // a GET's fields (RFC 9110 §9.3.2)
    CHECK(pair.wire.find("Connection: close\r\n") != std::string::npos);
    CHECK(pair.wire.size() == pair.wire.find("\r\n\r\n") + 4);  // and no content
    CHECK_FALSE(pair.server->next_layer().is_open());            // closed after it, as the client asked
}

TEST_CASE("serve on a socket: after a parked request is answered the next request is read whole, body included",
          "[asio][serve]") {
    asio::io_context io;
    memory_budget budget{1024 * 1024};
    auto options = quiet_options();
    options.budget = &budget;
    parking_pair pair{io, options};
    asio::write(pair.client, asio::buffer(std::string("POST /first HTTP/1.1\r\nHost: t\r\nContent-Length: 3000\r\n\r\n")
                                          + std::string(3000, 'a')));
    pair.when_parked = [&] {
        CHECK(budget.used() == 0);  // the body went with the request, and back to the budget
        pair.answer("one");
        // The second request once the first answer is in: read afresh, not
        // pipelined behind the parked one.
        asio::async_read_until(pair.client, asio::dynamic_buffer(pair.wire), "\r\n\r\none", [&](std::error_code ec, std::size_t) {
            REQUIRE_FALSE(ec);
            asio::write(pair.client, asio::buffer(std::string("POST /second HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n"
                                                              "Connection: close\r\n\r\nbb")));
            pair.when_parked = [&] { pair.answer("two"); };
            pair.read_all();
        });
    };
    io.run_for(std::chrono::seconds(10));
    CHECK_FALSE(pair.result);
    CHECK(pair.seen == std::vector<std::string>{"POST /first " + std::string(3000, 'a'), "POST /second bb"});
    const auto one = pair.wire.find("\r\n\r\none");
    const auto two = pair.wire.find("\r\n\r\ntwo");
    CHECK(one != std::string::npos);
    CHECK(two != std::string::npos);
    CHECK(one < two);
    CHECK(pair.wire.find("Connection: close") > one);  // the first answer kept the connection
}

TEST_CASE("serve on a socket: a parked HEAD handed off to an event stream gets the stream's head and no events",
          "[asio][serve][sse]") {
    // The request is let go of while parked; the stream still knows it answers
    // a HEAD (server_connection::head_request, RFC 9110 §9.3.2).
    asio::io_context io;
    parking_pair pair{io, quiet_options()};
    std::shared_ptr<sse::event_stream<tcp::socket>> stream;
    std::optional<std::error_code> ran;
    asio::write(pair.client, asio::buffer(std::string("HEAD /events HTTP/1.1\r\nHost: t\r\n\r\n")));
    pair.when_parked = [&] {
        std::exchange(pair.parked, std::nullopt)->hand_off<parked_connection>([&](std::shared_ptr<parked_connection> c) {
            stream = std::make_shared<sse::event_stream<tcp::socket>>(std::move(c));
            stream->send(std::make_shared<const std::string>("data: hello\n\n"));
            stream->async_run([&](std::error_code ec) { ran = ec; });
        });
    };
    pair.read_all();
    io.run_for(std::chrono::seconds(10));
    REQUIRE(stream);
    CHECK(ran == std::error_code{});
    INFO(pair.wire);
    CHECK(pair.wire.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(pair.wire.find("Content-Type: text/event-stream\r\n") != std::string::npos);
    CHECK(pair.wire.size() == pair.wire.find("\r\n\r\n") + 4);  // no event, no retry line
}
