// SSE fan-out over loopback: one server process pushes events to N subscribers in
// another, and the subscribers measure what arrives. Two servers run the same
// script: herald (http::server + sse::channel + sse::event_stream) and "raw", a
// hand-written Asio server that writes the same bytes to the same sockets with no
// protocol logic at all — the ceiling herald is measured against.
//
//   herald_bench_sse_fanout [--subscribers N] [--events E] [--mode burst|paced] [--server herald|raw]
//                           [--publish-from thread|server] [--herald-server strands|single-thread]
//
// burst: E events published back to back (E within the send queue), deliveries per
//        second = N * E / (first publish .. last event received by the last client).
// paced: one event every --interval-us, so nothing queues; latency = publish to
//        receipt (CLOCK_MONOTONIC, shared by the two processes), p50 and p99 over
//        all N * E deliveries.
// The server is a forked child with one I/O thread, pinned to CPU 0; the clients
// run on one thread in the parent, pinned to CPU 1. The publisher is a thread of the
// server: raw hands each event to the I/O thread (one post per event, and the I/O
// thread queues it on every socket); herald calls channel.publish() from the
// publisher thread (`--publish-from thread`, the default: every subscriber's queue
// is touched from another thread) or posts the call to the I/O thread first
// (`--publish-from server`, the same shape as raw). herald's server is http::server
// (a strand per connection, as on a thread pool) or, with `--herald-server
// single-thread`, http::single_thread_server (none, as raw has none).
#include <herald/asio/server.hpp>
#include <herald/asio/sse_channel.hpp>

#include <asio/io_context.hpp>
#include <asio/read_until.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>

#include "loopback.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>

using namespace herald;
using asio::ip::tcp;

namespace {

using bench::now_ns;

struct config {
    std::size_t subscribers = 1000;
    std::size_t events = 100;
    bool burst = true;
    bool raw = false;
    long interval_us = 20000;
    bool one_thread = false;  // herald: http::single_thread_server (no strands) instead of http::server
    bool publish_on_server_thread = false;  // herald: publish() posted to the server's thread, as raw does
    unsigned short port = 0;
};

// The event every server sends: "data: <seq> <publish ns>" with an id, about 60 bytes.
sse::event make_event(std::size_t seq, std::string& data) {
    data = std::to_string(seq) + " " + std::to_string(now_ns());
    return {"", data, std::nullopt, std::nullopt};
}

// Publishes the script once `ready()` says every subscriber is there.
template <class Ready, class Publish>
void publish_script(const config& c, Ready ready, Publish publish) {
    while (!ready()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let the heads go out
    for (std::size_t i = 0; i < c.events; ++i) {
        publish(i);
        if (!c.burst) std::this_thread::sleep_for(std::chrono::microseconds(c.interval_us));
    }
}

template <class Server>
void run_herald_server(const config& c) {
    asio::io_context io{1};
    sse::channel channel{"bench", {c.events + 1, 256 * 1024 * 1024}};
    sse::stream_options options;
    options.max_queued_events = c.events + 16;
    using stream_type = sse::event_stream<typename Server::socket_type>;
    Server server{io.get_executor(), [&](const http::request&, http::responder respond) {
                            respond.template hand_off<typename Server::connection_type>([&](auto conn) {
                                auto stream = std::make_shared<stream_type>(conn, options);
                                channel.subscribe(stream, std::nullopt);
                                stream->async_run([](std::error_code) {});
                            });
                        }};
    if (server.listen({asio::ip::make_address("127.0.0.1"), c.port})) std::exit(3);
    server.start();
    std::thread publisher([&] {
        publish_script(c, [&] { return channel.subscriber_count() == c.subscribers; },
                       [&](std::size_t i) {
                           const auto publish = [&channel, i] {
                               std::string data;
                               std::error_code ec;
                               channel.publish(make_event(i, data), ec);
                           };
                           if (c.publish_on_server_thread) asio::post(io, publish);
                           else publish();
                       });
    });
    io.run();  // ended by SIGTERM from the parent
    publisher.join();
}

// The ceiling: accept, read the request head, write a fixed head, then the same
// event bytes to every socket with one async_write chain per socket.
class raw_server {
public:
    explicit raw_server(const config& c) : c_(c), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), c.port}) {}

    void run() {
        accept();
        std::thread publisher([&] {
            publish_script(c_, [&] { return ready_.load() == c_.subscribers; },
                           [&](std::size_t i) {
                               std::string data;
                               std::string bytes = "id: bench-" + std::to_string(i + 1) + "\n";
                               make_event(i, data);
                               bytes += "data: " + data + "\n\n";
                               auto shared = std::make_shared<const std::string>(std::move(bytes));
                               asio::post(io_, [this, shared] {
                                   for (auto& s : subs_) send(*s, shared);
                               });
                           });
        });
        io_.run();
        publisher.join();
    }

