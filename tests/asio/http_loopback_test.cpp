// The HTTP server over real loopback sockets, on a thread pool.
#include <herald/asio/server.hpp>
#include <herald/asio/sse.hpp>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/streambuf.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>
#include <asio/write.hpp>

#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <chrono>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

using namespace herald;
using asio::ip::tcp;

namespace {

// A blocking client: sends `requests` on one connection and reads `count` answers
// (none when an answer is malformed). Runs on threads of its own, so it asserts nothing.
std::vector<std::string> exchange(const tcp::endpoint& ep, const std::string& requests, std::size_t count) {
    asio::io_context io;
    tcp::socket socket{io};
    socket.connect(ep);
    asio::write(socket, asio::buffer(requests));
    std::vector<std::string> bodies;
    http::response_parser p;
    std::string pending;
    std::array<char, 4096> chunk;
    while (bodies.size() < count) {
        std::error_code ec;
        const std::size_t n = socket.read_some(asio::buffer(chunk), ec);
        if (ec) break;
        pending.append(chunk.data(), n);
        std::string_view view{pending};
        for (http::event ev = p.next(view); ev.type != http::event_type::need_more; ev = p.next(view)) {
            if (ev.type == http::event_type::error) return {};  // no Catch assertion off the test's thread
            if (ev.type == http::event_type::head) bodies.emplace_back();
            if (ev.type == http::event_type::body) bodies.back().append(ev.data);
        }
        pending.clear();
    }
    return bodies;
}

// `clients` threads, each sending `per_client` pipelined requests for distinct
// targets on one keep-alive connection (the server answers with the target).
struct keep_alive_clients {
    std::vector<std::thread> threads;
    std::atomic<int> in_order{0};

    // Waits for every client; how many got all their answers, in order.
    int served_in_order() {
        for (auto& t : threads) t.join();
        return in_order;
    }
};

std::unique_ptr<keep_alive_clients> start_keep_alive_clients(const tcp::endpoint& ep, int clients, int per_client) {
    auto all = std::make_unique<keep_alive_clients>();
    for (int c = 0; c < clients; ++c) {
        all->threads.emplace_back([ep, c, per_client, &counter = all->in_order] {
            std::string requests;
            for (int i = 0; i < per_client; ++i)
                requests += "GET /" + std::to_string(c) + "/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
            const auto bodies = exchange(ep, requests, static_cast<std::size_t>(per_client));
            bool ok = bodies.size() == static_cast<std::size_t>(per_client);
            for (int i = 0; ok && i < per_client; ++i)
                ok = bodies[static_cast<std::size_t>(i)] == "/" + std::to_string(c) + "/" + std::to_string(i);
            if (ok) ++counter;
        });
    }
    return all;
}

}  // namespace

TEST_CASE("loopback: a thread-pool server answers many keep-alive clients at once", "[asio][http][loopback]") {
    asio::thread_pool pool{2};
    std::atomic<int> handled{0};
    http::server server{pool.get_executor(), [&](const http::request& req) {
                            ++handled;
                            return http::response{200, "text/plain", std::string(req.target)};
                        }};
    REQUIRE_FALSE(server.listen({asio::ip::make_address("127.0.0.1"), 0}));
    server.start();
    const auto ep = server.local_endpoint();
    constexpr int clients = 8, per_client = 50;
    auto keep_alive = start_keep_alive_clients(ep, clients, per_client);
    CHECK(keep_alive->served_in_order() == clients);
    CHECK(handled == clients * per_client);
    server.stop();
    pool.join();
}

