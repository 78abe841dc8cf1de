#include <herald/timing/token_bucket.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace herald;
using namespace std::chrono_literals;
using clock_type = timing::token_bucket::clock;

TEST_CASE("token bucket: a burst, then the rate, and the wait until the next token", "[timing][rate]") {
    const clock_type::time_point t0{};
    timing::token_bucket b{{2.0, 3.0}, t0};  // 2 a second, 3 saved up
    CHECK_FALSE(b.take(t0));
    CHECK_FALSE(b.take(t0));
    CHECK_FALSE(b.take(t0));
    const auto wait = b.take(t0);
    REQUIRE(wait);
    CHECK(*wait == 500ms);  // one token every half second
    CHECK(b.take(t0 + 499ms));
    CHECK_FALSE(b.take(t0 + 500ms));
    // Keeping to the rate is never refused.
    for (int i = 1; i <= 100; ++i) CHECK_FALSE(b.take(t0 + 500ms + i * 500ms));
    // A long quiet time saves up no more than the burst.
    const auto later = t0 + 1h;
    CHECK(b.full(later));
    for (int i = 0; i < 3; ++i) CHECK_FALSE(b.take(later));
    CHECK(b.take(later));
}

TEST_CASE("token bucket: no limit takes everything, a burst below one still allows one", "[timing][rate]") {
    const clock_type::time_point t0{};
    timing::token_bucket none{{}, t0};
    for (int i = 0; i < 1000; ++i) CHECK_FALSE(none.take(t0));
    timing::token_bucket small{{1.0, 0.0}, t0};
    CHECK_FALSE(small.take(t0));
    CHECK(small.take(t0));
}

TEST_CASE("keyed limiter: one bucket per key, bounded keys, idle ones forgotten", "[timing][rate]") {
    const clock_type::time_point t0{};
    timing::keyed_limiter l{{1.0, 1.0}, 2};
    CHECK_FALSE(l.take("a", t0));
    CHECK(l.take("a", t0));         // a's one token is spent
    CHECK_FALSE(l.take("b", t0));   // b has its own
    const auto busy = l.take("c", t0);  // two keys, both active: c waits a second
    REQUIRE(busy);
    CHECK(*busy == 1s);
    CHECK(l.keys() == 2);
    // A second later both refilled: they are forgotten and c gets a bucket.
    CHECK_FALSE(l.take("c", t0 + 1s));
    CHECK(l.keys() == 1);
    // A flood of new keys never grows the map past its bound.
    for (int i = 0; i < 1000; ++i) l.take("k" + std::to_string(i), t0 + 1s + std::chrono::milliseconds(i));
    CHECK(l.keys() <= 2);
}
