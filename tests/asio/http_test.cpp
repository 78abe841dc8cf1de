// The HTTP server connection over herald's in-memory test stream: deterministic,
// no sockets. Responses are read back with herald's own response parser.
#include "support.hpp"

#include <herald/asio/serve.hpp>
#include <herald/memory_budget.hpp>
#include <herald/test/stream.hpp>

#include <asio/bind_executor.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <asio/write.hpp>

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace herald;
using testing::quiet_options;
using connection = http::server_connection<test::stream>;

namespace {

struct parsed_response {
    unsigned status = 0;
    http::fields fields;
    std::string body;
};

// Parses every response in `wire`; fails the test on malformed output.
std::vector<parsed_response> parse_responses(const std::string& wire, bool head_request = false) {
    std::vector<parsed_response> out;
    http::response_parser p;
    p.expect_no_body(head_request);
    std::string_view view{wire};
    while (true) {
        const http::event ev = p.next(view);
        if (ev.type == http::event_type::need_more) break;
        REQUIRE(ev.type != http::event_type::error);
        if (ev.type == http::event_type::head) {
            out.push_back({p.status(), p.fields(), {}});
            if (p.status() == 100) continue;
        }
        if (ev.type == http::event_type::body) out.back().body.append(ev.data);
    }
    return out;
}

http::response echo(const http::request& req) {
    http::response res{200, "text/plain", req.method + " " + req.target + " " + req.body};
    return res;
}

// Serves `input` (then EOF) and returns the completion error and what was written.
std::pair<std::error_code, std::string> serve_bytes(std::string_view input, http::server_options options = quiet_options(),
                                                     std::size_t read_size = 0, std::size_t write_size = 0) {
    asio::io_context io;
    test::stream client_side{io.get_executor(), input};
    if (read_size) client_side.read_size(read_size);
    if (write_size) client_side.write_size(write_size);
    client_side.close_remote();
    connection conn{std::move(client_side), options};
    std::error_code result = asio::error::would_block;
    http::async_serve(conn, echo, [&](std::error_code ec) { result = ec; });
    io.run();
    return {result, conn.next_layer().str()};
}

}  // namespace

