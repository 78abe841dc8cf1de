// Parses a request with herald's core and answers it through herald's Asio layer
// over the test stream: proves both targets carry their include paths, llhttp
// and Asio's definitions to a consumer.
#include <herald/asio/serve.hpp>
#include <herald/test/stream.hpp>

#include <asio/io_context.hpp>

#include <cstdio>

int main() {
    using namespace herald;
    http::request_parser parser;
    std::string_view input = "GET /consumer HTTP/1.1\r\nHost: x\r\n\r\n";
    if (parser.next(input).type != http::event_type::head || parser.target() != "/consumer") return 1;

    asio::io_context io;
    test::stream stream{io.get_executor(), "GET /served HTTP/1.1\r\n\r\n"};
    stream.close_remote();
    http::server_options options;
    options.send_date = false;
    http::server_connection<test::stream> conn{std::move(stream), options};
    http::async_serve(
        conn, [](const http::request& req) { return http::response{200, "text/plain", req.target}; },
        [](std::error_code) {});
    io.run();
    const std::string expected = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\n/served";
    if (conn.next_layer().str() != expected) {
        std::fprintf(stderr, "unexpected answer: %s\n", conn.next_layer().str().c_str());
        return 1;
    }
    std::puts("consumer ok");
    return 0;
}
