// Long-poll wake over loopback: N polls parked on one server process, one publish,
// and the time until the last of the N clients (in another process) has its answer.
// herald (http::server + longpoll::service) runs against "raw", a hand-written Asio
// server that parks the same sockets and writes the same answer to each with no
// registry, no HTTP parsing and no JSON building: the ceiling.
//
//   herald_bench_longpoll_wake [--waiters N] [--server herald|raw] [--rounds R]
//
// Prints, per round, the time from publish (a CLOCK_MONOTONIC stamp carried in the
// message) to the first, median and last answer received.
#include <herald/asio/longpoll.hpp>
#include <herald/asio/server.hpp>

#include <asio/io_context.hpp>
#include <asio/read_until.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>

#include "loopback.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

using namespace herald;
using asio::ip::tcp;

namespace {

using bench::now_ns;

struct config {
    std::size_t waiters = 10000;
    std::size_t rounds = 5;
    bool raw = false;
    unsigned short port = 0;
};

void run_herald_server(const config& c) {
    asio::io_context io{1};
    longpoll::service polls{io.get_executor(), {}, "b"};
    http::server server{io.get_executor(), [&](const http::request& req, http::responder respond) {
                            polls.handle(req, std::move(respond));
                        }};
    if (server.listen({asio::ip::make_address("127.0.0.1"), c.port})) std::exit(3);
    server.start();
    std::thread publisher([&] {
        for (std::size_t round = 0; round < c.rounds; ++round) {
            while (polls.waiting() != c.waiters) std::this_thread::sleep_for(std::chrono::milliseconds(2));
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            polls.publish("", std::to_string(now_ns()));
        }
    });
    io.run();
    publisher.join();
}

class raw_server {
public:
    explicit raw_server(const config& c) : c_(c), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), c.port}) {}

    void run() {
        accept();
        std::thread publisher([&] {
            for (std::size_t round = 0; round < c_.rounds; ++round) {
                while (parked_.load() != c_.waiters) std::this_thread::sleep_for(std::chrono::milliseconds(2));
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
                // The bytes herald's answer has (longpoll/answer.hpp), so both send the same.
                const std::string id = "\"b-" + std::to_string(round + 1) + "\"";
                const std::string body = "{\"cursor\":" + id + ",\"reset\":false,\"messages\":[{\"id\":" + id +
                                         ",\"topic\":\"default\",\"data\":\"" + std::to_string(now_ns()) + "\"}]}";
                auto answer = std::make_shared<const std::string>(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\n\r\n" + body);
                parked_ = 0;  // here, before the next check of it, not in the posted handler
                asio::post(io_, [this, answer] {
                    for (auto& s : subs_) asio::async_write(s->socket, asio::buffer(*answer), [this, answer, &s](std::error_code ec, std::size_t) {
                        if (!ec) read(*s);
                    });
                });
            }
        });
        io_.run();
        publisher.join();
    }

private:
    struct sub {
        explicit sub(tcp::socket s) : socket(std::move(s)) {}
        tcp::socket socket;
        asio::streambuf request;
    };

    void accept() {
        acceptor_.async_accept([this](std::error_code ec, tcp::socket s) {
            if (ec) return;
            s.set_option(tcp::no_delay(true));
            read(*subs_.emplace_back(std::make_unique<sub>(std::move(s))));
            accept();
        });
    }

    void read(sub& s) {
        asio::async_read_until(s.socket, s.request, "\r\n\r\n", [this, &s](std::error_code e, std::size_t n) {
            if (e) return;
            s.request.consume(n);
            ++parked_;
        });
    }

    config c_;
    asio::io_context io_{1};
    tcp::acceptor acceptor_;
    std::vector<std::unique_ptr<sub>> subs_;
    std::atomic<std::size_t> parked_{0};
};

struct client {
    explicit client(asio::io_context& io) : socket(io) {}
    tcp::socket socket;
    std::array<char, 4096> chunk{};
    std::string partial;
    std::uint64_t cursor = 0;
};

void run_clients(const config& c) {
    asio::io_context io{1};
    std::vector<std::unique_ptr<client>> clients;
    std::vector<std::int64_t> latencies;
    std::function<void(client&)> read_answer = [&](client& cl) {
        cl.socket.async_read_some(asio::buffer(cl.chunk), [&](std::error_code ec, std::size_t n) {
            if (ec) return;
            const std::int64_t at = now_ns();
            cl.partial.append(cl.chunk.data(), n);
            const auto open = cl.partial.find("\"data\":\"");
            const auto close = cl.partial.find("\"}]}");
            if (open == std::string::npos || close == std::string::npos) return read_answer(cl);  // not whole yet
            latencies.push_back(at - std::stoll(cl.partial.substr(open + 8, close - open - 8)));
            cl.partial.clear();
            ++cl.cursor;
        });
    };
    auto poll = [&](client& cl) {
        const std::string request =
            "GET /poll?since=b-" + std::to_string(cl.cursor) + "&timeout=120 HTTP/1.1\r\nHost: b\r\n\r\n";
        asio::write(cl.socket, asio::buffer(request));
        read_answer(cl);
    };
    for (std::size_t i = 0; i < c.waiters; ++i) {
        auto cl = std::make_unique<client>(io);
        cl->socket.connect({asio::ip::make_address("127.0.0.1"), c.port});
        clients.push_back(std::move(cl));
    }
    for (std::size_t round = 0; round < c.rounds; ++round) {
        latencies.clear();
        io.restart();
        for (auto& cl : clients) poll(*cl);
        while (latencies.size() < c.waiters)
            if (io.run_one_for(std::chrono::seconds(30)) == 0) break;
        if (latencies.size() < c.waiters) {
            std::fprintf(stderr, "round %zu: only %zu of %zu answers\n", round, latencies.size(), c.waiters);
            std::exit(4);
        }
        std::sort(latencies.begin(), latencies.end());
        std::printf("%s waiters=%zu round=%zu first_ms=%.2f median_ms=%.2f last_ms=%.2f\n", c.raw ? "raw" : "herald",
                    c.waiters, round, latencies.front() / 1e6, latencies[latencies.size() / 2] / 1e6,
                    latencies.back() / 1e6);
    }
}

}  // namespace

int main(int argc, char** argv) {
    config c;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view name = argv[i];
        const std::string value = argv[i + 1];
        if (name == "--waiters") c.waiters = std::stoul(value);
        else if (name == "--rounds") c.rounds = std::stoul(value);
        else if (name == "--server") c.raw = value == "raw";
    }
    c.port = bench::free_port();
    bench::fork_and_run(
        [&] {
            if (c.raw) raw_server(c).run();
            else run_herald_server(c);
        },
        [&] { run_clients(c); });
}
