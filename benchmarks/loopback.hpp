// What the loopback benchmarks share: a clock both processes read, a descriptor
// limit raised for thousands of sockets, a server forked into a process of its
// own (or started from its binary, pinned to a core) so server and clients each
// get a core of the two, and the server's CPU time read from /proc.
#ifndef HERALD_BENCHMARKS_LOOPBACK_HPP
#define HERALD_BENCHMARKS_LOOPBACK_HPP

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <dirent.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

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

inline void pin_to(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);  // best effort: a one-core machine runs both on it
}

// Sends all of `bytes` on a non-blocking socket, waiting for room when the
// receiver lags (large messages: it drains while we wait).
inline bool send_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
        } else if (n < 0 && errno == EAGAIN) {
            pollfd p{fd, POLLOUT, 0};
            ::poll(&p, 1, 1000);
        } else {
            return false;
        }
    }
    return true;
}

// CPU time all threads of process `pid` have used, in ns (each thread's
// /proc/PID/task/TID/schedstat, field 1: nanoseconds, not clock ticks).
inline std::int64_t cpu_ns(pid_t pid) {
    const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
    DIR* dir = ::opendir(tasks.c_str());
    if (!dir) return 0;
    long long total = 0;
    while (const dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] == '.') continue;
        FILE* f = std::fopen((tasks + "/" + entry->d_name + "/schedstat").c_str(), "r");
        long long ns = 0;
        if (f && std::fscanf(f, "%lld", &ns) == 1) total += ns;
        if (f) std::fclose(f);
    }
    ::closedir(dir);
    return total;
}

// User-mode CPU time of process `pid`, in ns (/proc/PID/stat field 14, in clock
// ticks): the part of the server's cost that is its own code, not the kernel's.
inline std::int64_t user_ns(pid_t pid) {
    const std::string path = "/proc/" + std::to_string(pid) + "/stat";
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f) return 0;
    char line[1024] = {};
    const bool read = std::fgets(line, sizeof line, f) != nullptr;
    std::fclose(f);
    const char* after_name = read ? std::strrchr(line, ')') : nullptr;  // the name may hold spaces
    unsigned long long utime = 0;
    if (after_name) std::sscanf(after_name + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu", &utime);
    return static_cast<std::int64_t>(utime) * (1'000'000'000 / sysconf(_SC_CLK_TCK));
}

// Starts `binary --port P args...` pinned to CPU 0 with its standard output
// discarded, and returns its pid once it accepts connections.
inline pid_t start_server(const std::string& binary, unsigned short port, const std::vector<std::string>& args = {}) {
    std::fflush(stdout);  // or the child inherits what is buffered and prints it again
    const pid_t child = fork();
    if (child == 0) {
        pin_to(0);
        if (!std::freopen("/dev/null", "w", stdout)) _exit(127);
        const std::string p = std::to_string(port);
        std::vector<char*> argv{const_cast<char*>(binary.c_str()), const_cast<char*>("--port"), const_cast<char*>(p.c_str())};
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execv(binary.c_str(), argv.data());
        _exit(127);
    }
    for (int i = 0; i < 500; ++i) {  // ready when it accepts
        asio::io_context io;
        asio::ip::tcp::socket s{io};
        std::error_code ec;
        s.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
        if (!ec) return child;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    std::fprintf(stderr, "%s did not start\n", binary.c_str());
    std::exit(1);
}

inline void stop_server(pid_t child) {
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
}

}  // namespace bench

#endif
