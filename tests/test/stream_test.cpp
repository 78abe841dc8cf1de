// Tests of herald/test/stream.hpp, the in-memory stream the Asio layer is tested over.
#include <herald/test/stream.hpp>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <asio/write.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using herald::test::fail_count;
using herald::test::stream;

// Runs every handler that is ready, without waiting for parked reads (which hold work).
void run_ready(asio::io_context& ioc) {
    ioc.restart();
    ioc.poll();
}

// The outcome of one operation, recorded by its completion handler.
struct result {
    bool done = false;
    std::error_code ec;
    std::size_t n = 0;
    auto handler() {
        return [this](std::error_code e, std::size_t bytes) {
            done = true;
            ec = e;
            n = bytes;
        };
    }
};

std::string text(const std::array<char, 64>& buf, std::size_t n) { return std::string(buf.data(), n); }

}  // namespace

TEST_CASE("test stream: error category", "[test_stream]") {
    std::error_code ec = herald::test::error::injected_failure;
    CHECK(ec.category().name() == std::string("herald.test"));
    CHECK(ec.message() == "injected failure");
    CHECK(ec == herald::test::make_error_code(herald::test::error::injected_failure));
    CHECK(herald::test::error_category().message(0) != ec.message());
}

TEST_CASE("test stream: fail_count fails exactly the n-th call", "[test_stream]") {
    fail_count fc{2};
    std::error_code ec;
    CHECK_FALSE(fc.fail(ec));
    CHECK_FALSE(fc.fail(ec));
    CHECK_FALSE(ec);
    CHECK(fc.fail(ec));
    CHECK(ec == herald::test::error::injected_failure);
    ec.clear();
    CHECK_FALSE(fc.fail(ec));
    CHECK_FALSE(ec);

    fail_count first{0, asio::error::connection_reset};
    CHECK(first.fail(ec));
    CHECK(ec == asio::error::connection_reset);
}

TEST_CASE("test stream: a connected pair carries bytes both ways", "[test_stream]") {
    asio::io_context ioc;
    stream a{ioc.get_executor()}, b{ioc.get_executor()};
    a.connect(b);
    CHECK(a.is_open());
    CHECK(b.is_open());

    std::array<char, 64> buf{};
    result w, r;
    asio::async_write(a, asio::buffer(std::string_view("ping")), w.handler());
    asio::async_read(b, asio::buffer(buf, 4), r.handler());
    ioc.run();
    REQUIRE(w.done);
    REQUIRE(r.done);
    CHECK_FALSE(w.ec);
    CHECK_FALSE(r.ec);
    CHECK(text(buf, r.n) == "ping");

    result w2, r2;
    asio::async_write(b, asio::buffer(std::string_view("pong!")), w2.handler());
    asio::async_read(a, asio::buffer(buf, 5), r2.handler());
    run_ready(ioc);
    CHECK(text(buf, r2.n) == "pong!");
    CHECK(a.nwrite_bytes() == 4);
    CHECK(a.nread_bytes() == 5);
    CHECK(b.nwrite_bytes() == 5);
    CHECK(b.nread_bytes() == 4);
    CHECK(a.str().empty());  // connected writes go to the peer, not to the capture
}

TEST_CASE("test stream: read_size forces short reads", "[test_stream]") {
    asio::io_context ioc;
    const std::string input = "0123456789";
    stream s{ioc.get_executor(), input};
    std::size_t limit = GENERATE(1, 3, 4, 10, 64);
    s.read_size(limit);

    std::array<char, 64> buf{};
    result r;
    asio::async_read(s, asio::buffer(buf, input.size()), r.handler());
    ioc.run();
    REQUIRE(r.done);
    CHECK_FALSE(r.ec);
    CHECK(text(buf, r.n) == input);
    CHECK(s.nread() == (input.size() + limit - 1) / limit);
    CHECK(s.nread_bytes() == input.size());

    result one;
    s.append("ab");
    s.read_size(1);
    s.async_read_some(asio::buffer(buf), one.handler());
    run_ready(ioc);
    CHECK(one.n == 1);
}

