// Memory per idle connection: each server named is started, N clients open a
// WebSocket to it and then say nothing; the server's resident memory (VmRSS)
// grown since before the first connection, over N, is what one idle connection
// costs in user space. With --message S each client first sends one S-byte
// message and reads its echo: what a connection keeps once a large message has
// gone through it.
//
// --transport sse: each client opens GET /events (examples/sse_server) and reads
// the response head, then waits: an idle SSE stream. --transport longpoll: each
// client sends GET /poll?since=C&timeout=120 (examples/longpoll_server), C the
// cursor a first poll without one was answered with, and gets no answer: a
// parked long poll.
//
//   herald_bench_idle_memory [--transport websocket|sse|longpoll] [--connections 10000] [--message 0]
//                            [--repeat 3] NAME=SERVER_BINARY ...
//
// The servers are started with `--port P`, pinned to CPU 0, in an order that
// rotates from round to round; the figure is bytes per connection, min / median /
// max over the rounds. The kernel's share (socket buffers, the descriptor) is not
// in VmRSS: docs/benchmarks.md adds it for the arithmetic of a million connections.
#include "loopback.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <fstream>
#include <random>

namespace {

long resident_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
    return -1;
}

bool send_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

bool read_exactly(int fd, char* out, std::size_t n) {
    while (n > 0) {
        const ssize_t got = ::recv(fd, out, n, 0);
        if (got <= 0) return false;
        out += got;
        n -= static_cast<std::size_t>(got);
    }
    return true;
}

// A masked client binary frame of `size` bytes (RFC 6455 §5.2; the mask is zero,
// which leaves the payload as it is).
std::string masked_frame(std::size_t size) {
    std::string f{"\x82"};
    if (size < 126) {
        f.push_back(static_cast<char>(0x80 | size));
    } else if (size < 65536) {
        f += {static_cast<char>(0x80 | 126), static_cast<char>(size >> 8), static_cast<char>(size & 0xff)};
    } else {
        f.push_back(static_cast<char>(0x80 | 127));
        for (int shift = 56; shift >= 0; shift -= 8) f.push_back(static_cast<char>((std::uint64_t{size} >> shift) & 0xff));
    }
    f.append(4, '\0');
    f.append(size, 'x');
    return f;
}

// Connected to 127.0.0.1:`port`, or -1.
int connect_to(unsigned short port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return ::close(fd), -1;
    return fd;
}

// The response head: up to its blank line, read a byte at a time so that nothing
// after it is taken.
std::string read_head(int fd) {
    std::string head;
    char c;
    while (head.size() < 4096 && (head.size() < 4 || head.compare(head.size() - 4, 4, "\r\n\r\n") != 0)) {
        if (::recv(fd, &c, 1, 0) != 1) return {};
        head.push_back(c);
    }
    return head;
}

// A WebSocket on `port` after its upgrade (and the echo of `frame`, when given);
// -1 when the server did not go along.
int open_websocket(unsigned short port, const std::string& frame, std::size_t message) {
    const int fd = connect_to(port);
    if (fd < 0) return -1;
    static const std::string upgrade =
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    if (!send_all(fd, upgrade)) return ::close(fd), -1;
    if (read_head(fd).rfind("HTTP/1.1 101", 0) != 0) return ::close(fd), -1;
    if (message > 0) {
        std::string echo(message + 14, '\0');
        const std::size_t header = message < 126 ? 2 : message < 65536 ? 4 : 10;
        if (!send_all(fd, frame) || !read_exactly(fd, echo.data(), header + message)) return ::close(fd), -1;
    }
    return fd;
}

// An SSE stream open on `port` (its 200 head read), or -1.
int open_event_stream(unsigned short port) {
    const int fd = connect_to(port);
    if (fd < 0) return -1;
    if (!send_all(fd, "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")) return ::close(fd), -1;
    if (read_head(fd).rfind("HTTP/1.1 200", 0) != 0) return ::close(fd), -1;
    return fd;
}

// The cursor a poll without one is answered with ("now"), or "".
std::string current_cursor(unsigned short port) {
    const int fd = connect_to(port);
    if (fd < 0) return {};
    std::string body;
    if (send_all(fd, "GET /poll HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")) {
        char chunk[4096];
        for (ssize_t n; (n = ::recv(fd, chunk, sizeof chunk, 0)) > 0;) body.append(chunk, static_cast<std::size_t>(n));
    }
    ::close(fd);
    const auto at = body.find("\"cursor\":\"");
    if (at == std::string::npos) return {};
    const auto from = at + 10;
    return body.substr(from, body.find('"', from) - from);
}

