// The hub's routes on a loopback server running on a thread of its own, for the
// tests of the hub over HTTP.
#ifndef HERALD_TESTS_ASIO_HUB_SERVER_HPP
#define HERALD_TESTS_ASIO_HUB_SERVER_HPP

#include "server_thread.hpp"
#include "support.hpp"

#include <herald/asio/hub.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <thread>

namespace herald::testing {

// The hub's routes on a loopback server running on a thread of its own.
struct hub_server {
    using server_type = http::basic_server<asio::io_context::executor_type>;

    explicit hub_server(hub::hub_limits limits = {}, hub::route_options options = {})
        : hub("ep", limits), routes(hub, io.get_executor(), std::move(options)),
          server(io.get_executor(), [this](const http::request& req, http::responder respond) {
              if (!routes(req, respond)) respond({404, "text/plain", "no\n"});
          }) {}
    asio::ip::tcp::endpoint endpoint() const { return server.local_endpoint(); }
    std::string publish(const std::string& data, const std::string& topic = "t") {
        const auto res = http_exchange(endpoint(), "POST /api/publish?topic=" + topic + " HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                                                       std::to_string(data.size()) + "\r\n\r\n" + data);
        return std::to_string(res.status) + " " + res.body;
    }

    asio::io_context io;
    hub::service hub;
    hub::routes<server_type> routes;
    server_type server;
    server_thread<server_type> running{io, server};
};

}  // namespace herald::testing

#endif