private:
    struct sub {
        explicit sub(tcp::socket s) : socket(std::move(s)) {}
        tcp::socket socket;
        asio::streambuf request;
        std::deque<std::shared_ptr<const std::string>> queue;
        bool writing = false;
    };

    void accept() {
        acceptor_.async_accept([this](std::error_code ec, tcp::socket s) {
            if (ec) return;
            s.set_option(tcp::no_delay(true));
            auto& st = *subs_.emplace_back(std::make_unique<sub>(std::move(s)));
            asio::async_read_until(st.socket, st.request, "\r\n\r\n", [this, &st](std::error_code e, std::size_t) {
                if (e) return;
                static const auto head = std::make_shared<const std::string>(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n");
                send(st, head);
                ++ready_;
            });
            accept();
        });
    }

    void send(sub& s, const std::shared_ptr<const std::string>& bytes) {
        s.queue.push_back(bytes);
        if (!s.writing) write(s);
    }

    void write(sub& s) {
        s.writing = true;
        std::vector<asio::const_buffer> buffers;
        for (auto& b : s.queue) buffers.push_back(asio::buffer(*b));
        const std::size_t n = s.queue.size();
        asio::async_write(s.socket, buffers, [this, &s, n](std::error_code ec, std::size_t) {
            if (ec) return;
            s.queue.erase(s.queue.begin(), s.queue.begin() + static_cast<std::ptrdiff_t>(n));
            s.writing = false;
            if (!s.queue.empty()) write(s);
        });
    }

    config c_;
    asio::io_context io_{1};
    tcp::acceptor acceptor_;
    std::vector<std::unique_ptr<sub>> subs_;
    std::atomic<std::size_t> ready_{0};
};

// One subscriber: reads its stream and notes when each event arrived and how late.
struct client {
    explicit client(asio::io_context& io) : socket(io) {}
    tcp::socket socket;
    std::array<char, 16384> chunk{};
    std::string partial;
    std::size_t received = 0;
    std::int64_t last_at = 0;
};

void run_clients(const config& c) {
    asio::io_context io{1};
    std::vector<std::unique_ptr<client>> clients;
    std::vector<std::int64_t> latencies;
    latencies.reserve(c.subscribers * c.events);
    std::size_t done = 0;
    std::int64_t first_published = std::numeric_limits<std::int64_t>::max();
    const std::string request = "GET /events HTTP/1.1\r\nHost: b\r\nAccept: text/event-stream\r\n\r\n";
    std::function<void(client&)> read = [&](client& cl) {
        cl.socket.async_read_some(asio::buffer(cl.chunk), [&](std::error_code ec, std::size_t n) {
            if (ec) return;
            const std::int64_t at = now_ns();
            cl.partial.append(cl.chunk.data(), n);
            std::size_t pos = 0;
            while (true) {
                const auto data = cl.partial.find("data: ", pos);
                if (data == std::string::npos) break;
                const auto end = cl.partial.find("\n\n", data);
                if (end == std::string::npos) break;
                // herald's `event: ready` (where "now" is) comes before the script: not one of its events.
                const bool named = std::string_view(cl.partial).substr(pos, data - pos).find("event: ") != std::string_view::npos;
                pos = end + 2;
                if (named) continue;
                const auto space = cl.partial.find(' ', data + 6);
                const std::int64_t published = std::stoll(cl.partial.substr(space + 1, end - space - 1));
                first_published = std::min(first_published, published);
                latencies.push_back(at - published);
                ++cl.received;
            }
            cl.partial.erase(0, pos);
            if (cl.received == c.events) {
                cl.last_at = at;
                ++done;
                return;
            }
            read(cl);
        });
    };
    for (std::size_t i = 0; i < c.subscribers; ++i) {
        auto cl = std::make_unique<client>(io);
        cl->socket.connect({asio::ip::make_address("127.0.0.1"), c.port});
        asio::write(cl->socket, asio::buffer(request));
        read(*cl);
        clients.push_back(std::move(cl));
    }
    while (done < c.subscribers) {
        if (io.run_for(std::chrono::seconds(60)) == 0 && done < c.subscribers) break;
    }
    if (done < c.subscribers) {
        std::fprintf(stderr, "only %zu of %zu subscribers got every event\n", done, c.subscribers);
        std::exit(4);
    }
    std::sort(latencies.begin(), latencies.end());
    const auto pct = [&](double p) { return latencies[static_cast<std::size_t>(p * (latencies.size() - 1))] / 1000.0; };
    std::int64_t last = 0;
    for (auto& cl : clients) last = std::max(last, cl->last_at);
    const double deliveries = static_cast<double>(c.subscribers * c.events);
    const double span_s = static_cast<double>(last - first_published) / 1e9;  // first publish .. last receipt
    std::printf("%s %s subscribers=%zu events=%zu deliveries=%.0f p50_us=%.1f p99_us=%.1f max_us=%.1f",
                c.raw ? "raw" : "herald", c.burst ? "burst" : "paced", c.subscribers, c.events, deliveries, pct(0.5),
                pct(0.99), pct(1.0));
    if (c.burst) std::printf(" deliveries_per_s=%.0f", deliveries / span_s);
    std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
    config c;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view name = argv[i];
        const std::string value = argv[i + 1];
        if (name == "--subscribers") c.subscribers = std::stoul(value);
        else if (name == "--events") c.events = std::stoul(value);
        else if (name == "--mode") c.burst = value == "burst";
        else if (name == "--server") c.raw = value == "raw";
        else if (name == "--interval-us") c.interval_us = std::stol(value);
        else if (name == "--publish-from") c.publish_on_server_thread = value == "server";
        else if (name == "--herald-server") c.one_thread = value == "single-thread";
    }
    c.port = bench::free_port();
    bench::fork_and_run(
        [&] {
            bench::pin_to(0);
            if (c.raw) raw_server(c).run();
            else if (c.one_thread) run_herald_server<http::single_thread_server<asio::io_context::executor_type>>(c);
            else run_herald_server<http::server>(c);
        },
        [&] {
            bench::pin_to(1);
            run_clients(c);
        });
}