// A long poll parked on `port`: sent, and not answered within 20 ms (checked on
// the first only: a poll answered at once is not parked, and the figure would
// be something else), or -1.
int park_poll(unsigned short port, const std::string& cursor, bool check) {
    const int fd = connect_to(port);
    if (fd < 0) return -1;
    if (!send_all(fd, "GET /poll?since=" + cursor + "&timeout=120 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")) return ::close(fd), -1;
    if (check) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 20) != 0) return ::close(fd), -1;
    }
    return fd;
}

}  // namespace

int main(int argc, char** argv) {
    int connections = 10000, repeat = 3;
    std::size_t message = 0;
    std::string transport = "websocket";
    std::vector<std::pair<std::string, std::string>> servers;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--connections" && has_value) connections = std::atoi(argv[++i]);
        else if (arg == "--message" && has_value) message = std::strtoul(argv[++i], nullptr, 10);
        else if (arg == "--repeat" && has_value) repeat = std::max(1, std::atoi(argv[++i]));
        else if (arg == "--transport" && has_value) transport = argv[++i];
        else if (arg.find('=') != std::string::npos) servers.emplace_back(arg.substr(0, arg.find('=')), arg.substr(arg.find('=') + 1));
        else return std::fprintf(stderr, "usage: herald_bench_idle_memory [--transport websocket|sse|longpoll] [--connections N] "
                                          "[--message S] [--repeat R] NAME=BINARY...\n"), 2;
    }
    if (transport != "websocket" && transport != "sse" && transport != "longpoll")
        return std::fprintf(stderr, "--transport: websocket, sse or longpoll\n"), 2;
    if (servers.empty()) return std::fprintf(stderr, "name at least one server: NAME=BINARY\n"), 2;
    bench::raise_descriptor_limit();
    bench::pin_to(1);
    const std::string frame = message > 0 ? masked_frame(message) : std::string();
    const char* what = transport == "sse" ? "idle SSE streams" : transport == "longpoll" ? "parked long polls" : "idle WebSocket connections";
    std::printf("%d %s per server%s; server on CPU 0, clients on CPU 1, %d rounds\n", connections, what,
                message > 0 ? (", each after one " + std::to_string(message) + "-byte echo").c_str() : "", repeat);
    std::vector<std::vector<double>> per_connection(servers.size());
    for (int round = 0; round < repeat; ++round) {
        for (std::size_t k = 0; k < servers.size(); ++k) {
            const std::size_t i = (static_cast<std::size_t>(round) + k) % servers.size();
            const unsigned short port = bench::free_port();
            const pid_t child = bench::start_server(servers[i].second, port);
            const std::string cursor = transport == "longpoll" ? current_cursor(port) : std::string();
            auto open = [&](bool first_one) {
                if (transport == "sse") return open_event_stream(port);
                if (transport == "longpoll") return park_poll(port, cursor, first_one);
                return open_websocket(port, frame, message);
            };
            // One connection first, so what every server allocates once (its first
            // connection's pools, lazily built tables) is in the baseline.
            const int first = open(true);
            if (first < 0) std::fprintf(stderr, "%s: the first connection failed (or a poll was answered at once)\n", servers[i].first.c_str());
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            const long before = resident_kib(child);
            std::vector<int> fds;
            for (int c = 0; c < connections; ++c) {
                const int fd = open(false);
                if (fd < 0) break;
                fds.push_back(fd);
            }
            std::this_thread::sleep_for(std::chrono::seconds(1));
            const long after = resident_kib(child);
            if (static_cast<int>(fds.size()) != connections)
                std::fprintf(stderr, "%s: only %zu of %d connections opened\n", servers[i].first.c_str(), fds.size(), connections);
            per_connection[i].push_back(fds.empty() ? 0.0 : (after - before) * 1024.0 / static_cast<double>(fds.size()));
            for (const int fd : fds) ::close(fd);
            if (first >= 0) ::close(first);
            bench::stop_server(child);
        }
    }
    std::printf("%-12s %34s\n", "server", "bytes per connection min/med/max");
    for (std::size_t i = 0; i < servers.size(); ++i) {
        auto v = per_connection[i];
        std::sort(v.begin(), v.end());
        std::printf("%-12s %34s\n", servers[i].first.c_str(),
                    (std::to_string(static_cast<long>(v.front())) + " / " + std::to_string(static_cast<long>(v[v.size() / 2])) + " / " +
                     std::to_string(static_cast<long>(v.back())))
                        .c_str());
    }
}
