// asio_detail::deadline, the slow-loris deadline of every HTTP connection
// (detail/deadline.hpp): an entry in its context's coarse_deadlines sweep. It
// fires once its latest deadline has passed, never before; arming it is no timer
// operation; disarm() keeps it from firing; destroyed, it never fires.
#include <herald/asio/detail/deadline.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <thread>

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using deadline = herald::asio_detail::deadline<asio::io_context::executor_type>;

namespace {

// The sweep keeps no work on the context (what a deadline bounds does): the tests
// hold work while they wait, as a pending read would.
struct context {
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
    void stop() {
        work.reset();
        io.stop();
    }
};

// A deadline's firings: how many, and when the last was.
struct firings {
    int count = 0;
    clock_type::time_point last{};
    void note() {
        ++count;
        last = clock_type::now();
    }
};

}  // namespace

TEST_CASE("deadline: fires once, at the latest deadline it was armed with", "[asio][deadline]") {
    context c;
    firings fired;
    deadline d(c.io.get_executor(), [&] {
        fired.note();
        // Another sweep or two: a second firing would be counted.
        auto t = std::make_shared<asio::steady_timer>(c.io, 50ms);
        t->async_wait([t, &c](std::error_code) { c.stop(); });
    });
    const auto start = clock_type::now();
    d.arm(30ms, 20ms);
    // Moved later before it fires (a keep-alive request's next phase).
    asio::steady_timer later(c.io, 10ms);
    later.async_wait([&](std::error_code) { d.arm(80ms, 20ms); });
    c.io.run_for(5s);
    CHECK(fired.count == 1);
    CHECK(d.expired());
    CHECK(fired.last - start >= 90ms);
}

TEST_CASE("deadline: arming is no timer operation, and a sooner deadline is kept", "[asio][deadline]") {
    context c;
    int fired = 0;
    deadline d(c.io.get_executor(), [&] {
        ++fired;
        c.stop();
    });
    // An 8 s resolution: the sweep ticks once a second (resolution / 8, at most
    // 1 s), so its own tick cannot be what poll() finds ready. With 20 ms it
    // ticked every 2.5 ms, and 1,001 arms under ASan beside the ThreadSanitizer
    // run took longer than that (a README run failed so).
    d.arm(10s, 8s);
    for (int i = 0; i < 1000; ++i) d.arm(20s, 8s);
    // Nothing was queued by 1,001 arms: nothing is ready to run.
    CHECK(c.io.poll() == 0);
    d.arm(20ms, 20ms);  // sooner: fires in time (at the next tick, within a second)
    c.io.run_for(5s);
    CHECK(fired == 1);
}

TEST_CASE("deadline: disarmed it never fires, and armed again it does", "[asio][deadline]") {
    context c;
    int fired = 0;
    deadline d(c.io.get_executor(), [&] {
        ++fired;
        c.stop();
    });
    d.arm(10ms, 10ms);
    d.disarm();
    int fired_while_disarmed = -1;
    bool expired_while_disarmed = true;
    asio::steady_timer after(c.io, 100ms);  // several sweeps later
    after.async_wait([&](std::error_code) {
        fired_while_disarmed = fired;
        expired_while_disarmed = d.expired();
        d.arm(10ms, 10ms);
    });
    c.io.run_for(5s);
    CHECK(fired_while_disarmed == 0);
    CHECK_FALSE(expired_while_disarmed);
    CHECK(fired == 1);
    CHECK(d.expired());
}

TEST_CASE("deadline: destroyed after its sweep fired and before the post ran, it does not fire", "[asio][deadline]") {
    context c;
    int fired = 0;
    std::optional<deadline> d;
    d.emplace(c.io.get_executor(), [&] { ++fired; });
    d->arm(1ms, 10ms);
    std::this_thread::sleep_for(30ms);
    // The one handler ready is the sweep's: it finds the deadline passed and posts
    // the check to the deadline's executor.
    CHECK(c.io.run_one() == 1);
    d.reset();
    CHECK(c.io.poll() >= 1);  // the check runs, finds its owner gone (ASan: no use after free)
    CHECK(fired == 0);
}

TEST_CASE("deadline: re-armed after its sweep fired and before the post ran, it waits for the new time", "[asio][deadline]") {
    // The entry holds the only copy of the time: the check must see the re-arm there.
    context c;
    firings fired;
    deadline d(c.io.get_executor(), [&] {
        fired.note();
        c.stop();
    });
    d.arm(1ms, 10ms);
    std::this_thread::sleep_for(30ms);
    CHECK(c.io.run_one() == 1);  // the sweep: it posts the check
    const auto rearmed = clock_type::now();
    d.arm(60ms, 10ms);  // the next phase of the connection, before the check runs
    CHECK(c.io.poll() >= 1);  // the check: re-armed, so nothing yet
    CHECK(fired.count == 0);
    CHECK_FALSE(d.expired());
    c.io.run_for(5s);
    CHECK(fired.count == 1);
    CHECK(fired.last - rearmed >= 60ms);
}
