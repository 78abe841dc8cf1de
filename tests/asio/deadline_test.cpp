// asio_detail::deadline, the slow-loris timer of every HTTP connection
// (detail/deadline.hpp): it fires once its latest deadline has passed, never
// before; moving a deadline later costs no timer operation, moving it sooner
// restarts the wait; disarm() keeps it from firing and cancel() ends its wait.
#include <herald/asio/detail/deadline.hpp>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <catch2/catch.hpp>

#include <chrono>

using namespace std::chrono_literals;
using herald::asio_detail::deadline;
using clock_type = std::chrono::steady_clock;

TEST_CASE("deadline: fires once, at the latest deadline it was armed with", "[asio][deadline]") {
    asio::io_context io;
    deadline d(io.get_executor());
    int fired = 0;
    clock_type::time_point fired_at{};
    const auto start = clock_type::now();
    d.arm(30ms, [&] {
        ++fired;
        fired_at = clock_type::now();
    });
    // Moved later before it fires (a keep-alive request's next phase): the first
    // wait ends at 30 ms, finds the deadline later and waits for the rest.
    asio::steady_timer later(io, 10ms);
    later.async_wait([&](std::error_code) {
        d.arm(80ms, [&] {
            ++fired;
            fired_at = clock_type::now();
        });
    });
    io.run();
    CHECK(fired == 1);
    CHECK(d.expired());
    CHECK(fired_at - start >= 90ms);
}

TEST_CASE("deadline: moving it later costs no timer operation, moving it sooner restarts the wait", "[asio][deadline]") {
    asio::io_context io;
    deadline d(io.get_executor());
    int fired = 0;
    d.arm(10s, [&] { ++fired; });
    for (int i = 0; i < 1000; ++i) d.arm(20s, [&] { ++fired; });
    // No wait was cancelled and restarted: nothing is left to run (each restart
    // would leave its aborted completion behind).
    CHECK(io.poll() == 0);
    const auto start = clock_type::now();
    d.arm(20ms, [&] { ++fired; });  // sooner than the wait: restarted
    io.run_for(2s);
    CHECK(fired == 1);
    CHECK(clock_type::now() - start < 2s);
}

TEST_CASE("deadline: disarmed it never fires, and cancelled its wait ends at once", "[asio][deadline]") {
    asio::io_context io;
    deadline d(io.get_executor());
    int fired = 0;
    d.arm(20ms, [&] { ++fired; });
    d.disarm();
    io.run();  // the wait ends by itself, finds nothing armed
    CHECK(fired == 0);
    CHECK_FALSE(d.expired());

    io.restart();
    d.arm(60s, [&] { ++fired; });
    d.cancel();
    const auto start = clock_type::now();
    io.run();  // returns without waiting a minute
    CHECK(clock_type::now() - start < 10s);
    CHECK(fired == 0);
}

TEST_CASE("deadline: armed again right after a cancel, it still fires", "[asio][deadline]") {
    // The loop a user writes without async_serve: a read's end cancels the wait, and
    // the write that follows at once arms a later deadline before the aborted wait's
    // handler has run.
    asio::io_context io;
    deadline d(io.get_executor());
    int fired = 0;
    d.arm(10ms, [&] { ++fired; });
    d.cancel();
    d.arm(30ms, [&] { ++fired; });
    io.run_for(2s);
    CHECK(fired == 1);
    CHECK(d.expired());
}
