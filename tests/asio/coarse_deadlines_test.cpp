// One timer per execution context for the long deadlines of many idle streams
// (asio_detail::coarse_deadlines): a deadline fires once, after it has passed and
// within a period of it, an entry that left is never fired, and the context's
// run() does not wait for the sweep once no entry is left or no deadline is set.
#include <herald/asio/detail/coarse_deadlines.hpp>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/thread_pool.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

using namespace herald;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using asio_detail::coarse_deadlines;

namespace {

struct owner {
    std::atomic<int> fired{0};
    std::atomic<clock_type::rep> fired_at{0};
    coarse_deadlines::entry deadline;  // last: it leaves the sweep before the counters go
    static void fire(void* self) {
        auto* o = static_cast<owner*>(self);
        o->fired_at = clock_type::now().time_since_epoch().count();
        ++o->fired;
    }
};

clock_type::time_point at(const std::atomic<clock_type::rep>& rep) { return clock_type::time_point(clock_type::duration(rep.load())); }

}  // namespace

TEST_CASE("coarse deadlines: a deadline fires once, and not before it passed", "[asio][deadline]") {
    asio::io_context io;
    owner o;
    o.deadline.join(io.get_executor(), 80ms, &o, &owner::fire);  // a 10 ms sweep
    const auto due = clock_type::now() + 30ms;
    o.deadline.expires_at(due);
    // Watches until it fired, then lets three more sweeps go by: no second firing
    // without a re-arm. No bound on how late: timing is for benchmarks.
    asio::steady_timer step{io};
    int after_fired = 0;
    std::function<void()> watch = [&] {
        if (o.fired > 0 && ++after_fired > 3) return o.deadline.leave();
        step.expires_after(10ms);
        step.async_wait([&](std::error_code) { watch(); });
    };
    watch();
    io.run();
    CHECK(o.fired == 1);
    CHECK(at(o.fired_at) >= due);
}

TEST_CASE("coarse deadlines: an entry re-armed before its deadline is not fired, and one cleared never", "[asio][deadline]") {
    asio::io_context io;
    owner moved, cleared;
    moved.deadline.join(io.get_executor(), 40ms, &moved, &owner::fire);
    cleared.deadline.join(io.get_executor(), 40ms, &cleared, &owner::fire);
    // Both were due at once; the last store wins before any sweep runs.
    moved.deadline.expires_at(clock_type::now());
    cleared.deadline.expires_at(clock_type::now());
    moved.deadline.expires_at(clock_type::now() + 1h);  // a write went out: the next keep-alive is later
    cleared.deadline.clear();
    // A fired `other` proves the sweeps ran meanwhile, however slowly.
    owner other;
    other.deadline.join(io.get_executor(), 40ms, &other, &owner::fire);
    other.deadline.expires_at(clock_type::now() + 20ms);
    asio::steady_timer step{io};
    int after_fired = 0;
    std::function<void()> watch = [&] {
        if (other.fired > 0 && ++after_fired > 3) {
            other.deadline.leave();
            moved.deadline.leave();
            return cleared.deadline.leave();
        }
        step.expires_after(10ms);
        step.async_wait([&](std::error_code) { watch(); });
    };
    watch();
    io.run();
    CHECK(other.fired == 1);
    CHECK(moved.fired == 0);
    CHECK(cleared.fired == 0);
}

TEST_CASE("coarse deadlines: once the last entry left, the sweep holds no work", "[asio][deadline]") {
    asio::io_context io;
    auto o = std::make_unique<owner>();
    o->deadline.join(io.get_executor(), 8s, o.get(), &owner::fire);  // a 1-second sweep
    asio::post(io, [&] { o.reset(); });  // destroyed: leaves
    // Run without blocking: the cancelled sweep completes at once, and nothing is
    // left, where an armed sweep would keep the context busy for a second.
    for (int i = 0; i < 100 && !io.stopped(); ++i) io.poll();
    CHECK(io.stopped());
    CHECK_FALSE(o);
}

TEST_CASE("coarse deadlines: the sweep waits only while a deadline is set, and cancel() of the last ends its wait", "[asio][deadline]") {
    asio::io_context io;
    owner o;
    o.deadline.join(io.get_executor(), 8s, &o, &owner::fire);  // a 1-second sweep
    // Joined with no deadline set (an HTTP connection between requests): no wait.
    io.poll();
    CHECK(io.stopped());

    // A deadline set wakes the sweep, which then holds the context's work...
    io.restart();
    o.deadline.expires_at(clock_type::now() + 1h);
    io.poll();
    CHECK_FALSE(io.stopped());
    // ...and cancel() of the only deadline ends the wait at once, not a period later.
    o.deadline.cancel();
    for (int i = 0; i < 100 && !io.stopped(); ++i) io.poll();
    CHECK(io.stopped());

    // Set again, it fires: the sweep was restarted.
    io.restart();
    o.deadline.expires_at(clock_type::now());
    asio::steady_timer step{io};
    std::function<void()> watch = [&] {
        if (o.fired > 0) return o.deadline.leave();
        step.expires_after(10ms);
        step.async_wait([&](std::error_code) { watch(); });
    };
    watch();
    io.run();
    CHECK(o.fired == 1);
}

TEST_CASE("coarse deadlines: an entry that outlives its context leaves without touching it", "[asio][deadline]") {
    owner o;
    {
        asio::io_context io;
        o.deadline.join(io.get_executor(), 1s, &o, &owner::fire);
        o.deadline.expires_at(clock_type::now() + 1h);
    }
    o.deadline.leave();  // the service is gone: a no-op (ASan would see a use after free)
    CHECK(o.fired == 0);
}

TEST_CASE("coarse deadlines: entries on strands of a pool join, fire and leave from several threads", "[asio][deadline]") {
    asio::thread_pool pool{2};
    constexpr int count = 200;
    std::vector<std::unique_ptr<owner>> owners;
    for (int i = 0; i < count; ++i) owners.push_back(std::make_unique<owner>());
    std::atomic<int> joined{0};
    for (int i = 0; i < count; ++i) {
        auto strand = asio::make_strand(pool.get_executor());
        asio::post(strand, [&, i, strand] {
            auto& o = *owners[static_cast<std::size_t>(i)];
            o.deadline.join(strand, 40ms, &o, &owner::fire);
            o.deadline.expires_at(clock_type::now() + std::chrono::milliseconds(i % 20));
            ++joined;
        });
    }
    const auto until = clock_type::now() + 60s;  // a bound for a broken sweep only: the loop ends once all fired
    const auto all_fired = [&] {
        for (auto& o : owners)
            if (o->fired == 0) return false;
        return true;
    };
    while (!all_fired() && clock_type::now() < until) std::this_thread::sleep_for(5ms);
    CHECK(joined == count);
    CHECK(all_fired());
    for (int i = 0; i < count; i += 2) owners[static_cast<std::size_t>(i)]->deadline.leave();  // from this thread, mid-sweep
    owners.clear();
    pool.join();  // no sweep left waiting
    SUCCEED();
}
