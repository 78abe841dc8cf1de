// A redis-server of the test's own, on a free loopback port, with no persistence;
// stopped (SIGTERM) when it goes out of scope.
#ifndef HERALD_TESTS_REDIS_SERVER_HPP
#define HERALD_TESTS_REDIS_SERVER_HPP

#include "../support/process.hpp"

#include <herald/asio/redis/connection.hpp>

#include <asio/io_context.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace herald::test_support {

class redis_server {
public:
    // `more`: further options, which win over these (e.g. "--appendonly", "yes",
    // "--dir", D for a Redis that a restart on the same port and dir reloads).
    explicit redis_server(unsigned short port = 0, const std::vector<std::string>& more = {})
        : child_(HERALD_REDIS_SERVER, with(more), port) {}

    std::string port() const { return std::to_string(child_.port()); }
    unsigned short port_number() const { return child_.port(); }
    pid_t pid() const { return child_.pid(); }
    void stop() { child_.stop(); }
    void kill() { child_.stop(SIGKILL); }  // kill -9: nothing written on the way out

private:
    static std::vector<std::string> with(const std::vector<std::string>& more) {
        std::vector<std::string> args{"--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--enable-debug-command",
                                      "local", "--loglevel", "warning", "--logfile", "/dev/null"};
        args.insert(args.end(), more.begin(), more.end());
        return args;
    }

    child_server child_;
};

// Waits up to `ms` for `done()`; its last answer.
template <class Done>
bool eventually(Done done, int ms = 5000) {
    for (int i = 0; i < ms / 10 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return done();
}

// Runs `args` on a connection of its own and returns the reply (for set-up and checks).
inline redis::reply redis_call(const std::string& port, std::vector<std::string> args) {
    asio::io_context io;
    auto c = redis::connection::make(io.get_executor());
    redis::reply out;
    out.type = redis::reply::kind::error;
    out.text = "no answer";
    c->async_connect("127.0.0.1", port, [](std::error_code) {});
    std::vector<std::string_view> views(args.begin(), args.end());
    c->command(views, [&](std::error_code ec, redis::reply r) {
        if (!ec) out = std::move(r);
        c->close();
    });
    io.run_for(std::chrono::seconds(5));
    return out;
}

}  // namespace herald::test_support

#endif
