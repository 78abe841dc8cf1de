#include <herald/hub/sequencer.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <vector>

using namespace herald;
using seq = hub::sequencer<std::string>;

namespace {
std::vector<std::uint64_t> drain(seq& s) {
    std::vector<std::uint64_t> out;
    while (auto next = s.next()) out.push_back(next->first);
    return out;
}
}  // namespace

TEST_CASE("sequencer: in order is released at once, a duplicate dropped, a gap reported", "[hub][sequencer]") {
    seq s{0, 4};
    CHECK(s.offer(1, "a") == seq::verdict::ready);
    CHECK(drain(s) == std::vector<std::uint64_t>{1});
    CHECK(s.offer(1, "a again") == seq::verdict::duplicate);
    CHECK(s.offer(4, "d") == seq::verdict::held);
    CHECK(s.offer(4, "d twice") == seq::verdict::duplicate);
    CHECK(drain(s).empty());
    REQUIRE(s.gap());
    CHECK(*s.gap() == hub::seq_range{2, 3});
    CHECK(s.offer(3, "c") == seq::verdict::held);
    CHECK(*s.gap() == hub::seq_range{2, 2});
    CHECK(s.offer(2, "b") == seq::verdict::ready);
    CHECK(drain(s) == std::vector<std::uint64_t>{2, 3, 4});
    CHECK_FALSE(s.gap());
    CHECK(s.last() == 4);
}

TEST_CASE("sequencer: held items are bounded, and a gap given up continues after it", "[hub][sequencer]") {
    seq s{10, 2};
    CHECK(s.offer(13, "") == seq::verdict::held);
    CHECK(s.offer(15, "") == seq::verdict::held);
    CHECK(s.offer(17, "") == seq::verdict::overflow);
    CHECK(s.held() == 2);
    CHECK(s.offer(11, "") == seq::verdict::ready);  // the next one is always taken
    CHECK(drain(s) == std::vector<std::uint64_t>{11});
    s.skip_gap();  // 12 will not come
    CHECK(drain(s) == std::vector<std::uint64_t>{13});
    s.skip_to(15);
    CHECK(drain(s) == std::vector<std::uint64_t>{15});
    s.skip_to(3);  // backwards: nothing
    CHECK(s.last() == 15);
    CHECK(s.held() == 0);
}

TEST_CASE("sequencer: any interleaving of two overlapping feeds comes out once each, in order", "[hub][sequencer]") {
    std::mt19937 random(7);
    for (int round = 0; round < 200; ++round) {
        // A source's range [1, 40] and a live feed [25, 60], shuffled together.
        std::vector<std::uint64_t> feed;
        for (std::uint64_t i = 1; i <= 40; ++i) feed.push_back(i);
        for (std::uint64_t i = 25; i <= 60; ++i) feed.push_back(i);
        std::shuffle(feed.begin(), feed.end(), random);
        seq s{0, 100};
        std::vector<std::uint64_t> out;
        for (const auto n : feed) {
            (void)s.offer(n, std::to_string(n));
            const auto got = drain(s);
            out.insert(out.end(), got.begin(), got.end());
        }
        std::vector<std::uint64_t> want(60);
        std::iota(want.begin(), want.end(), 1);
        REQUIRE(out == want);
    }
}