TEST_CASE("test stream: write_size forces short writes", "[test_stream]") {
    asio::io_context ioc;
    stream s{ioc.get_executor()};
    s.write_size(4);
    result w;
    asio::async_write(s, asio::buffer(std::string_view("0123456789")), w.handler());
    ioc.run();
    REQUIRE(w.done);
    CHECK_FALSE(w.ec);
    CHECK(w.n == 10);
    CHECK(s.nwrite() == 3);
    CHECK(s.nwrite_bytes() == 10);
    CHECK(s.str() == "0123456789");

    result one;
    s.async_write_some(asio::buffer(std::string_view("abcdef")), one.handler());
    run_ready(ioc);
    CHECK(one.n == 4);
}

TEST_CASE("test stream: fail_count fails exactly the n-th operation", "[test_stream]") {
    asio::io_context ioc;
    const std::size_t n = GENERATE(0, 1, 2, 3);
    fail_count fc{n};
    stream s{ioc.get_executor(), fc};
    s.append("abcdef");

    // Alternate reads and writes: ops 0, 2 read; ops 1, 3 write.
    std::vector<result> results(4);
    std::array<char, 64> buf{};
    for (std::size_t i = 0; i < results.size(); ++i) {
        if (i % 2 == 0)
            s.async_read_some(asio::buffer(buf.data(), 1), results[i].handler());
        else
            s.async_write_some(asio::buffer(std::string_view("x")), results[i].handler());
        run_ready(ioc);
    }
    for (std::size_t i = 0; i < results.size(); ++i) {
        INFO("operation " << i);
        REQUIRE(results[i].done);
        if (i == n) {
            CHECK(results[i].ec == herald::test::error::injected_failure);
            CHECK(results[i].n == 0);
        } else {
            CHECK_FALSE(results[i].ec);
            CHECK(results[i].n == 1);
        }
    }
    CHECK(s.nread() == 2);
    CHECK(s.nwrite() == 2);
    CHECK(s.str() == (n % 2 == 1 ? "x" : "xx"));
}

TEST_CASE("test stream: fail_count applies to sync operations and a shared pair", "[test_stream]") {
    asio::io_context ioc;
    fail_count fc{1, asio::error::connection_reset};
    stream a{ioc.get_executor(), fc}, b{ioc.get_executor(), fc};
    a.connect(b);
    std::error_code ec;
    CHECK(a.write_some(asio::buffer(std::string_view("abc")), ec) == 3);
    CHECK_FALSE(ec);
    char c = 0;
    CHECK(b.read_some(asio::buffer(&c, 1), ec) == 0);
    CHECK(ec == asio::error::connection_reset);
    CHECK(b.read_some(asio::buffer(&c, 1), ec) == 1);
    CHECK_FALSE(ec);
    CHECK(c == 'a');
}

TEST_CASE("test stream: close_remote gives eof once buffered bytes are drained", "[test_stream]") {
    asio::io_context ioc;
    stream s{ioc.get_executor(), "abc"};
    s.close_remote();

    std::array<char, 64> buf{};
    result r1, r2, r3;
    s.async_read_some(asio::buffer(buf.data(), 2), r1.handler());
    run_ready(ioc);
    CHECK(text(buf, r1.n) == "ab");
    s.async_read_some(asio::buffer(buf), r2.handler());
    run_ready(ioc);
    CHECK(text(buf, r2.n) == "c");
    CHECK_FALSE(r2.ec);
    s.async_read_some(asio::buffer(buf), r3.handler());
    run_ready(ioc);
    REQUIRE(r3.done);
    CHECK(r3.ec == asio::error::eof);
    CHECK(r3.n == 0);

    // Half-close: we may still write, into the capture.
    result w;
    s.async_write_some(asio::buffer(std::string_view("reply")), w.handler());
    run_ready(ioc);
    CHECK_FALSE(w.ec);
    CHECK(s.str() == "reply");
}

