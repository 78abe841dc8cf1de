// sse::client against a loopback server of canned answers: the browser's rules
// (WHATWG HTML §9.2) for the last event ID, redirects and oversize events.
#include <herald/asio/sse_client.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/write.hpp>

#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace herald;
using asio::ip::tcp;

namespace {

// Answers the n-th connection's request with answers[n] (the last one again when
// they run out) and closes it; records each request's head.
class canned_server {
public:
    canned_server(asio::io_context& io, std::vector<std::string> answers)
        : acceptor_(io, {asio::ip::make_address("127.0.0.1"), 0}), answers_(std::move(answers)) {
        accept();
    }
    std::string port() const { return std::to_string(acceptor_.local_endpoint().port()); }
    const std::vector<std::string>& requests() const { return requests_; }

private:
    void accept() {
        acceptor_.async_accept([this](std::error_code ec, tcp::socket socket) {
            if (ec) return;
            auto s = std::make_shared<tcp::socket>(std::move(socket));
            auto head = std::make_shared<std::string>();
            asio::async_read_until(*s, asio::dynamic_buffer(*head), "\r\n\r\n", [this, s, head](std::error_code ec2, std::size_t) {
                if (ec2) return;
                requests_.push_back(*head);
                const std::string& answer = answers_[std::min(requests_.size(), answers_.size()) - 1];
                asio::async_write(*s, asio::buffer(answer), [s](std::error_code, std::size_t) {
                    std::error_code ignored;
                    s->shutdown(tcp::socket::shutdown_both, ignored);
                    s->close(ignored);
                });
            });
            accept();
        });
    }

    tcp::acceptor acceptor_;
    std::vector<std::string> answers_;
    std::vector<std::string> requests_;
};

std::string sse_body(const std::string& body) {
    return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n" + body;
}

std::string redirect(unsigned status, const std::string& location) {
    return "HTTP/1.1 " + std::to_string(status) + " Moved\r\nLocation: " + location + "\r\nContent-Length: 0\r\n\r\n";
}

sse::client_options options_for(const canned_server& server) {
    sse::client_options o;
    o.port = server.port();
    o.reconnection_time = std::chrono::milliseconds(5);
    o.backoff.base = std::chrono::milliseconds(5);
    return o;
}

// The next `n` results of async_next, running `io` (bounded).
std::vector<std::pair<std::error_code, sse::received_event>> next_results(sse::client& client, asio::io_context& io, std::size_t n) {
    std::vector<std::pair<std::error_code, sse::received_event>> out;
    std::function<void()> next = [&] {
        client.async_next([&](std::error_code ec, sse::received_event ev) {
            out.emplace_back(ec, std::move(ev));
            if (!ec && out.size() < n) next();
        });
    };
    next();
    io.restart();
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (out.size() < n && (out.empty() || !out.back().first) && std::chrono::steady_clock::now() < give_up)
        io.run_one_for(std::chrono::milliseconds(20));
    return out;
}

bool sends_last_event_id(const std::string& request, const std::string& id) {
    return request.find("\r\nLast-Event-ID: " + id + "\r\n") != std::string::npos;
}

}  // namespace

TEST_CASE("sse client: an id field with no value clears the last event ID (WPT format-field-id-3)", "[asio][sse][client]") {
    asio::io_context io;
    canned_server server{io, {sse_body("id: 1\ndata: a\n\nid:\ndata: b\n\n"), sse_body("data: c\n\n")}};
    sse::client client{io.get_executor(), options_for(server), 1};
    const auto got = next_results(client, io, 3);
    REQUIRE(got.size() == 3);
    CHECK(got[0].second.id == "1");
    CHECK(got[1].second.id.empty());
    CHECK(got[2].second.data == "c");
    REQUIRE(server.requests().size() >= 2);
    CHECK(server.requests()[1].find("Last-Event-ID") == std::string::npos);  // before: "Last-Event-ID: 1"
}

TEST_CASE("sse client: an id in a block without data still counts for the reconnection", "[asio][sse][client]") {
    asio::io_context io;
    canned_server server{io, {sse_body("data: a\n\nid: 7\n\n"), sse_body("data: b\n\n")}};
    sse::client client{io.get_executor(), options_for(server), 1};
    const auto got = next_results(client, io, 2);
    REQUIRE(got.size() == 2);
    CHECK(got[1].second.data == "b");
    CHECK(got[1].second.id == "7");
    CHECK(client.last_event_id() == "7");
    REQUIRE(server.requests().size() >= 2);
    CHECK(sends_last_event_id(server.requests()[1], "7"));  // before: none was sent
}

