// What the loopback benchmarks share: a clock both processes read, a descriptor
// limit raised for thousands of sockets, and a server forked into a process of its
// own, so server and clients each get a core of the two.
#ifndef HERALD_BENCHMARKS_LOOPBACK_HPP
#define HERALD_BENCHMARKS_LOOPBACK_HPP

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <thread>

namespace bench {

// CLOCK_MONOTONIC: the same clock in the server and the client process.
inline std::int64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

inline void raise_descriptor_limit() {
    rlimit limit{};
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
}

inline unsigned short free_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor probe{io, {asio::ip::make_address("127.0.0.1"), 0}};
    return probe.local_endpoint().port();
}

// Runs `server()` in a forked child and `clients()` here, then kills the child.
template <class Server, class Clients>
void fork_and_run(Server server, Clients clients) {
    raise_descriptor_limit();
    const pid_t child = fork();
    if (child == 0) {
        server();
        _exit(0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the child listens
    clients();
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
}

}  // namespace bench

#endif