TEST_CASE("test stream: close_remote wakes a parked read with eof", "[test_stream]") {
    asio::io_context ioc;
    stream a{ioc.get_executor()}, b{ioc.get_executor()};
    a.connect(b);
    std::array<char, 64> buf{};
    result r;
    a.async_read_some(asio::buffer(buf), r.handler());
    run_ready(ioc);
    CHECK_FALSE(r.done);
    a.close_remote();
    run_ready(ioc);
    REQUIRE(r.done);
    CHECK(r.ec == asio::error::eof);

    // The peer is now treated as having shut down its sending side.
    std::error_code ec;
    CHECK(b.write_some(asio::buffer(std::string_view("late")), ec) == 0);
    CHECK(ec == asio::error::broken_pipe);
}

TEST_CASE("test stream: close aborts a parked read and fails later operations", "[test_stream]") {
    asio::io_context ioc;
    stream s{ioc.get_executor()};
    std::array<char, 64> buf{};
    result r;
    s.async_read_some(asio::buffer(buf), r.handler());
    run_ready(ioc);
    CHECK_FALSE(r.done);
    s.close();
    CHECK_FALSE(s.is_open());
    CHECK_FALSE(r.done);  // posted, not run inline
    run_ready(ioc);
    REQUIRE(r.done);
    CHECK(r.ec == asio::error::operation_aborted);

    result r2, w2;
    s.async_read_some(asio::buffer(buf), r2.handler());
    s.async_write_some(asio::buffer(std::string_view("x")), w2.handler());
    run_ready(ioc);
    CHECK(r2.ec == asio::error::bad_descriptor);
    CHECK(w2.ec == asio::error::bad_descriptor);
    CHECK(s.nread() == 2);
    CHECK(s.nwrite() == 1);
    s.close();  // idempotent
    CHECK_THROWS_AS(s.write_some(asio::buffer(std::string_view("x"))), std::system_error);
}

TEST_CASE("test stream: the peer of a closed stream drains, reads eof, cannot write", "[test_stream]") {
    asio::io_context ioc;
    stream a{ioc.get_executor()}, b{ioc.get_executor()};
    a.connect(b);
    std::error_code ec;
    a.write_some(asio::buffer(std::string_view("bye")), ec);
    REQUIRE_FALSE(ec);
    a.close();

    std::array<char, 64> buf{};
    result r1, r2, w;
    b.async_read_some(asio::buffer(buf), r1.handler());
    run_ready(ioc);
    CHECK(text(buf, r1.n) == "bye");
    b.async_read_some(asio::buffer(buf), r2.handler());
    b.async_write_some(asio::buffer(std::string_view("x")), w.handler());
    run_ready(ioc);
    CHECK(r2.ec == asio::error::eof);
    CHECK(w.ec == asio::error::broken_pipe);
    CHECK(b.is_open());
}

TEST_CASE("test stream: cancel aborts a parked read and leaves the stream usable", "[test_stream]") {
    asio::io_context ioc;
    stream s{ioc.get_executor()};
    std::array<char, 64> buf{};
    result r;
    s.async_read_some(asio::buffer(buf), r.handler());
    run_ready(ioc);
    CHECK_FALSE(r.done);
    s.cancel();
    run_ready(ioc);
    REQUIRE(r.done);
    CHECK(r.ec == asio::error::operation_aborted);
    CHECK(s.is_open());
    s.cancel();  // nothing parked: no effect

    result r2;
    s.append("more");
    s.async_read_some(asio::buffer(buf), r2.handler());
    run_ready(ioc);
    CHECK_FALSE(r2.ec);
    CHECK(text(buf, r2.n) == "more");
}

