// Drives examples/short_poll_server over loopback, as a browser's fetch would.
#include "../support/process.hpp"

#include <herald/http/parser.hpp>
#include <herald/http/serializer.hpp>

#include <asio/read.hpp>
#include <asio/write.hpp>

#include <catch2/catch.hpp>

using namespace herald;

namespace {

struct reply {
    unsigned status = 0;
    std::string body;
};

// One request on a keep-alive connection, answered by one response.
reply call(asio::ip::tcp::socket& socket, const std::string& method, const std::string& target, const std::string& body = "") {
    http::request req;
    req.method = method;
    req.target = target;
    req.fields.append("Host", "127.0.0.1");
    req.body = body;
    std::string wire;
    REQUIRE_FALSE(http::serialize_head(req, wire));
    wire += body;
    asio::write(socket, asio::buffer(wire));
    http::response_parser p;
    reply r;
    std::array<char, 4096> chunk;
    while (true) {
        const std::size_t n = socket.read_some(asio::buffer(chunk));
        std::string_view view{chunk.data(), n};
        for (http::event ev = p.next(view); ev.type != http::event_type::need_more; ev = p.next(view)) {
            REQUIRE(ev.type != http::event_type::error);
            if (ev.type == http::event_type::head) r.status = p.status();
            if (ev.type == http::event_type::body) r.body.append(ev.data);
            if (ev.type == http::event_type::end_of_message) return r;
        }
    }
}

}  // namespace

TEST_CASE("short polling example: publish then poll with a cursor", "[example][loopback]") {
    test_support::child_server server{HERALD_SHORT_POLL_SERVER, {"--history", "3"}};
    asio::io_context io;
    asio::ip::tcp::socket socket{io};
    socket.connect(server.endpoint());

    CHECK(call(socket, "GET", "/messages").body == R"({"messages":[],"last_id":0})");
    CHECK(call(socket, "POST", "/messages", "hello").status == 201);
    CHECK(call(socket, "POST", "/messages", "quote \" and\nnewline").body == R"({"id":2})");
    CHECK(call(socket, "GET", "/messages?since=0").body ==
          R"({"messages":[{"id":1,"text":"hello"},{"id":2,"text":"quote \" and\nnewline"}],"last_id":2})");
    CHECK(call(socket, "GET", "/messages?since=1").body ==
          R"({"messages":[{"id":2,"text":"quote \" and\nnewline"}],"last_id":2})");
    CHECK(call(socket, "GET", "/messages?since=2").body == R"({"messages":[],"last_id":2})");
    // Only the newest three are kept (--history 3).
    for (const char* text : {"c", "d", "e"}) call(socket, "POST", "/messages", text);
    CHECK(call(socket, "GET", "/messages?since=0").body ==
          R"({"messages":[{"id":3,"text":"c"},{"id":4,"text":"d"},{"id":5,"text":"e"}],"last_id":5})");
    CHECK(call(socket, "GET", "/messages?since=abc").status == 400);
    CHECK(call(socket, "DELETE", "/messages").status == 405);
    CHECK(call(socket, "GET", "/nowhere").status == 404);
    const reply page = call(socket, "GET", "/");
    CHECK(page.status == 200);
    CHECK(page.body.find("fetch('/messages?since='") != std::string::npos);
}

TEST_CASE("short polling example: an answer carries a bounded part of the history, with the cursor to go on from",
          "[example][loopback]") {
    test_support::child_server server{HERALD_SHORT_POLL_SERVER, {"--answer-messages", "7", "--answer-bytes", "4096"}};
    asio::io_context io;
    asio::ip::tcp::socket socket{io};
    socket.connect(server.endpoint());
    for (int i = 1; i <= 40; ++i) REQUIRE(call(socket, "POST", "/messages", "m" + std::to_string(i) + std::string(200, '.')).status == 201);
    // Following last_id while "more" is said collects every message once, in order.
    std::uint64_t since = 0;
    int next = 1, answers = 0;
    while (true) {
        const reply r = call(socket, "GET", "/messages?since=" + std::to_string(since));
        REQUIRE(r.status == 200);
        CHECK(r.body.size() <= 4096 + 300);  // the byte budget, give or take one message
        ++answers;
        std::size_t at = 0;
        int in_answer = 0;
        while ((at = r.body.find("\"text\":\"m", at)) != std::string::npos) {
            at += 9;
            CHECK(std::stoi(r.body.substr(at)) == next);
            ++next;
            ++in_answer;
        }
        CHECK(in_answer <= 7);
        const auto last = r.body.find("\"last_id\":");
        REQUIRE(last != std::string::npos);
        since = std::stoull(r.body.substr(last + 10));
        if (r.body.find("\"more\":true") == std::string::npos) break;
        REQUIRE(answers < 40);
    }
    CHECK(next == 41);
    CHECK(since == 40);
    CHECK(answers > 5);  // before: one answer of everything
}

TEST_CASE("short polling example: control bytes posted cannot amplify an answer past its budget", "[example][loopback]") {
    test_support::child_server server{HERALD_SHORT_POLL_SERVER, {}};
    asio::io_context io;
    asio::ip::tcp::socket socket{io};
    socket.connect(server.endpoint());
    CHECK(call(socket, "POST", "/messages", std::string(64 * 1024 + 1, '\x01')).status == 413);  // over --max-message
    for (int i = 0; i < 20; ++i) REQUIRE(call(socket, "POST", "/messages", std::string(64 * 1024, '\x01')).status == 201);
    // Each is 384 KiB of \u0001 escapes: one fits in an answer (at least one always
    // goes), so the answer is about that, not 7.5 MiB of the twenty.
    const reply r = call(socket, "GET", "/messages?since=0");
    CHECK(r.body.size() < 400 * 1024);
    CHECK(r.body.find("\"more\":true") != std::string::npos);
}
