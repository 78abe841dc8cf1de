// async_serve on a socket writes each answer at once, without blocking, and hands
// what the kernel leaves to async_write (serve.hpp, write): answers cut anywhere by
// a full send buffer (in the head, between head and body, in the body) arrive
// whole and in order, HEAD answers carry no body, and the connection ends as the
// answer says.
#include "socket_pair.hpp"

#include <herald/asio/serve.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/system_executor.hpp>
#include <asio/write.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <future>
#include <string>
#include <string_view>
#include <vector>

using namespace herald;
using namespace std::string_view_literals;
using asio::ip::tcp;

namespace {

struct written_answer {
    http::response head;
    std::string body;
};

// Reads answers from `socket` until EOF (blocking; on a thread of its own, so it
// asserts nothing). `no_body[i]`: answer i is to a HEAD request.
std::vector<written_answer> read_written_answers(tcp::socket& socket, std::vector<bool> no_body) {
    std::vector<written_answer> answers;
    http::limits roomy;  // the answers below are larger than a client takes by default
    roomy.max_header_bytes = 1 << 20;
    roomy.max_body = 16 << 20;
    http::response_parser parser{roomy};
    parser.expect_no_body(!no_body.empty() && no_body[0]);
    std::array<char, 16 * 1024> chunk{};
    while (true) {
        std::error_code ec;
        const std::size_t n = socket.read_some(asio::buffer(chunk), ec);
        if (ec) return answers;
        std::string_view view{chunk.data(), n};
        for (auto ev = parser.next(view); ev.type != http::event_type::need_more; ev = parser.next(view)) {
            if (ev.type == http::event_type::error) return answers;
            if (ev.type == http::event_type::head) {
                answers.emplace_back();
                parser.head_into(answers.back().head);
            }
            if (ev.type == http::event_type::body) answers.back().body.append(ev.data);
            if (ev.type == http::event_type::end_of_message) {
                const std::size_t next = answers.size();
                parser.expect_no_body(next < no_body.size() && no_body[next]);
            }
        }
    }
}

// Serves `requests`, sent at once (pipelined), on a socket pair whose server end
// sends from a small kernel buffer; the client reads on a thread until EOF.
struct pipelined_result {
    std::vector<written_answer> answers;
    std::error_code result;
};
template <class Handler>
pipelined_result serve_pipelined(std::string_view requests, std::vector<bool> no_body, Handler handler, bool small_send_buffer = true) {
    asio::io_context io;
    testing::socket_pair pair{io};
    // Only the server's: a receive buffer as small makes loopback TCP crawl (the
    // window falls below a segment), while this makes the kernel take answers in part.
    if (small_send_buffer) pair.server.set_option(asio::socket_base::send_buffer_size(4096));
    http::server_connection<tcp::socket> conn{std::move(pair.server), http::server_options{}};
    pipelined_result out;
    out.result = asio::error::would_block;
    http::async_serve(conn, handler, [&](std::error_code ec) { out.result = ec; });
    asio::write(pair.client, asio::buffer(requests));
    auto reader = std::async(std::launch::async, [&] { return read_written_answers(pair.client, no_body); });
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (out.result == asio::error::would_block && std::chrono::steady_clock::now() < give_up)
        io.run_for(std::chrono::milliseconds(50));
    conn.close();  // had the loop not ended, the client would wait for ever
    out.answers = reader.get();
    return out;
}

}  // namespace

TEST_CASE("serve on a socket: answers the kernel takes only in part arrive whole and in order", "[asio][http][direct]") {
    const std::string large = testing::pattern(3 << 20, 1);  // cut in its body, many times
    const std::string field(64 * 1024, 'v');                 // cut in its head, before a small body
    const auto result = serve_pipelined("GET /large HTTP/1.1\r\nHost: t\r\n\r\n"
                                        "GET /small HTTP/1.1\r\nHost: t\r\n\r\n"
                                        "GET /long-head HTTP/1.1\r\nHost: t\r\n\r\n"
                                        "GET /large HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"sv,
                                        {}, [&](const http::request& req) {
                                            if (req.path() == "/large") return http::response{200, "application/octet-stream", large};
                                            http::response res{200, "text/plain", std::string(req.path())};
                                            if (req.path() == "/long-head") res.fields.append("X-Long", field);
                                            return res;
                                        });
    CHECK_FALSE(result.result);  // Connection: close ends the loop normally
    REQUIRE(result.answers.size() == 4);
    CHECK(result.answers[0].body == large);
    CHECK(result.answers[1].body == "/small");
    CHECK(result.answers[2].head.fields.value_or("X-Long", "") == field);
    CHECK(result.answers[2].body == "/long-head");
    CHECK(result.answers[3].body == large);
    CHECK(result.answers[3].head.fields.has_token("Connection", "close"));
}

