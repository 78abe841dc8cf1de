// Must not compile (tests/CMakeLists.txt checks the compiler's message): a server
// whose connections run on strands calls its one handler from several threads at
// once, so a mutable lambda, whose every call changes it, is refused.
#include <herald/asio/server.hpp>

#include <asio/io_context.hpp>

int main() {
    asio::io_context io;
    herald::http::server server{io.get_executor(), [calls = 0](const herald::http::request&) mutable {
                                    ++calls;
                                    return herald::http::response{200, "text/plain", "hi\n"};
                                }};
    // One thread, no strands: the same handler is fine.
    herald::http::single_thread_server<asio::io_context::executor_type> alone{
        io.get_executor(), [calls = 0](const herald::http::request&) mutable {
            ++calls;
            return herald::http::response{200, "text/plain", "hi\n"};
        }};
}
