#include <herald/timing/backoff.hpp>

#include <catch2/catch.hpp>

#include <random>
#include <vector>

using namespace herald::timing;
using namespace std::chrono;

namespace {

backoff_policy policy(jitter j, std::uint32_t max_attempts = 0) {
    backoff_policy p;
    p.base = milliseconds(100);
    p.cap = seconds(10);
    p.max_attempts = max_attempts;
    p.jitter = j;
    return p;
}

}  // namespace

TEST_CASE("backoff without jitter doubles from base up to the cap", "[timing][backoff]") {
    backoff b{policy(jitter::none)};
    std::mt19937_64 rng{1};
    std::vector<milliseconds::rep> got;
    for (int i = 0; i < 10; ++i) got.push_back(duration_cast<milliseconds>(*b.next(rng)).count());
    CHECK(got == std::vector<milliseconds::rep>{100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000, 10000});
}

TEST_CASE("every jitter policy stays within its bounds over many draws", "[timing][backoff]") {
    std::mt19937_64 rng{42};
    for (jitter j : {jitter::full, jitter::equal, jitter::decorrelated}) {
        backoff b{policy(j)};
        nanoseconds previous = milliseconds(100);
        bool saw_low = false, saw_high = false;
        for (std::uint32_t attempt = 0; attempt < 5000; ++attempt) {
            const nanoseconds ceiling = b.ceiling(attempt);
            const nanoseconds d = *b.next(rng);
            INFO("policy " << static_cast<int>(j) << " attempt " << attempt);
            REQUIRE(d <= seconds(10));
            switch (j) {
            case jitter::full:
                REQUIRE(d >= nanoseconds{0});
                REQUIRE(d <= ceiling);
                break;
            case jitter::equal:
                REQUIRE(d >= ceiling / 2);
                REQUIRE(d <= ceiling);
                break;
            case jitter::decorrelated:
                REQUIRE(d >= milliseconds(100));
                REQUIRE(d <= std::min<nanoseconds>(seconds(10), previous * 3));
                previous = d;
                break;
            default: break;
            }
            // The draws spread over the range rather than sticking to one end.
            if (attempt > 10 && d < seconds(10) / 4) saw_low = true;
            if (attempt > 10 && d > seconds(10) * 3 / 4) saw_high = true;
        }
        CHECK(saw_high);
        if (j != jitter::equal) CHECK(saw_low);
    }
}

TEST_CASE("a fixed seed gives a fixed sequence", "[timing][backoff]") {
    for (jitter j : {jitter::full, jitter::equal, jitter::decorrelated}) {
        std::mt19937 a{7}, b{7};
        backoff x{policy(j)}, y{policy(j)};
        for (int i = 0; i < 100; ++i) CHECK(x.next(a) == y.next(b));
    }
    // And the same on every standard library: herald maps the bits itself.
    std::mt19937_64 rng{2024};
    backoff b{policy(jitter::full)};
    std::vector<nanoseconds::rep> first;
    for (int i = 0; i < 3; ++i) first.push_back(b.next(rng)->count());
    std::mt19937_64 again{2024};
    backoff c{policy(jitter::full)};
    for (int i = 0; i < 3; ++i) CHECK(c.next(again)->count() == first[static_cast<std::size_t>(i)]);
}

TEST_CASE("max_attempts ends the retries and reset starts again from base", "[timing][backoff]") {
    std::minstd_rand rng{3};
    backoff b{policy(jitter::none, 3)};
    CHECK(b.next(rng) == milliseconds(100));
    CHECK(b.next(rng) == milliseconds(200));
    CHECK(b.next(rng) == milliseconds(400));
    CHECK_FALSE(b.next(rng).has_value());
    CHECK(b.attempts() == 3);
    b.reset();
    CHECK(b.next(rng) == milliseconds(100));
}

TEST_CASE("no overflow after thousands of attempts - even with a huge cap", "[timing][backoff]") {
    backoff_policy p;
    p.base = nanoseconds(1);
    p.cap = nanoseconds::max();
    p.jitter = jitter::decorrelated;
    backoff b{p};
    std::mt19937_64 rng{5};
    for (int i = 0; i < 10000; ++i) {
        const auto d = *b.next(rng);
        REQUIRE(d >= nanoseconds{1});
    }
    backoff none{backoff_policy{nanoseconds(3), nanoseconds::max(), 0, jitter::none}};
    for (int i = 0; i < 10000; ++i) REQUIRE(*none.next(rng) > nanoseconds{0});
    CHECK(none.ceiling(70) == nanoseconds::max());
    CHECK(none.ceiling(61) == nanoseconds(std::int64_t{3} << 61));  // fits: 3 * 2^61 < 2^63
    CHECK(none.ceiling(62) == nanoseconds::max());
}
