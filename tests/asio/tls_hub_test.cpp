// The hub's routes on a TLS server, read by herald's SSE and long-poll clients over
// https (their tls::client_transport), the certificate verified.
#include "server_thread.hpp"
#include "support.hpp"
#include "tls_support.hpp"

#include <herald/asio/hub.hpp>
#include <herald/asio/longpoll_client.hpp>
#include <herald/asio/sse_client.hpp>
#include <herald/asio/tls.hpp>

#include <catch2/catch.hpp>

#include <future>
#include <thread>

using namespace herald;

namespace {

using executor = asio::io_context::executor_type;
using tls_server_type = http::basic_server<executor, asio::strand<executor>, tls::server_transport>;

using testing::tls_client_context;

struct tls_hub {
    tls_hub()
        : hub("ep"), routes(hub, io.get_executor()),
          server(io.get_executor(),
                 [this](const http::request& req, http::responder respond) {
                     if (!routes(req, respond)) respond({404, "text/plain", "no\n"});
                 },
                 {}, tls::server_transport{testing::tls_server_context()}) {}
    void publish(const std::string& data) {
        std::promise<void> done;
        asio::post(io, [&] { hub.publish("t", data, [&](std::error_code, hub::message_ptr) { done.set_value(); }); });
        done.get_future().wait();
    }
    std::string port() const { return std::to_string(server.local_endpoint().port()); }

    asio::io_context io;
    hub::service hub;
    hub::routes<tls_server_type> routes;
    tls_server_type server;
    testing::server_thread<tls_server_type> running{io, server};
};

}  // namespace

TEST_CASE("tls: herald's SSE and long-poll clients read the hub over https, resuming by id", "[asio][tls]") {
    tls_hub server;
    server.publish("one");  // the topic exists before the clients come
    asio::io_context io;
    sse::client_options sse_options;
    sse_options.host = "localhost";
    sse_options.port = server.port();
    sse_options.target = "/api/events?topic=t&since=ep-0";
    sse::basic_client<tls::client_transport> events{io.get_executor(), sse_options, 1, tls::client_transport{tls_client_context()}};
    longpoll::client_options poll_options;
    poll_options.host = "localhost";
    poll_options.port = server.port();
    poll_options.target = "/api/poll";
    poll_options.topic = "t";
    poll_options.since = "ep-0";
    longpoll::basic_client<tls::client_transport> polls{io.get_executor(), poll_options, 2, tls::client_transport{tls_client_context()}};

    std::vector<std::string> streamed, polled;
    std::function<void()> next_event = [&] {
        events.async_next([&](std::error_code ec, sse::received_event ev) {
            if (ec) return;
            if (ev.type == "message") streamed.push_back(ev.data + "@" + ev.id);
            if (streamed.size() < 3) next_event();
            else events.close();
        });
    };
    std::function<void()> next_poll = [&] {
        polls.async_next([&](std::error_code ec, longpoll::answer a) {
            if (ec) return;
            for (auto& m : a.messages) polled.push_back(m);
            if (polled.size() < 3) next_poll();
            else polls.close();
        });
    };
    next_event();
    next_poll();
    std::thread publisher([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        server.publish("two");
        server.publish("three");
    });
    io.run_for(std::chrono::seconds(10));
    publisher.join();
    CHECK(streamed == std::vector<std::string>{"one@ep-1", "two@ep-2", "three@ep-3"});
    CHECK(polled == std::vector<std::string>{"one", "two", "three"});
    CHECK(events.connections() == 1);
}

TEST_CASE("tls: an SSE client that does not trust the certificate is refused and retries", "[asio][tls]") {
    tls_hub server;
    asio::io_context io;
    sse::client_options options;
    options.host = "localhost";
    options.port = server.port();
    options.target = "/api/events?topic=t";
    options.backoff.max_attempts = 2;
    options.reconnection_time = std::chrono::milliseconds(10);
    std::error_code ec;
    auto untrusting = tls::make_client_context("", ec);  // the system's authorities only
    REQUIRE_FALSE(ec);
    sse::basic_client<tls::client_transport> events{io.get_executor(), options, 1, tls::client_transport{untrusting}};
    std::error_code result = asio::error::would_block;
    events.async_next([&](std::error_code e, sse::received_event) { result = e; });
    io.run_for(std::chrono::seconds(10));
    CHECK(result.category() == asio::error::get_ssl_category());
    CHECK(events.connections() == 0);
}