TEST_CASE("test stream: a parked read is woken by append and by the peer's write", "[test_stream]") {
    asio::io_context ioc;
    stream a{ioc.get_executor()}, b{ioc.get_executor()};
    a.connect(b);
    std::array<char, 64> buf{};

    result r1;
    a.async_read_some(asio::buffer(buf), r1.handler());
    run_ready(ioc);
    CHECK_FALSE(r1.done);
    a.append("injected");
    run_ready(ioc);
    REQUIRE(r1.done);
    CHECK(text(buf, r1.n) == "injected");

    result r2, w;
    a.async_read_some(asio::buffer(buf), r2.handler());
    run_ready(ioc);
    CHECK_FALSE(r2.done);
    b.async_write_some(asio::buffer(std::string_view("written")), w.handler());
    run_ready(ioc);
    REQUIRE(r2.done);
    CHECK_FALSE(r2.ec);
    CHECK(text(buf, r2.n) == "written");
    CHECK(w.n == 7);
}

TEST_CASE("test stream: completions never run inside the initiating call", "[test_stream]") {
    asio::io_context ioc;
    fail_count fc{2};
    stream s{ioc.get_executor(), fc};
    s.append("x");
    std::array<char, 64> buf{};
    int seen = 0;
    bool initiated = false;
    auto check = [&](std::error_code, std::size_t) {
        CHECK(initiated);
        ++seen;
    };
    // Initiate from inside the io_context, where a dispatch would run the handler inline.
    asio::post(ioc, [&] {
        s.async_read_some(asio::buffer(buf), check);                     // data ready
        s.async_write_some(asio::buffer(std::string_view("y")), check);  // writes never wait
        s.async_read_some(asio::buffer(buf), check);                     // injected failure
        s.async_read_some(asio::buffer(buf, 0), check);                  // empty buffer
        initiated = true;
        CHECK(seen == 0);
    });
    run_ready(ioc);
    CHECK(seen == 4);

    asio::post(ioc, [&] {
        initiated = false;
        s.async_read_some(asio::buffer(buf), check);  // parks
        s.append("z");                                // completes it from here: still posted
        initiated = true;
        CHECK(seen == 4);
    });
    run_ready(ioc);
    CHECK(seen == 5);
}

TEST_CASE("test stream: an empty read completes at once with 0 bytes", "[test_stream]") {
    asio::io_context ioc;
    stream a{ioc.get_executor()}, b{ioc.get_executor()};
    a.connect(b);
    result r;
    a.async_read_some(asio::mutable_buffer(), r.handler());
    run_ready(ioc);
    REQUIRE(r.done);
    CHECK_FALSE(r.ec);
    CHECK(r.n == 0);
}

TEST_CASE("test stream: the handler's associated executor is used", "[test_stream]") {
    asio::io_context ioc;
    auto strand = asio::make_strand(ioc);
    stream s{ioc.get_executor()};
    std::array<char, 64> buf{};
    bool in_strand = false;
    s.async_read_some(asio::buffer(buf), asio::bind_executor(strand, [&](std::error_code, std::size_t) {
                          in_strand = strand.running_in_this_thread();
                      }));
    s.append("a");
    ioc.run();
    CHECK(in_strand);
}

TEST_CASE("test stream: use_future with a thread running the io_context", "[test_stream]") {
    asio::io_context ioc;
    stream a{ioc.get_executor()}, b{ioc.get_executor()};
    a.connect(b);
    std::thread runner;
    std::array<char, 64> buf{};
    {
        auto work = asio::make_work_guard(ioc);
        runner = std::thread([&] { ioc.run(); });
        std::future<std::size_t> read = a.async_read_some(asio::buffer(buf), asio::use_future);
        std::future<std::size_t> wrote = b.async_write_some(asio::buffer(std::string_view("future")), asio::use_future);
        CHECK(wrote.get() == 6);
        CHECK(text(buf, read.get()) == "future");

        b.close();
        std::future<std::size_t> eof = a.async_read_some(asio::buffer(buf), asio::use_future);
        try {
            eof.get();
            FAIL("expected eof");
        } catch (const std::system_error& e) {
            CHECK(e.code() == asio::error::eof);
        }
    }
    runner.join();
}