TEST_CASE("loopback: every connection calls the server's one handler, never a copy of it", "[asio][http][loopback]") {
    // Each connection's loop held a copy of the server's std::function: 32 bytes,
    // and a heap block more for a handler that owns over 16 bytes, per connection.
    struct counted_handler {
        std::shared_ptr<std::atomic<int>> copies = std::make_shared<std::atomic<int>>(0);
        std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
        counted_handler() = default;
        counted_handler(const counted_handler& other) : copies(other.copies), calls(other.calls) { ++*copies; }
        counted_handler(counted_handler&&) noexcept = default;
        http::response operator()(const http::request& req) const {
            ++*calls;
            return {200, "text/plain", std::string(req.target)};
        }
    };
    asio::thread_pool pool{2};
    counted_handler handler;
    const auto copies = handler.copies;
    const auto calls = handler.calls;
    http::server server{pool.get_executor(), std::move(handler)};
    REQUIRE_FALSE(server.listen({asio::ip::make_address("127.0.0.1"), 0}));
    server.start();
    const int copies_before = *copies;
    constexpr int clients = 8, per_client = 5;
    auto keep_alive = start_keep_alive_clients(server.local_endpoint(), clients, per_client);
    CHECK(keep_alive->served_in_order() == clients);
    CHECK(*calls == clients * per_client);
    CHECK(*copies == copies_before);
    server.stop();
    pool.join();
}

