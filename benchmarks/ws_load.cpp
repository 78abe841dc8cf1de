// End-to-end WebSocket load: N connections each send a message of S bytes and wait
// for its echo, again and again, for a fixed time; echoes per second and round-trip
// latency (p50, p99) for each echo server named, one after the other in one run.
//
//   herald_bench_ws_load [--connections 100] [--size 16] [--burst 1] [--seconds 5]
//                        [--warmup 1] [--tls CERT:KEY] NAME=SERVER_BINARY [NAME=SERVER_BINARY ...]
//
// --tls starts each server with --cert CERT --key KEY and speaks wss:// to it
// (OpenSSL, TLS 1.3, the certificate not verified: the bench trusts its own), so
// the servers are compared doing the same TLS work.
//
// --burst K sends K messages back to back in one write and waits for all K echoes
// (a client catching up, a batch of updates): the latency is then the burst's.
//
// Each server is started with `--port P`, pinned to CPU 0; this client runs on one
// thread pinned to CPU 1, so neither steals the other's core. The first server is
// the reference the others are compared with. The client is deliberately thin
// (raw epoll, pre-built masked frames, a recv and a send per echo): it costs the
// same against every server and less than any server, so the server is what is
// measured. Latency is from the send to the last byte of the echo, taken at the
// epoll wake-up that delivered it.
#include "loopback.hpp"

#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <unistd.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

// A client-to-server binary frame of `size` bytes, masked with `key` (RFC 6455 §5.2, §5.3).
std::string masked_frame(std::size_t size, std::uint32_t key) {
    std::string f;
    f.push_back(static_cast<char>(0x82));
    if (size < 126) {
        f.push_back(static_cast<char>(0x80 | size));
    } else if (size < 65536) {
        f.push_back(static_cast<char>(0x80 | 126));
        f.push_back(static_cast<char>(size >> 8));
        f.push_back(static_cast<char>(size & 0xff));
    } else {
        f.push_back(static_cast<char>(0x80 | 127));
        for (int shift = 56; shift >= 0; shift -= 8) f.push_back(static_cast<char>((std::uint64_t{size} >> shift) & 0xff));
    }
    const char mask[4] = {static_cast<char>(key >> 24), static_cast<char>(key >> 16), static_cast<char>(key >> 8), static_cast<char>(key)};
    f.append(mask, 4);
    for (std::size_t i = 0; i < size; ++i) f.push_back(static_cast<char>(static_cast<char>('a' + i % 26) ^ mask[i % 4]));
    return f;
}

// What the server must send back: the same frame, unmasked (§5.1).
std::string server_frame(std::size_t size) {
    std::string f = masked_frame(size, 0);  // a zero key leaves the payload as it is
    f[1] = static_cast<char>(f[1] & 0x7f);
    const std::size_t header = size < 126 ? 2 : size < 65536 ? 4 : 10;
    return f.erase(header, 4);
}

struct result {
    double echoes_per_second = 0;
    double server_user_us_per_echo = 0;  // of which in user mode (the server's own code)
    double server_us_per_echo = 0;  // the server's CPU time per echo: its cost, whoever the bottleneck is
    double server_busy = 0;         // share of its core the server used
    double p50_us = 0;
    double p99_us = 0;
    std::uint64_t errors = 0;
};

// One connection of the load: its socket, the frame it sends, the echo it expects.
struct connection {
    int fd = -1;
    SSL* tls = nullptr;  // --tls: the session over fd
    std::string frame;
    std::string expected;
    std::string reply;
    std::size_t got = 0;
    std::int64_t sent_at = 0;
};

// --tls: the client context; null for plain TCP.
SSL_CTX* tls_context = nullptr;