TEST_CASE("serve: one request - one response - normal end on EOF", "[asio][http]") {
    auto [ec, wire] = serve_bytes("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK_FALSE(ec);
    CHECK(wire == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nGET /hello ");
}

TEST_CASE("serve: pipelined requests are answered in order - with short reads and writes", "[asio][http]") {
    const std::string input =
        "GET /1 HTTP/1.1\r\nHost: t\r\n\r\nPOST /2 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
        "POST /3 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n";
    for (std::size_t piece : {0u, 1u, 7u}) {
        auto [ec, wire] = serve_bytes(input, quiet_options(), piece, piece);
        INFO("read and write size " << piece);
        CHECK_FALSE(ec);
        const auto responses = parse_responses(wire);
        REQUIRE(responses.size() == 3);
        CHECK(responses[0].body == "GET /1 ");
        CHECK(responses[1].body == "POST /2 abc");
        CHECK(responses[2].body == "POST /3 xy");
    }
}

TEST_CASE("serve: Connection: close ends the connection after the answer", "[asio][http]") {
    auto [ec, wire] = serve_bytes("GET /a HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_FALSE(ec);
    const auto responses = parse_responses(wire);
    REQUIRE(responses.size() == 1);
    CHECK(responses[0].fields.has_token("Connection", "close"));
}

TEST_CASE("serve: HTTP/1.0 without keep-alive is answered and closed", "[asio][http]") {
    auto [ec, wire] = serve_bytes("GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n");
    CHECK_FALSE(ec);
    CHECK(parse_responses(wire).size() == 1);
}

TEST_CASE("serve: HEAD gets the fields of GET and no body", "[asio][http]") {
    auto [ec, wire] = serve_bytes("HEAD /x HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_FALSE(ec);
    CHECK(wire == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\n");
}

TEST_CASE("serve: an error answer to HEAD has its fields and no content", "[asio][http]") {
    auto [ec, wire] = serve_bytes("HEAD /x HTTP/1.1\r\nHost: a b\r\n\r\n");  // RFC 9112 §3.2: a bad Host
    CHECK(ec == http::error::bad_host);
    INFO(wire);
    CHECK(wire.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
    const auto length = "Content-Length: " + std::to_string(std::error_code(http::error::bad_host).message().size() + 1) + "\r\n";
    CHECK(wire.find(length) != std::string::npos);  // a GET's (RFC 9110 §9.3.2)
    CHECK(wire.size() == wire.find("\r\n\r\n") + 4);
}

TEST_CASE("serve: parse errors are answered with their status and the connection closed", "[asio][http]") {
    struct case_t {
        std::string input;
        unsigned status;
        http::error error;
    };
    http::server_options options = quiet_options();
    options.limits.max_header_bytes = 256;
    options.limits.max_body = 8;
    options.limits.max_target = 100;
    const std::vector<case_t> cases{
        {"GET / HTTP/1.1\r\nHost: t\r\nBad Name: x\r\n\r\n", 400, http::error::bad_field},
        {"BREW / HTTP/1.1\r\nHost: t\r\n\r\n", 501, http::error::unknown_method},
        {"GET / HTTP/2.0\r\n\r\n", 505, http::error::version_not_supported},
        {"GET /" + std::string(150, 'a') + " HTTP/1.1\r\n\r\n", 414, http::error::target_too_long},
        {"GET / HTTP/1.1\r\nHost: t\r\nX: " + std::string(300, 'a') + "\r\n\r\n", 431, http::error::header_too_large},
        {"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 9\r\n\r\n123456789", 413, http::error::body_too_large},
        // RFC 9112 §3.2: an HTTP/1.1 request without Host, any with two, a bad value.
        {"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400, http::error::bad_host},
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, http::error::bad_host},
        {"GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", 400, http::error::bad_host},
        {"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, http::error::bad_host},
        {"GET / HTTP/1.1\r\nHost: a/b@c\r\n\r\n", 400, http::error::bad_host},
        // RFC 9112 §7.1: chunk data ends with CRLF; a chunk larger than the body limit
        // is refused at its size line.
        {"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxyZZ0\r\n\r\n", 400, http::error::bad_chunk},
        {"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n7fffffffffffffff\r\n", 413, http::error::body_too_large},
    };
    for (const auto& c : cases) {
        // The bad request comes after a good one, which must still be answered.
        auto [ec, wire] = serve_bytes("GET /ok HTTP/1.1\r\nHost: t\r\n\r\n" + c.input + "GET /never HTTP/1.1\r\nHost: t\r\n\r\n", options);
        INFO(c.input.substr(0, 40));
        CHECK(ec == c.error);
        const auto responses = parse_responses(wire);
        REQUIRE(responses.size() == 2);
        CHECK(responses[0].status == 200);
        CHECK(responses[1].status == c.status);
        CHECK(responses[1].fields.has_token("Connection", "close"));
        CHECK(responses[1].body == std::error_code(c.error).message() + "\n");
    }
}

TEST_CASE("serve: a body the memory budget cannot hold is answered 503 with Retry-After, and a body read is given back",
          "[asio][http][budget]") {
    memory_budget budget{1000};
    http::server_options options = quiet_options();
    options.budget = &budget;
    // Two bodies within the budget, one after the other on one connection: the
    // first is given back when the next request is read, so both fit.
    const std::string fits = "POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 800\r\n\r\n" + std::string(800, 'a');
    auto [ok, ok_wire] = serve_bytes(fits + fits, options, 100);
    CHECK_FALSE(ok);  // a normal end
    const auto answered = parse_responses(ok_wire);
    REQUIRE(answered.size() == 2);
    CHECK(answered[0].status == 200);
    CHECK(answered[1].status == 200);
    CHECK(budget.used() == 0);
    // A body larger than what is left: refused while it arrives, before it is all read.
    CHECK(budget.try_take(500));
    auto [refused, wire] = serve_bytes("POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 800\r\n\r\n" + std::string(800, 'b'),
                                       options, 100);
    CHECK(refused == budget_error::exhausted);
    const auto responses = parse_responses(wire);
    REQUIRE(responses.size() == 1);
    CHECK(responses[0].status == 503);
    CHECK(responses[0].fields.find("Retry-After") == std::optional<std::string_view>("1"));
    CHECK(responses[0].fields.has_token("Connection", "close"));
    CHECK(budget.used() == 500);  // the refused connection holds nothing
    CHECK(budget.refusals() == 1);
}

TEST_CASE("serve: a request cut short by EOF is not answered", "[asio][http]") {
    auto [ec, wire] = serve_bytes("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
    CHECK(ec == http::error::partial_message);
    CHECK(wire.empty());
}

TEST_CASE("serve: a failure at every operation ends the connection with that error", "[asio][http]") {
    const std::string input = "GET /1 HTTP/1.1\r\nHost: t\r\n\r\nPOST /2 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc";
    for (std::size_t n = 0; n < 12; ++n) {
        asio::io_context io;
        test::fail_count fc{n};
        test::stream stream{io.get_executor(), fc};
        stream.append(input);
        stream.read_size(5);
        stream.close_remote();
        connection conn{std::move(stream), quiet_options()};
        std::error_code result = asio::error::would_block;
        http::async_serve(conn, echo, [&](std::error_code ec) { result = ec; });
        io.run();
        INFO("failing operation " << n);
        CHECK(result != asio::error::would_block);  // it completed: no hang
        // Up to the failing operation all went well; from it on, the error ends it.
        if (result) CHECK(result == test::error::injected_failure);
    }
}

TEST_CASE("serve: Expect 100-continue gets the interim answer before the body is sent", "[asio][http]") {
    asio::io_context io;
    test::stream client{io.get_executor()};
    test::stream server_side{io.get_executor()};
    client.connect(server_side);
    connection conn{std::move(server_side), quiet_options()};
    std::error_code result = asio::error::would_block;
    http::async_serve(conn, echo, [&](std::error_code ec) { result = ec; });
    asio::write(client, asio::buffer(std::string_view{"PUT /up HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"}));
    std::string received;
    std::array<char, 512> chunk;
    // The client waits for 100 Continue before sending the body, as curl does.
    std::function<void(std::error_code, std::size_t)> on_read = [&](std::error_code ec, std::size_t n) {
        if (ec) return;
        received.append(chunk.data(), n);
        if (received == "HTTP/1.1 100 Continue\r\n\r\n") asio::write(client, asio::buffer(std::string_view{"data"}));
        if (received.find("PUT /up data") != std::string::npos) {
            client.close();
            return;
        }
        client.async_read_some(asio::buffer(chunk), on_read);
    };
    client.async_read_some(asio::buffer(chunk), on_read);
    io.run();
    CHECK(received.rfind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(received.find("PUT /up data") != std::string::npos);
}

// A client on a connected test stream that sends `request`, then reads until the
// server closes; run against a server with short timeouts.
struct timeout_run {
    std::error_code server_result = asio::error::would_block;
    std::error_code client_end;
    std::string received;
};

timeout_run run_until_closed(const http::server_options& options, std::string_view request) {
    asio::io_context io;
    test::stream client{io.get_executor()};
    test::stream server_side{io.get_executor()};
    client.connect(server_side);
    connection conn{std::move(server_side), options};
    timeout_run run;
    http::async_serve(conn, echo, [&](std::error_code ec) { run.server_result = ec; });
    asio::write(client, asio::buffer(request));
    std::array<char, 512> chunk;
    std::function<void(std::error_code, std::size_t)> on_read = [&](std::error_code ec, std::size_t n) {
        if (ec) {
            run.client_end = ec;  // eof once the server closed
            return;
        }
        run.received.append(chunk.data(), n);
        client.async_read_some(asio::buffer(chunk), on_read);
    };
    client.async_read_some(asio::buffer(chunk), on_read);
    io.run();
    return run;
}

TEST_CASE("serve: slow-loris - an unfinished head gets 408 after the header timeout", "[asio][http][timeout]") {
    http::server_options options = quiet_options();
    options.header_timeout = std::chrono::milliseconds(30);
    const auto run = run_until_closed(options, "GET / HTTP/1.1\r\nHost: slo");
    CHECK(run.server_result == asio::error::timed_out);
    CHECK(run.client_end == asio::error::eof);
    const auto responses = parse_responses(run.received);
    REQUIRE(responses.size() == 1);
    CHECK(responses[0].status == 408);
}

TEST_CASE("serve: an idle keep-alive connection is closed silently after the idle timeout", "[asio][http][timeout]") {
    http::server_options options = quiet_options();
    options.idle_timeout = std::chrono::milliseconds(30);
    const auto run = run_until_closed(options, "GET /1 HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(run.server_result == asio::error::timed_out);
    CHECK(run.client_end == asio::error::eof);
    const auto responses = parse_responses(run.received);
    REQUIRE(responses.size() == 1);  // the answer, and no 408 for an idle connection
    CHECK(responses[0].status == 200);
}

TEST_CASE("serve: an asynchronous handler answers later - from another thread", "[asio][http]") {
    asio::io_context io;
    test::stream stream{io.get_executor(), "GET /later HTTP/1.1\r\nHost: t\r\n\r\nGET /dropped HTTP/1.1\r\nHost: t\r\n\r\n"};
    stream.close_remote();
    connection conn{std::move(stream), quiet_options()};
    std::vector<std::thread> threads;
    auto handler = [&](const http::request& req, http::responder respond) {
        if (req.target == "/dropped") return;  // the responder dies unanswered: 500
        threads.emplace_back([respond = std::move(respond)]() mutable {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            respond(http::response{202, "text/plain", "later"});
        });
    };
    std::error_code result = asio::error::would_block;
    http::async_serve(conn, handler, [&](std::error_code ec) { result = ec; });
    io.run();
    for (auto& t : threads) t.join();
    CHECK_FALSE(result);
    const auto responses = parse_responses(conn.next_layer().str());
    REQUIRE(responses.size() == 2);
    CHECK(responses[0].status == 202);
    CHECK(responses[0].body == "later");
    CHECK(responses[1].status == 500);
}

TEST_CASE("serve: a handler's unsafe field is not sent - the client gets 500", "[asio][http]") {
    asio::io_context io;
    test::stream stream{io.get_executor(), "GET / HTTP/1.1\r\nHost: t\r\n\r\n"};
    stream.close_remote();
    connection conn{std::move(stream), quiet_options()};
    std::error_code read_ec, write_ec;
    http::response bad{200};
    bad.fields.append("X-Injected", "a\r\nSet-Cookie: evil");
    conn.async_read_request([&](std::error_code ec) {
        read_ec = ec;
        conn.async_write_response(bad, [&](std::error_code ec2) { write_ec = ec2; });
    });
    io.run();
    CHECK_FALSE(read_ec);
    CHECK(write_ec == http::error::invalid_field_value);
    CHECK(conn.next_layer().str().empty());
}

TEST_CASE("completion tokens: use_future and use_awaitable", "[asio][http]") {
    SECTION("use_future") {
        asio::io_context io;
        test::stream stream{io.get_executor(), "GET /f HTTP/1.1\r\nHost: t\r\n\r\n"};
        stream.close_remote();
        connection conn{std::move(stream), quiet_options()};
        auto guard = asio::make_work_guard(io);
        std::thread runner([&] { io.run(); });
        conn.async_read_request(asio::use_future).get();  // throws on error
        CHECK(conn.request().target == "/f");
        http::response res{204};
        conn.async_write_response(res, asio::use_future).get();
        guard.reset();
        runner.join();
        CHECK(conn.next_layer().str().rfind("HTTP/1.1 204 No Content\r\n", 0) == 0);
    }
    SECTION("use_awaitable") {
        asio::io_context io;
        test::stream stream{io.get_executor(), "GET /c HTTP/1.1\r\nHost: t\r\n\r\n"};
        stream.close_remote();
        connection conn{std::move(stream), quiet_options()};
        std::string target;
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                co_await conn.async_read_request(asio::use_awaitable);
                target = conn.request().target;
                http::response res{200, "text/plain", "co"};
                co_await conn.async_write_response(res, asio::use_awaitable);
            },
            asio::detached);
        io.run();
        CHECK(target == "/c");
        CHECK(parse_responses(conn.next_layer().str()).at(0).body == "co");
    }
}

TEST_CASE("serve: close() ends a wait for an answer that never comes - a late answer is ignored", "[asio][http]") {
    asio::io_context io;
    test::stream stream{io.get_executor(), "GET /parked HTTP/1.1\r\nHost: t\r\n\r\n"};
    connection conn{std::move(stream), quiet_options()};
    std::optional<http::responder> parked;
    std::error_code result = asio::error::would_block;
    http::async_serve(conn, [&](const http::request&, http::responder r) { parked.emplace(std::move(r)); },
                      [&](std::error_code ec) { result = ec; });
    asio::steady_timer later{io, std::chrono::milliseconds(10)};
    later.async_wait([&](std::error_code) { conn.close(); });
    io.run();
    CHECK(result == asio::error::operation_aborted);
    REQUIRE(parked.has_value());
    (*parked)(http::response{200});  // the connection is gone: nothing happens
    parked.reset();
    io.restart();
    io.run();
    CHECK(conn.next_layer().str().empty());
}

TEST_CASE("serve: close() after the loop ended touches nothing the loop owned", "[asio][http]") {
    // The wait for an asynchronous answer hooks into the connection's close signal;
    // the hook must be gone once the wait is, or close() reaches a freed timer
    // (found by the ASan build: http::server::stop() after a client left).
    asio::io_context io;
    test::stream stream{io.get_executor(), "GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n"};
    stream.close_remote();
    connection conn{std::move(stream), quiet_options()};
    std::error_code result = asio::error::would_block;
    http::async_serve(conn, [](const http::request&, http::responder respond) { respond(http::response{204}); },
                      [&](std::error_code ec) { result = ec; });
    io.run();
    CHECK_FALSE(result);
    CHECK(parse_responses(conn.next_layer().str()).size() == 2);
    conn.close();  // under ASan, a stale hook here is a heap-use-after-free
    CHECK_FALSE(conn.keep_alive());
}

TEST_CASE("server: Host is optional in HTTP/1.0, any valid form is taken in HTTP/1.1", "[asio][http]") {
    for (const std::string request : {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "GET / HTTP/1.1\r\nHost:\r\n\r\n",
                                      "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
                                      "GET / HTTP/1.1\r\nHost: xn--bcher-kva.example:80\r\n\r\n"}) {
        INFO(request);
        auto [ec, wire] = serve_bytes(request + "GET /then HTTP/1.1\r\nHost: t\r\n\r\n");
        CHECK_FALSE(ec);
        const auto responses = parse_responses(wire);
        REQUIRE(responses.size() == 2);
        CHECK(responses[0].status == 200);
    }
}

TEST_CASE("server connection: a read refused at once (the connection is not kept alive) completes on the handler's strand",
          "[asio][http]") {
    asio::io_context io;
    auto strand = asio::make_strand(io);
    http::server_connection<test::stream> conn{test::stream{io.get_executor(), "GET / HTTP/1.0\r\n\r\n"}, quiet_options()};
    std::error_code first = asio::error::would_block, second = asio::error::would_block;
    bool on_strand = false;
    http::response res{200, "text/plain", "bye"};
    conn.async_read_request([&](std::error_code ec) {
        first = ec;
        conn.async_write_response(res, [&](std::error_code) {
            // HTTP/1.0 without keep-alive: the connection ended, the next read is eof at once.
            conn.async_read_request(asio::bind_executor(strand, [&](std::error_code ec2) {
                second = ec2;
                on_strand = strand.running_in_this_thread();
            }));
        });
    });
    io.run();
    CHECK_FALSE(first);
    CHECK(second == asio::error::eof);
    CHECK(on_strand);  // before: run straight from the connection's executor
}