TEST_CASE("test stream: a coroutine with use_awaitable", "[test_stream]") {
    asio::io_context ioc;
    stream client{ioc.get_executor()}, server{ioc.get_executor()};
    client.connect(server);
    server.read_size(3);  // the server sees short reads
    client.write_size(2); // and the client makes short writes
    std::string got;
    bool finished = false;

    auto serve = [&]() -> asio::awaitable<void> {
        std::array<char, 64> buf{};
        std::size_t n = co_await asio::async_read(server, asio::buffer(buf, 11), asio::use_awaitable);
        got.assign(buf.data(), n);
        co_await asio::async_write(server, asio::buffer(std::string_view("ok")), asio::use_awaitable);
        server.close();
    };
    auto call = [&]() -> asio::awaitable<void> {
        co_await asio::async_write(client, asio::buffer(std::string_view("hello world")), asio::use_awaitable);
        std::array<char, 64> buf{};
        std::error_code ec;
        std::string reply;
        for (;;) {
            std::size_t n = co_await client.async_read_some(asio::buffer(buf),
                                                            asio::redirect_error(asio::use_awaitable, ec));
            if (ec) break;
            reply.append(buf.data(), n);
        }
        CHECK(ec == asio::error::eof);
        CHECK(reply == "ok");
        finished = true;
    };
    asio::co_spawn(ioc, serve(), asio::detached);
    asio::co_spawn(ioc, call(), asio::detached);
    ioc.run();
    CHECK(got == "hello world");
    CHECK(finished);
    // Each 2-byte write wakes the parked read, which takes what is there: 2 < read_size.
    CHECK(server.nread() == 6);
    CHECK(client.nwrite() == 6);  // ceil(11 / 2)
}

TEST_CASE("test stream: deferred operations", "[test_stream]") {
    asio::io_context ioc;
    stream s{ioc.get_executor(), "deferred"};
    std::array<char, 64> buf{};
    auto op = s.async_read_some(asio::buffer(buf), asio::experimental::deferred);
    CHECK(s.nread() == 0);  // not started until launched
    result r;
    std::move(op)(r.handler());
    ioc.run();
    CHECK(s.nread() == 1);
    CHECK(text(buf, r.n) == "deferred");
}

TEST_CASE("test stream: per-operation cancellation through a slot", "[test_stream]") {
    asio::io_context ioc;
    stream s{ioc.get_executor()};
    asio::cancellation_signal signal;
    std::array<char, 64> buf{};
    result r;
    s.async_read_some(asio::buffer(buf), asio::bind_cancellation_slot(signal.slot(), r.handler()));
    run_ready(ioc);
    CHECK_FALSE(r.done);
    signal.emit(asio::cancellation_type::terminal);
    run_ready(ioc);
    REQUIRE(r.done);
    CHECK(r.ec == asio::error::operation_aborted);
    CHECK_FALSE(signal.slot().has_handler());  // released when the operation ended

    // A later read without the slot is not affected by the signal.
    result r2;
    s.async_read_some(asio::buffer(buf), r2.handler());
    signal.emit(asio::cancellation_type::terminal);
    s.append("still here");
    run_ready(ioc);
    CHECK_FALSE(r2.ec);
    CHECK(text(buf, r2.n) == "still here");
}

TEST_CASE("test stream: a read raced against a timer is cancelled by awaitable operators", "[test_stream]") {
    using namespace asio::experimental::awaitable_operators;
    asio::io_context ioc;
    stream s{ioc.get_executor()};
    std::array<char, 64> buf{};
    std::optional<std::size_t> winner;
    auto race = [&]() -> asio::awaitable<void> {
        asio::steady_timer timer{ioc, std::chrono::steady_clock::duration::zero()};
        auto r = co_await (s.async_read_some(asio::buffer(buf), asio::use_awaitable) ||
                           timer.async_wait(asio::use_awaitable));
        winner = r.index();
    };
    asio::co_spawn(ioc, race(), asio::detached);
    ioc.run();  // returns only if the losing read was cancelled, releasing its work
    CHECK(winner == 1u);

    // The stream is still usable afterwards.
    s.append("after");
    std::error_code ec;
    CHECK(s.read_some(asio::buffer(buf), ec) == 5);
}

