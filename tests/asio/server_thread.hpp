// A loopback server run on a thread of its own, for tests that talk to it with
// blocking clients.
#ifndef HERALD_TESTS_ASIO_SERVER_THREAD_HPP
#define HERALD_TESTS_ASIO_SERVER_THREAD_HPP

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/post.hpp>

#include <catch2/catch.hpp>

#include <thread>

namespace herald::testing {

// Listens on 127.0.0.1 (a free port), starts `server` and runs `io` on a thread
// until destroyed; then stops the server on that thread and joins it. Declare it
// after the io_context and the server it runs, so it is destroyed first.
template <class Server>
class server_thread {
public:
    server_thread(asio::io_context& io, Server& server) : io_(io), server_(server) {
        REQUIRE_FALSE(server.listen({asio::ip::make_address("127.0.0.1"), 0}));
        server.start();
        thread_ = std::thread([&io] { io.run(); });
    }
    ~server_thread() {
        asio::post(io_, [&server = server_] { server.stop(); });
        work_.reset();
        io_.stop();
        thread_.join();
    }
    server_thread(const server_thread&) = delete;
    server_thread& operator=(const server_thread&) = delete;

private:
    asio::io_context& io_;
    Server& server_;
    asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
    std::thread thread_;
};

}  // namespace herald::testing

#endif