// All of `data` out: over TLS, SSL_write retried while the socket is full.
bool send_all(connection& c, std::string_view data) {
    if (!c.tls) return bench::send_all(c.fd, data);
    while (!data.empty()) {
        const int n = SSL_write(c.tls, data.data(), static_cast<int>(data.size()));
        if (n > 0) {
            data.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        const int why = SSL_get_error(c.tls, n);
        if (why != SSL_ERROR_WANT_WRITE && why != SSL_ERROR_WANT_READ) return false;
        pollfd p{c.fd, static_cast<short>(why == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN), 0};
        ::poll(&p, 1, 1000);
    }
    return true;
}

// Like recv(2): bytes, 0 at the end, or -1 with errno EAGAIN when nothing is there.
ssize_t receive(connection& c, char* out, std::size_t size) {
    if (!c.tls) return ::recv(c.fd, out, size, 0);
    const int n = SSL_read(c.tls, out, static_cast<int>(size));
    if (n > 0) return n;
    const int why = SSL_get_error(c.tls, n);
    if (why == SSL_ERROR_WANT_READ || why == SSL_ERROR_WANT_WRITE) {
        errno = EAGAIN;
        return -1;
    }
    return why == SSL_ERROR_ZERO_RETURN ? 0 : -1;
}

// Connects and upgrades (blocking: it happens before the clock starts).
bool open_connection(connection& c, unsigned short port) {
    c.fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
    int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (tls_context) {
        c.tls = SSL_new(tls_context);
        SSL_set_fd(c.tls, c.fd);
        if (SSL_connect(c.tls) != 1) return false;
    }
    if (!send_all(c, "GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
        return false;
    std::string head;
    char byte;
    while (head.size() < 4 || head.compare(head.size() - 4, 4, "\r\n\r\n") != 0) {  // byte by byte: no frame may be eaten
        if (receive(c, &byte, 1) != 1) return false;
        head.push_back(byte);
    }
    if (head.rfind("HTTP/1.1 101", 0) != 0) return false;
    ::fcntl(c.fd, F_SETFL, ::fcntl(c.fd, F_GETFL) | O_NONBLOCK);
    return true;
}

// The client: level-triggered epoll polled without sleeping, one recv per readiness
// and one send per echo, so each echo costs it no more than it costs any server.
result load(pid_t server, unsigned short port, int connections, std::size_t size, int burst, double seconds, double warmup) {
    std::mt19937 keys{12345};
    std::vector<connection> all(static_cast<std::size_t>(connections));
    const int epoll = ::epoll_create1(0);
    result r;
    for (std::size_t i = 0; i < all.size(); ++i) {
        auto& c = all[i];
        // A burst: `burst` messages in one send, and the round ends when all their echoes are in.
        const std::string one = masked_frame(size, static_cast<std::uint32_t>(keys()));
        for (int b = 0; b < burst; ++b) c.frame += one;
        for (int b = 0; b < burst; ++b) c.expected += server_frame(size);
        c.reply.assign(c.expected.size(), '\0');
        if (!open_connection(c, port)) {
            std::fprintf(stderr, "connection %zu failed: %s\n", i, std::strerror(errno));
            std::exit(1);
        }
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        ::epoll_ctl(epoll, EPOLL_CTL_ADD, c.fd, &ev);
    }
    std::vector<std::int64_t> latencies;
    latencies.reserve(8'000'000);
    std::uint64_t echoes = 0;
    const std::int64_t begin = bench::now_ns();
    const std::int64_t counting_from = begin + static_cast<std::int64_t>(warmup * 1e9);
    const std::int64_t until = counting_from + static_cast<std::int64_t>(seconds * 1e9);
    for (auto& c : all) {
        c.sent_at = bench::now_ns();
        if (!send_all(c, c.frame)) ++r.errors;
    }
    std::vector<epoll_event> ready(1024);
    std::int64_t server_cpu_from = -1, server_user_from = 0;
    for (std::int64_t now = begin; now < until;) {
        // Busy-polls (timeout 0): the client has its core to itself, and a client that
        // sleeps makes every server send pay for waking it, a cost that feeds back on
        // the server being measured (very visible under a hypervisor).
        const int n = ::epoll_wait(epoll, ready.data(), static_cast<int>(ready.size()), 0);
        now = bench::now_ns();
        if (server_cpu_from < 0 && now >= counting_from) {
            server_cpu_from = bench::cpu_ns(server);
            server_user_from = bench::user_ns(server);
        }
        for (int k = 0; k < n; ++k) {
          auto& c = all[ready[k].data.u64];
          // Over TLS a record may hold more than one read takes: read until OpenSSL
          // has nothing decrypted left (epoll cannot see its buffer).
          do {
            const ssize_t got = receive(c, c.reply.data() + c.got, c.reply.size() - c.got);
            if (got <= 0) {
                if (got < 0 && errno == EAGAIN) continue;
                ++r.errors;
                ::epoll_ctl(epoll, EPOLL_CTL_DEL, c.fd, nullptr);
                continue;
            }
            c.got += static_cast<std::size_t>(got);
            if (c.got < c.reply.size()) continue;
            c.got = 0;
            if (c.reply != c.expected) ++r.errors;  // same type, length and payload, unmasked (§5.1)
            if (now >= counting_from) {
                echoes += static_cast<std::uint64_t>(burst);
                latencies.push_back(now - c.sent_at);  // of the whole burst
            }
            c.sent_at = now;
            if (!send_all(c, c.frame)) ++r.errors;
          } while (c.tls && SSL_pending(c.tls) > 0);
        }
    }
    const double server_cpu = static_cast<double>(bench::cpu_ns(server) - server_cpu_from);
    const double server_user = static_cast<double>(bench::user_ns(server) - server_user_from);
    for (auto& c : all) {
        if (c.tls) SSL_free(c.tls);
        ::close(c.fd);
    }
    ::close(epoll);
    r.echoes_per_second = static_cast<double>(echoes) / seconds;
    r.server_us_per_echo = echoes ? server_cpu / 1e3 / static_cast<double>(echoes) : 0;
    r.server_busy = server_cpu / (seconds * 1e9);
    r.server_user_us_per_echo = echoes ? server_user / 1e3 / static_cast<double>(echoes) : 0;
    if (!latencies.empty()) {
        std::sort(latencies.begin(), latencies.end());
        r.p50_us = static_cast<double>(latencies[latencies.size() / 2]) / 1e3;
        r.p99_us = static_cast<double>(latencies[latencies.size() * 99 / 100]) / 1e3;
    }
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    int connections = 100;
    int burst = 1;
    int repeat = 1;
    std::size_t size = 16;
    double seconds = 5, warmup = 1;
    std::vector<std::pair<std::string, std::string>> servers;
    std::string tls_files;  // CERT:KEY
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--connections" && has_value) connections = std::atoi(argv[++i]);
        else if (arg == "--size" && has_value) size = std::strtoul(argv[++i], nullptr, 10);
        else if (arg == "--seconds" && has_value) seconds = std::atof(argv[++i]);
        else if (arg == "--burst" && has_value) burst = std::max(1, std::atoi(argv[++i]));
        else if (arg == "--repeat" && has_value) repeat = std::max(1, std::atoi(argv[++i]));
        else if (arg == "--warmup" && has_value) warmup = std::atof(argv[++i]);
        else if (arg == "--tls" && has_value) tls_files = argv[++i];
        else if (arg.find('=') != std::string::npos) servers.emplace_back(arg.substr(0, arg.find('=')), arg.substr(arg.find('=') + 1));
        else {
            std::fprintf(stderr, "usage: herald_bench_ws_load [--connections N] [--size S] [--burst K] [--seconds T] [--warmup T] [--repeat R] NAME=BINARY...\n");
            return 2;
        }
    }
    if (servers.empty()) return std::fprintf(stderr, "name at least one server: NAME=BINARY\n"), 2;
    std::vector<std::string> server_args;
    if (!tls_files.empty()) {
        server_args = {"--cert", tls_files.substr(0, tls_files.find(':')), "--key", tls_files.substr(tls_files.find(':') + 1)};
        tls_context = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_min_proto_version(tls_context, TLS1_2_VERSION);
    }
    bench::raise_descriptor_limit();
    bench::pin_to(1);
    std::printf("%d connections x %zu-byte messages, %d per burst, %.0f s each (after %.0f s warm-up), median of %d; "
                "server on CPU 0, client on CPU 1%s\n",
                connections, size, burst, seconds, warmup, repeat, tls_context ? "; over TLS" : "");
    std::printf("%-12s %10s %7s %9s %9s %12s %6s %9s %13s %10s %6s\n", "server", "echoes/s", "ratio", "p50 us", "p99 us",
                "cpu us/echo", "busy", "cpu ratio", "user us/echo", "user ratio", "errors");
    // Rounds interleave the servers, each round starting one further along (A B C,
    // B C A, C A B ...), so drift in the machine and the cost of going first or
    // after a given server hit all alike; each figure is the median of the rounds.
    std::vector<std::vector<result>> rounds(servers.size());
    for (int round = 0; round < repeat; ++round) {
        for (std::size_t k = 0; k < servers.size(); ++k) {
            const std::size_t i = (static_cast<std::size_t>(round) + k) % servers.size();
            const unsigned short port = bench::free_port();
            const pid_t child = bench::start_server(servers[i].second, port, server_args);
            rounds[i].push_back(load(child, port, connections, size, burst, seconds, warmup));
            bench::stop_server(child);
        }
    }
    const auto median = [](std::vector<result> rs, double result::*field) {
        std::sort(rs.begin(), rs.end(), [field](const result& a, const result& b) { return a.*field < b.*field; });
        return rs[rs.size() / 2].*field;
    };
    double reference = 0, reference_cpu = 0, reference_user = 0;
    for (std::size_t i = 0; i < servers.size(); ++i) {
        result r;
        r.echoes_per_second = median(rounds[i], &result::echoes_per_second);
        r.p50_us = median(rounds[i], &result::p50_us);
        r.p99_us = median(rounds[i], &result::p99_us);
        r.server_us_per_echo = median(rounds[i], &result::server_us_per_echo);
        r.server_busy = median(rounds[i], &result::server_busy);
        r.server_user_us_per_echo = median(rounds[i], &result::server_user_us_per_echo);
        for (const auto& one : rounds[i]) r.errors += one.errors;
        const std::string& name = servers[i].first;
        if (reference == 0) {
            reference = r.echoes_per_second;
            reference_cpu = r.server_us_per_echo;
            reference_user = r.server_user_us_per_echo;
        }
        // The ratios compare with the first server: echoes/s over its echoes/s, and its
        // CPU (all, and user mode only) per echo over this one's (above 1: this server
        // does an echo for less).
        std::printf("%-12s %10.0f %7.2f %9.1f %9.1f %12.2f %5.0f%% %9.2f %13.2f %10.2f %6llu\n", name.c_str(),
                    r.echoes_per_second, reference > 0 ? r.echoes_per_second / reference : 0.0, r.p50_us, r.p99_us,
                    r.server_us_per_echo, r.server_busy * 100, r.server_us_per_echo > 0 ? reference_cpu / r.server_us_per_echo : 0.0,
                    r.server_user_us_per_echo, r.server_user_us_per_echo > 0 ? reference_user / r.server_user_us_per_echo : 0.0,
                    static_cast<unsigned long long>(r.errors));
    }
    // The spread over the rounds, min / median / max.
    std::printf("\n%-12s %30s %26s\n", "server", "echoes/s min/med/max", "cpu us/echo min/med/max");
    for (std::size_t i = 0; i < servers.size(); ++i) {
        const auto spread = [&](double result::*field, const char* format) {
            std::vector<double> v;
            for (const auto& r : rounds[i]) v.push_back(r.*field);
            std::sort(v.begin(), v.end());
            char text[96];
            std::snprintf(text, sizeof text, format, v.front(), v[v.size() / 2], v.back());
            return std::string(text);
        };
        std::printf("%-12s %30s %26s\n", servers[i].first.c_str(), spread(&result::echoes_per_second, "%.0f / %.0f / %.0f").c_str(),
                    spread(&result::server_us_per_echo, "%.2f / %.2f / %.2f").c_str());
    }
}