TEST_CASE("serve on a socket: HEAD answers written at once have the fields of GET and no body", "[asio][http][direct]") {
    const std::string large(100 * 1024, 'x');
    const auto result = serve_pipelined("HEAD /large HTTP/1.1\r\nHost: t\r\n\r\n"
                                        "HEAD /small HTTP/1.1\r\nHost: t\r\n\r\n"
                                        "GET /small HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"sv,
                                        {true, true, false}, [&](const http::request& req) {
                                            return http::response{200, "text/plain", req.path() == "/large" ? large : "small"};
                                        });
    CHECK_FALSE(result.result);
    REQUIRE(result.answers.size() == 3);
    CHECK(result.answers[0].head.fields.value_or("Content-Length", "") == std::to_string(large.size()));
    CHECK(result.answers[0].body.empty());
    CHECK(result.answers[1].head.fields.value_or("Content-Length", "") == "5");
    CHECK(result.answers[1].body.empty());
    CHECK(result.answers[2].body == "small");  // what followed the HEAD answers is the next answer, not a body
}

TEST_CASE("serve on a socket: an answer a handler gives later through its responder is written at once too", "[asio][http][direct]") {
    // The responder form, answered inside the call and from a post: the same write.
    const auto result = serve_pipelined("GET /now HTTP/1.1\r\nHost: t\r\n\r\n"
                                        "GET /later HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"sv,
                                        {}, [](const http::request& req, http::responder respond) {
                                            if (req.path() == "/now") return respond({200, "text/plain", "now"});
                                            auto ex = asio::system_executor();
                                            asio::post(ex, [respond = std::move(respond)]() mutable {
                                                respond({200, "text/plain", "later"});
                                            });
                                        });
    CHECK_FALSE(result.result);
    REQUIRE(result.answers.size() == 2);
    CHECK(result.answers[0].body == "now");
    CHECK(result.answers[1].body == "later");
}

TEST_CASE("serve on a socket: pipelined requests answered at once are not answered one call deeper each", "[asio][http][direct]") {
    // Each answer goes whole at once and the next request is buffered already: read
    // and answered inside the last one's call, every request would take the stack
    // one frame deeper (a client pipelining thousands would overflow it).
    std::string requests;
    for (int i = 0; i < 300; ++i) requests += "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
    requests += "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    std::uintptr_t deepest = UINTPTR_MAX, shallowest = 0;
    const auto result = serve_pipelined(
        requests, {},
        [&](const http::request&) {
            const auto frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
            deepest = std::min(deepest, frame);
            shallowest = std::max(shallowest, frame);
            return http::response{200, "text/plain", "ok"};
        },
        false);
    CHECK_FALSE(result.result);
    CHECK(result.answers.size() == 301);
    CHECK(shallowest - deepest < 16 * 1024);
}

TEST_CASE("serve on a socket: a request buffered before async_serve is answered after it returns, never inside it", "[asio][http][direct]") {
    // Asio's rule: no completion inside the initiating call. The buffered request
    // asks to close, so answering it at once inside the call would also end the loop there.
    asio::io_context io;
    testing::socket_pair pair{io};
    http::server_connection<tcp::socket> conn{std::move(pair.server), http::server_options{}};
    asio::write(pair.client, asio::buffer("GET /first HTTP/1.1\r\nHost: t\r\n\r\n"
                                          "GET /second HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"sv));
    bool first_read = false;
    conn.async_read_request([&](std::error_code ec) { first_read = !ec; });
    while (!first_read && io.run_one_for(std::chrono::seconds(5)) != 0) {}
    REQUIRE(first_read);
    REQUIRE_FALSE(conn.buffered().empty());  // the second request came in the same read
    bool returned = false, completed_inside = false, completed = false;
    http::async_serve(conn, [](const http::request& req) { return http::response{200, "text/plain", std::string(req.path())}; },
                      [&](std::error_code) {
                          completed = true;
                          completed_inside = !returned;
                      });
    returned = true;
    io.run_for(std::chrono::seconds(2));
    CHECK(completed);
    CHECK_FALSE(completed_inside);
    std::string wire;
    std::error_code ec;
    asio::read(pair.client, asio::dynamic_buffer(wire), ec);  // to EOF: the server closed
    CHECK(wire.find("/second") != std::string::npos);
}
