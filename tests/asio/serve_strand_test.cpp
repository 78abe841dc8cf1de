// async_serve on a socket whose executor is a strand, with the io_context run by
// two threads: a parked request's slot posts what a responder gives from any
// thread to that strand (detail::response_slot_on<strand>), so the answer, the
// on_abandon call and the loop's completion all run on it (run under TSan too).
#include "support.hpp"

#include <herald/asio/serve.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace herald;
using testing::quiet_options;
using tcp = asio::ip::tcp;

namespace {

using strand_executor = asio::strand<asio::io_context::executor_type>;
using strand_socket = tcp::socket::rebind_executor<strand_executor>::other;
using strand_connection = http::server_connection<strand_socket>;

// One connection served on its own strand of an io_context two threads run; the
// client is driven synchronously from the test's thread.
struct strand_served {
    strand_served() : client(client_io) {
        tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
        client.connect(acceptor.local_endpoint());
        server = std::make_shared<strand_connection>(acceptor.accept(strand), quiet_options());
        http::async_serve(
            server,
            [this](const http::request&, http::responder r) {
                handler_on_strand = strand.running_in_this_thread();
                r.on_abandon([this] {
                    abandon_on_strand = strand.running_in_this_thread();
                    ++abandoned;
                });
                std::lock_guard lock(mutex);
                parked.emplace(std::move(r));
                changed.notify_all();
            },
            [this](std::error_code ec) {
                completion_on_strand = strand.running_in_this_thread();
                std::lock_guard lock(mutex);
                result = ec;
                changed.notify_all();
            });
        // Started here, off the strand: safe only because no thread runs `io` yet.
        for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
    }
    ~strand_served() {
        // Handlers still queued (a deadline sweep's wait) are destroyed, not run.
        work.reset();
        io.stop();
        for (auto& t : threads) t.join();
    }
    // The responder the handler parked, once it has (up to 10 s).
    std::optional<http::responder> take_parked() {
        std::unique_lock lock(mutex);
        changed.wait_for(lock, std::chrono::seconds(10), [&] { return parked.has_value(); });
        return std::exchange(parked, std::nullopt);
    }
    // What the loop completed with, once it has (up to 10 s).
    std::optional<std::error_code> wait_result() {
        std::unique_lock lock(mutex);
        changed.wait_for(lock, std::chrono::seconds(10), [&] { return result.has_value(); });
        return result;
    }

    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
    strand_executor strand{asio::make_strand(io.get_executor())};
    asio::io_context client_io;
    tcp::socket client;
    std::shared_ptr<strand_connection> server;
    std::vector<std::thread> threads;
    std::mutex mutex;
    std::condition_variable changed;
    std::optional<http::responder> parked;
    std::optional<std::error_code> result;
    std::atomic<bool> handler_on_strand{false}, abandon_on_strand{false}, completion_on_strand{false};
    std::atomic<int> abandoned{0};
};

}  // namespace

TEST_CASE("serve on a strand: a parked request answered from a thread of its own is written, and the loop ends on the strand",
          "[asio][serve][threads]") {
    strand_served s;
    asio::write(s.client, asio::buffer(std::string("GET /poll HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")));
    auto parked = s.take_parked();
    REQUIRE(parked);
    std::thread([&] { (*parked)(http::response{200, "text/plain", "late"}); }).join();  // neither of the io threads
    std::string wire;
    std::error_code ec = asio::error::would_block;
    asio::async_read(s.client, asio::dynamic_buffer(wire), [&](std::error_code e, std::size_t) { ec = e; });
    s.client_io.run_for(std::chrono::seconds(10));  // until the server closes, as the client asked
    CHECK(ec == asio::error::eof);
    INFO(wire);
    CHECK(wire.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(wire.size() >= 4);
    CHECK(wire.substr(wire.size() - 4) == "late");
    CHECK(s.wait_result() == std::error_code{});
    CHECK(s.handler_on_strand);
    CHECK(s.completion_on_strand);
    CHECK(s.abandoned == 0);
}

TEST_CASE("serve on a strand: a client that leaves while parked is noticed, and on_abandon runs on the strand",
          "[asio][serve][threads]") {
    strand_served s;
    asio::write(s.client, asio::buffer(std::string("GET /poll HTTP/1.1\r\nHost: t\r\n\r\n")));
    auto parked = s.take_parked();
    REQUIRE(parked);
    s.client.close();  // the client hangs up
    CHECK(s.wait_result() == asio::error::operation_aborted);
    CHECK(s.completion_on_strand);
    // on_abandon is applied through a post, so it may run just after the loop ends.
    for (int i = 0; i < 1000 && s.abandoned == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(s.abandoned == 1);
    CHECK(s.abandon_on_strand);
    std::thread([&] { (*parked)(http::response{200, "text/plain", "too late"}); }).join();  // goes nowhere, harmlessly
}