TEST_CASE("test stream: a second parked read is refused", "[test_stream]") {
    asio::io_context ioc;
    stream s{ioc.get_executor()};
    std::array<char, 64> buf{};
    result r1, r2;
    s.async_read_some(asio::buffer(buf), r1.handler());
    s.async_read_some(asio::buffer(buf), r2.handler());
    run_ready(ioc);
    CHECK_FALSE(r1.done);
    REQUIRE(r2.done);
    CHECK(r2.ec == asio::error::already_started);
    s.append("a");
    run_ready(ioc);
    CHECK(r1.n == 1);
}

TEST_CASE("test stream: buffer sequences of several buffers", "[test_stream]") {
    asio::io_context ioc;
    stream a{ioc.get_executor()}, b{ioc.get_executor()};
    a.connect(b);
    const std::string head = "GET / HTTP/1.1\r\n", tail = "\r\n";
    std::vector<asio::const_buffer> out{asio::buffer(head), asio::buffer(tail)};
    result w;
    a.async_write_some(out, w.handler());
    run_ready(ioc);
    CHECK(w.n == head.size() + tail.size());

    std::array<char, 5> first{};
    std::array<char, 64> second{};
    std::array<asio::mutable_buffer, 2> in{asio::buffer(first), asio::buffer(second)};
    result r;
    b.async_read_some(in, r.handler());
    run_ready(ioc);
    REQUIRE(r.n == head.size() + tail.size());
    CHECK(std::string(first.data(), 5) + std::string(second.data(), r.n - 5) == head + tail);

    // A short write of a sequence takes its first bytes, across the buffer boundary.
    stream c{ioc.get_executor()};
    c.write_size(3);
    const std::string x = "ab", y = "cd";
    std::array<asio::const_buffer, 2> xy{asio::buffer(x), asio::buffer(y)};
    std::error_code ec;
    CHECK(c.write_some(xy, ec) == 3);
    CHECK(c.str() == "abc");
}

TEST_CASE("test stream: output capture", "[test_stream]") {
    asio::io_context ioc;
    stream s{ioc.get_executor()};
    CHECK(s.str().empty());
    asio::write(s, asio::buffer(std::string_view("HTTP/1.1 200 OK\r\n")));
    asio::write(s, asio::buffer(std::string_view("\r\n")));
    CHECK(s.str() == "HTTP/1.1 200 OK\r\n\r\n");
    s.clear();
    CHECK(s.str().empty());
    asio::write(s, asio::buffer(std::string_view("again")));
    s.close();
    CHECK(s.str() == "again");  // kept after close, to inspect what a server sent
}

TEST_CASE("test stream: sync reads and writes", "[test_stream]") {
    asio::io_context ioc;
    stream s{ioc.get_executor(), "request"};
    s.read_size(2);
    s.close_remote();
    std::string got;
    std::error_code ec;
    asio::read(s, asio::dynamic_buffer(got), ec);
    CHECK(ec == asio::error::eof);
    CHECK(got == "request");
    CHECK(s.nread() == 5);  // 2+2+2+1, then eof
    CHECK_THROWS_AS(s.read_some(asio::buffer(got)), std::system_error);
    CHECK(s.write_some(asio::buffer(std::string_view("answer"))) == 6);
    CHECK(s.str() == "answer");
}

TEST_CASE("test stream: a blocking read is woken by another thread", "[test_stream]") {
    asio::io_context ioc;
    stream a{ioc.get_executor()}, b{ioc.get_executor()};
    a.connect(b);
    std::thread writer([&] { b.write_some(asio::buffer(std::string_view("threaded"))); });
    std::string got;
    std::error_code ec;
    asio::read(a, asio::dynamic_buffer(got), asio::transfer_exactly(8), ec);
    writer.join();
    CHECK_FALSE(ec);
    CHECK(got == "threaded");
}