TEST_CASE("loopback: a single-thread server serves keep-alive clients and an SSE stream fed from another thread",
          "[asio][http][loopback]") {
    using server_type = http::single_thread_server<asio::io_context::executor_type>;
    static_assert(std::is_same_v<server_type::socket_type::executor_type, asio::io_context::executor_type>,
                  "no strand between a connection and its one thread");
    asio::io_context io{1};
    using stream_type = sse::event_stream<server_type::socket_type>;
    std::shared_ptr<stream_type> stream;
    std::atomic<bool> streaming{false};
    server_type server{io.get_executor(), [&](const http::request& req, http::responder respond) {
                           if (req.target != "/events") return respond(http::response{200, "text/plain", std::string(req.target)});
                           respond.hand_off<server_type::connection_type>([&](auto conn) {
                               stream = std::make_shared<stream_type>(conn);
                               stream->async_run([](std::error_code) {});
                               streaming = true;
                           });
                       }};
    REQUIRE_FALSE(server.listen({asio::ip::make_address("127.0.0.1"), 0}));
    server.start();
    const auto ep = server.local_endpoint();
    std::thread runner([&] { io.run_for(std::chrono::seconds(20)); });

    auto keep_alive = start_keep_alive_clients(ep, 4, 50);

    asio::io_context client_io;
    tcp::socket events{client_io};
    events.connect(ep);
    asio::write(events, asio::buffer(std::string_view{"GET /events HTTP/1.1\r\nHost: x\r\n\r\n"}));
    for (int i = 0; i < 5000 && !streaming; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    REQUIRE(streaming);
    std::thread publisher([&] {  // another thread than the server's: each send wakes the writer through a post
        for (int i = 0; i < 200; ++i) {
            std::error_code ec;
            stream->send(sse::make_shared_event({"", std::to_string(i), std::nullopt, std::nullopt}, ec));
            if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    });
    const timeval five_seconds{5, 0};
    setsockopt(events.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &five_seconds, sizeof five_seconds);
    std::string got;
    std::array<char, 4096> chunk;
    while (got.find("data: 199\n\n") == std::string::npos) {
        std::error_code ec;
        const std::size_t n = events.read_some(asio::buffer(chunk), ec);
        if (ec) break;
        got.append(chunk.data(), n);
    }
    publisher.join();
    CHECK(keep_alive->served_in_order() == 4);
    std::size_t at = got.find("\r\n\r\n");
    REQUIRE(at != std::string::npos);
    for (int i = 0; i < 200; ++i) {
        const std::string line = "data: " + std::to_string(i) + "\n\n";
        REQUIRE(got.compare(at + 4, line.size(), line) == 0);
        at += line.size();
    }
    server.stop();
    runner.join();
}

TEST_CASE("loopback: an SSE stream takes its connection's place in the server, which frees the connection",
          "[asio][http][loopback][sse]") {
    // The stream is counted (max_connections) and closed by stop() as the
    // connection was; the connection, with its request and buffers, is gone.
    using server_type = http::single_thread_server<asio::io_context::executor_type>;
    using stream_type = sse::event_stream<server_type::socket_type>;
    asio::io_context io{1};
    std::weak_ptr<server_type::connection_type> handed;
    std::atomic<bool> streaming{false};
    std::promise<std::error_code> result;
    server_type server{io.get_executor(), [&](const http::request&, http::responder respond) {
                           respond.hand_off<server_type::connection_type>([&](auto conn) {
                               handed = conn;
                               auto stream = std::make_shared<stream_type>(conn);
                               stream->async_run([&, stream](std::error_code ec) { result.set_value(ec); });
                               streaming = true;
                           });
                       }};
    REQUIRE_FALSE(server.listen({asio::ip::make_address("127.0.0.1"), 0}));
    server.start();
    std::thread runner([&] { io.run_for(std::chrono::seconds(20)); });
    asio::io_context client_io;
    tcp::socket events{client_io};
    events.connect(server.local_endpoint());
    asio::write(events, asio::buffer(std::string_view{"GET /events HTTP/1.1\r\nHost: x\r\n\r\n"}));
    asio::streambuf head;
    asio::read_until(events, head, "\r\n\r\n");
    for (int i = 0; i < 5000 && !streaming; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    REQUIRE(streaming);
    std::promise<bool> freed;
    asio::post(io, [&] { freed.set_value(handed.expired()); });  // read on the server's thread
    CHECK(freed.get_future().get());
    CHECK(server.connection_count() == 1);
    server.stop();
    const timeval five_seconds{5, 0};  // a stream stop() missed fails here, not hangs
    setsockopt(events.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &five_seconds, sizeof five_seconds);
    std::array<char, 64> chunk;
    std::error_code ec;
    while (!ec) events.read_some(asio::buffer(chunk), ec);
    CHECK(ec == asio::error::eof);
    auto done = result.get_future();
    REQUIRE(done.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    CHECK_FALSE(done.get());  // closed: a normal end
    for (int i = 0; i < 500 && server.connection_count() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(server.connection_count() == 0);
    runner.join();
}

TEST_CASE("loopback: stop closes open connections and the pool drains", "[asio][http][loopback]") {
    asio::thread_pool pool{1};
    http::server server{pool.get_executor(), [](const http::request&) { return http::response{204}; }};
    REQUIRE_FALSE(server.listen({asio::ip::make_address("127.0.0.1"), 0}));
    server.start();
    asio::io_context io;
    tcp::socket idle{io};
    idle.connect(server.local_endpoint());
    // Wait until the server has the connection before stopping it.
    for (int i = 0; i < 1000 && server.connection_count() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE(server.connection_count() == 1);
    server.stop();
    std::array<char, 16> chunk;
    std::error_code ec;
    idle.read_some(asio::buffer(chunk), ec);
    CHECK(ec == asio::error::eof);
    pool.join();  // returns only when no connection is left waiting
    CHECK(server.connection_count() == 0);
}

TEST_CASE("loopback: a client that never reads its answer is cut after write_timeout", "[asio][http][loopback]") {
    asio::io_context io;
    tcp::acceptor acceptor{io, {asio::ip::make_address("127.0.0.1"), 0}};
    tcp::socket client{io};
    client.connect(acceptor.local_endpoint());
    // Small buffers on both sides, so the 16 MiB answer cannot hide in the kernel.
    client.set_option(asio::socket_base::receive_buffer_size(4096));
    http::server_options options;
    options.write_timeout = std::chrono::milliseconds(200);
    http::server_connection<tcp::socket> conn{acceptor.accept(), options};
    conn.next_layer().set_option(asio::socket_base::send_buffer_size(4096));
    std::error_code result = asio::error::would_block;
    http::async_serve(conn, [](const http::request&) { return http::response{200, "text/plain", std::string(16 << 20, 'x')}; },
                      [&](std::error_code ec) { result = ec; });
    asio::write(client, asio::buffer(std::string_view{"GET / HTTP/1.1\r\nHost: t\r\n\r\n"}));  // and never reads
    asio::steady_timer guard{io, std::chrono::seconds(10)};
    guard.async_wait([&](std::error_code ec) {
        if (!ec) io.stop();
    });
    while (result == asio::error::would_block && !io.stopped()) io.run_one();
    CHECK(result == asio::error::timed_out);  // before write_timeout existed: never
    CHECK_FALSE(conn.next_layer().is_open());
}

TEST_CASE("loopback: a slow reader that keeps taking bytes outlives write_timeout", "[asio][http][loopback]") {
    // The deadline is for a client that stops reading, not for a long answer.
    asio::io_context io;
    tcp::acceptor acceptor{io, {asio::ip::make_address("127.0.0.1"), 0}};
    tcp::socket client{io};
    client.connect(acceptor.local_endpoint());
    http::server_options options;
    options.write_timeout = std::chrono::seconds(1);  // a hundred times the pace below: stalls do not matter
    http::server_connection<tcp::socket> conn{acceptor.accept(), options};
    conn.next_layer().set_option(asio::socket_base::send_buffer_size(4096));
    const std::size_t size = 12 << 20;
    std::error_code result = asio::error::would_block;
    http::async_serve(conn, [&](const http::request&) { return http::response{200, "text/plain", std::string(size, 'x')}; },
                      [&](std::error_code ec) { result = ec; });
    asio::write(client, asio::buffer(std::string_view{"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"}));
    // At most 64 KiB every 10 ms: the answer takes about two write_timeouts to go out.
    std::size_t got = 0;
    std::array<char, 64 * 1024> chunk{};
    asio::steady_timer pace{io};
    std::function<void()> take = [&] {
        pace.expires_after(std::chrono::milliseconds(10));
        pace.async_wait([&](std::error_code) {
            client.async_read_some(asio::buffer(chunk), [&](std::error_code ec, std::size_t n) {
                got += n;
                if (!ec) take();
            });
        });
    };
    take();
    io.run_for(std::chrono::seconds(60));
    CHECK_FALSE(result);
    CHECK(got > size);
}

namespace {

// Sends one GET on `s` and returns the first bytes of the answer, waiting at most
// 2 s (SO_RCVTIMEO): a client left hanging sees would_block in `ec`, and the test
// goes on instead of hanging.
std::string ask_once(tcp::socket& s, std::error_code& ec) {
    const timeval two_seconds{2, 0};
    setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &two_seconds, sizeof two_seconds);
    asio::write(s, asio::buffer(std::string_view{"GET / HTTP/1.1\r\nHost: t\r\n\r\n"}), ec);
    std::array<char, 512> chunk{};
    const std::size_t n = ec ? 0 : s.read_some(asio::buffer(chunk), ec);
    return std::string(chunk.data(), n);
}

std::size_t open_descriptors() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
    return n;
}

}  // namespace

TEST_CASE("loopback: at the descriptor limit the server refuses waiting clients at once, says so once, and recovers",
          "[asio][http][loopback]") {
    asio::io_context io;
    http::server server{io.get_executor(), [](const http::request&) { return http::response{200, "text/plain", "ok"}; }};
    REQUIRE_FALSE(server.listen({asio::ip::make_address("127.0.0.1"), 0}));
    std::mutex reported_mutex;
    std::vector<std::error_code> reported;
    server.on_accept_limit([&](std::error_code ec) {
        std::lock_guard lock(reported_mutex);
        reported.push_back(ec);
    });
    // Thirty clients are connected (the kernel completes the handshakes) before the
    // server accepts any; then the process may open only a few more descriptors.
    asio::io_context client_io;
    std::vector<tcp::socket> clients;
    for (int i = 0; i < 30; ++i) {
        clients.emplace_back(client_io);
        clients.back().connect(server.local_endpoint());
    }
    rlimit before{};
    REQUIRE(getrlimit(RLIMIT_NOFILE, &before) == 0);
    rlimit low = before;
    low.rlim_cur = open_descriptors() + 4;
    REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);
    struct restore_limit {
        rlimit limit;
        ~restore_limit() { setrlimit(RLIMIT_NOFILE, &limit); }
    } restore{before};
    server.start();
    std::thread runner([&] { io.run_for(std::chrono::seconds(60)); });  // until stop() leaves it no work
    // Each client asks; the few accepted are answered, the others find their
    // connection closed at once instead of waiting for ever.
    int answered = 0, refused = 0, hung = 0;
    for (auto& client : clients) {
        std::error_code ec;
        const std::string got = ask_once(client, ec);  // a client left hanging is counted, not waited for
        if (!ec && got.rfind("HTTP/1.1 200", 0) == 0) ++answered;
        else if (ec == asio::error::would_block || ec == asio::error::try_again) ++hung;
        else ++refused;  // eof or a reset, at once
    }
    CHECK(hung == 0);  // before: every client past the limit
    CHECK(answered + refused == 30);
    CHECK(refused >= 20);
    const auto reports = [&] {
        std::lock_guard lock(reported_mutex);
        return reported;
    }();
    REQUIRE(reports.size() == 1);  // one report for the episode, not one per failed accept
    CHECK(reports[0] == asio::error::no_descriptors);  // EMFILE
    // Descriptors free up: the server takes new clients again, the limit unchanged.
    for (auto& client : clients) client.close();
    clients.clear();
    for (int i = 0; i < 500 && server.connection_count() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(server.connection_count() == 0);
    tcp::socket late{client_io};
    late.connect(server.local_endpoint());
    std::error_code ec;
    const std::string got = ask_once(late, ec);
    CHECK_FALSE(ec);
    CHECK(got.rfind("HTTP/1.1 200", 0) == 0);
    late.close();
    server.stop();
    runner.join();
}

TEST_CASE("loopback: past max_connections a new client is answered 503 with Retry-After at once", "[asio][http][loopback]") {
    asio::io_context io;
    http::server_options options;
    options.max_connections = 2;
    http::server server{io.get_executor(), [](const http::request&) { return http::response{200, "text/plain", "ok"}; },
                        options};
    REQUIRE_FALSE(server.listen({asio::ip::make_address("127.0.0.1"), 0}));
    server.start();
    std::thread runner([&] { io.run_for(std::chrono::seconds(10)); });
    asio::io_context client_io;
    const auto ask = [](tcp::socket& s) {
        std::error_code ignored;
        return ask_once(s, ignored);
    };
    tcp::socket first{client_io}, second{client_io}, third{client_io};
    first.connect(server.local_endpoint());
    CHECK(ask(first).rfind("HTTP/1.1 200", 0) == 0);
    second.connect(server.local_endpoint());
    CHECK(ask(second).rfind("HTTP/1.1 200", 0) == 0);
    third.connect(server.local_endpoint());  // both others are still open (kept alive)
    const std::string refused = ask(third);
    CHECK(refused.rfind("HTTP/1.1 503", 0) == 0);
    CHECK(refused.find("Retry-After: 1\r\n") != std::string::npos);
    // One leaves: the next is served again.
    first.close();
    std::string answer;
    for (int i = 0; i < 100 && answer.rfind("HTTP/1.1 200", 0) != 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        tcp::socket again{client_io};
        again.connect(server.local_endpoint());
        answer = ask(again);
    }
    CHECK(answer.rfind("HTTP/1.1 200", 0) == 0);
    second.close();
    server.stop();
    runner.join();
}
