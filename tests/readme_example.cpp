// The README's 20-line server, kept here so that it keeps compiling.
// tests/CMakeLists.txt checks that this file matches the README.
#include <herald/asio/server.hpp>
#include <asio/io_context.hpp>

using namespace herald;

int main() {
    asio::io_context io;
    http::server server{io.get_executor(), [](const http::request& req) {
        if (req.path() != "/hello") return http::response{404, "text/plain", "not here\n"};
        auto name = http::query_parameter(req.target, "name").value_or("world");
        return http::response{200, "text/plain", "hello, " + std::string(name) + "\n"};
    }};
    if (auto ec = server.listen({asio::ip::make_address("127.0.0.1"), 8080})) return 1;
    server.start();
    io.run();
}