TEST_CASE("test stream: destroying the peer while a read is parked gives eof", "[test_stream]") {
    asio::io_context ioc;
    stream a{ioc.get_executor()};
    std::array<char, 64> buf{};
    result r1, r2;
    {
        stream b{ioc.get_executor()};
        a.connect(b);
        b.write_some(asio::buffer(std::string_view("last")));
        a.async_read_some(asio::buffer(buf), r1.handler());
        run_ready(ioc);
        REQUIRE(r1.done);
        a.async_read_some(asio::buffer(buf), r2.handler());
        run_ready(ioc);
        CHECK_FALSE(r2.done);
    }
    run_ready(ioc);
    CHECK(text(buf, r1.n) == "last");
    REQUIRE(r2.done);
    CHECK(r2.ec == asio::error::eof);
    CHECK(r2.n == 0);
}

TEST_CASE("test stream: moving a stream keeps its state and its parked read", "[test_stream]") {
    asio::io_context ioc;
    stream a{ioc.get_executor()}, b{ioc.get_executor()};
    a.connect(b);
    std::array<char, 64> buf{};
    result r;
    a.async_read_some(asio::buffer(buf), r.handler());
    stream moved{std::move(a)};
    b.write_some(asio::buffer(std::string_view("moved")));
    run_ready(ioc);
    CHECK(text(buf, r.n) == "moved");
    CHECK(moved.nread() == 1);

    CHECK_FALSE(a.is_open());  // NOLINT(bugprone-use-after-move): the moved-from state is specified
    result gone;
    a.async_read_some(asio::buffer(buf), gone.handler());
    run_ready(ioc);
    CHECK(gone.ec == asio::error::bad_descriptor);
    CHECK(a.str().empty());

    stream c{ioc.get_executor(), "c"};
    c = std::move(moved);  // closes c's old end, takes over moved's
    CHECK(c.is_open());
    b.write_some(asio::buffer(std::string_view("again")));
    std::error_code ec;
    CHECK(c.read_some(asio::buffer(buf), ec) == 5);
}

TEST_CASE("test stream: any executor type", "[test_stream]") {
    asio::io_context ioc;
    using strand_stream = herald::test::basic_stream<asio::strand<asio::io_context::executor_type>>;
    auto strand = asio::make_strand(ioc);
    strand_stream s{strand, "on a strand"};
    std::array<char, 64> buf{};
    bool in_strand = false;
    result r;
    s.async_read_some(asio::buffer(buf), [&, h = r.handler()](std::error_code ec, std::size_t n) mutable {
        in_strand = strand.running_in_this_thread();
        h(ec, n);
    });
    ioc.run();
    CHECK(in_strand);
    CHECK(text(buf, r.n) == "on a strand");
}

TEST_CASE("test stream: a pair driven from two threads of a thread_pool", "[test_stream]") {
    asio::thread_pool pool{2};
    stream a{pool.get_executor()}, b{pool.get_executor()};
    a.connect(b);
    a.write_size(7);
    b.read_size(5);
    const std::size_t total = 200000;
    std::string sent(total, '\0');
    for (std::size_t i = 0; i < total; ++i) sent[i] = static_cast<char>('a' + i % 26);

    // Each direction is one coroutine on its own executor, so reads and writes race.
    std::promise<std::string> received;
    auto reader = [&]() -> asio::awaitable<void> {
        std::string got;
        std::error_code ec;
        co_await asio::async_read(b, asio::dynamic_buffer(got), asio::redirect_error(asio::use_awaitable, ec));
        received.set_value(ec == asio::error::eof ? got : std::string("error: " + ec.message()));
    };
    auto writer = [&]() -> asio::awaitable<void> {
        co_await asio::async_write(a, asio::buffer(sent), asio::use_awaitable);
        a.close();
    };
    asio::co_spawn(pool, reader(), asio::detached);
    asio::co_spawn(pool, writer(), asio::detached);
    auto got = received.get_future().get();
    pool.join();
    CHECK(got.size() == total);
    CHECK(got == sent);
    CHECK(b.nread() >= total / 5);
}