TEST_CASE("sse client: a seeded last event ID is sent until the stream names another", "[asio][sse][client]") {
    asio::io_context io;
    canned_server server{io, {sse_body("data: a\n\n"), sse_body("data: b\n\n")}};
    auto options = options_for(server);
    options.last_event_id = "seed-3";
    sse::client client{io.get_executor(), options, 1};
    const auto got = next_results(client, io, 2);
    REQUIRE(got.size() == 2);
    CHECK(got[0].second.id == "seed-3");
    REQUIRE(server.requests().size() >= 2);
    CHECK(sends_last_event_id(server.requests()[0], "seed-3"));
    CHECK(sends_last_event_id(server.requests()[1], "seed-3"));
}

TEST_CASE("sse client: redirects are followed, to a path or an http URL, with every redirect status (WPT request-redirect)",
          "[asio][sse][client]") {
    for (const unsigned status : {301u, 302u, 303u, 307u, 308u}) {
        INFO("status " << status);
        asio::io_context io;
        canned_server target{io, {sse_body("id: 9\ndata: there\n\n")}};
        canned_server server{io, {redirect(status, "/second?x=1#a-fragment"),
                                  redirect(status, "http://127.0.0.1:" + target.port() + "/third")}};
        auto options = options_for(server);
        options.last_event_id = "4";
        sse::client client{io.get_executor(), options, 1};
        const auto got = next_results(client, io, 1);
        REQUIRE(got.size() == 1);
        REQUIRE_FALSE(got[0].first);  // before: bad_status, for good
        CHECK(got[0].second.data == "there");
        REQUIRE(server.requests().size() == 2);
        CHECK(server.requests()[0].rfind("GET /events HTTP/1.1\r\n", 0) == 0);
        CHECK(server.requests()[1].rfind("GET /second?x=1 HTTP/1.1\r\n", 0) == 0);
        REQUIRE(target.requests().size() == 1);
        CHECK(target.requests()[0].rfind("GET /third HTTP/1.1\r\nHost: 127.0.0.1:" + target.port() + "\r\n", 0) == 0);
        CHECK(sends_last_event_id(target.requests()[0], "4"));
    }
}

TEST_CASE("sse client: a redirect loop fails for good after 20, and so does a Location it cannot follow", "[asio][sse][client]") {
    {
        asio::io_context io;
        canned_server server{io, {redirect(302, "/again")}};
        sse::client client{io.get_executor(), options_for(server), 1};
        const auto got = next_results(client, io, 1);
        REQUIRE(got.size() == 1);
        CHECK(got[0].first == sse::error::too_many_redirects);
        CHECK(server.requests().size() == 21);  // the first request and 20 redirects
    }
    for (const std::string location : {"https://127.0.0.1/events", "ftp://x/", "relative/path", "//other.example/x",
                                       "http://127.0.0.1:8x/", "http://user@127.0.0.1/"}) {
        INFO(location);
        asio::io_context io;
        canned_server server{io, {redirect(307, location)}};
        sse::client client{io.get_executor(), options_for(server), 1};
        const auto got = next_results(client, io, 1);
        REQUIRE(got.size() == 1);
        CHECK(got[0].first == sse::error::bad_redirect);
        CHECK(server.requests().size() == 1);
    }
}

TEST_CASE("sse client: a line over the limit fails the stream for good instead of downloading it again and again",
          "[asio][sse][client]") {
    asio::io_context io;
    canned_server server{io, {sse_body("data: ok\n\ndata: " + std::string(500, 'x') + "\n\n")}};
    auto options = options_for(server);
    options.limits.max_line = 100;
    sse::client client{io.get_executor(), options, 1};
    const auto got = next_results(client, io, 2);
    REQUIRE(got.size() == 2);
    CHECK(got[0].second.data == "ok");
    CHECK(got[1].first == sse::error::line_too_long);
    io.restart();
    io.run_for(std::chrono::milliseconds(200));  // ample time for reconnections at 5 ms
    CHECK(server.requests().size() == 1);        // before: one more every few milliseconds
}
