// A topic whose sequence numbers a broker assigns (hub/topic.hpp apply()).
#include <herald/hub/topic.hpp>

#include "ids.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace herald;


TEST_CASE("apply: in order is appended, a duplicate dropped, a gap reported then filled", "[hub][apply]") {
    hub::topic t{"t", "local"};
    std::error_code ec;
    auto a = t.apply("r1", 1, "one", ec);  // the broker's epoch replaces an unused local one quietly
    REQUIRE_FALSE(ec);
    CHECK(ids(a.messages) == std::vector<std::string>{"r1-1"});
    CHECK_FALSE(a.lost_at);
    CHECK(t.epoch() == "r1");
    a = t.apply("r1", 1, "one", ec);
    CHECK(a.duplicate);
    CHECK(a.messages.empty());
    a = t.apply("r1", 4, "four", ec);
    CHECK(a.messages.empty());
    REQUIRE(a.gap);
    CHECK(*a.gap == hub::seq_range{2, 3});
    CHECK(t.last_id() == "r1-1");  // nothing after the gap is visible yet
    CHECK(ids(t.apply("r1", 2, "two", ec).messages) == std::vector<std::string>{"r1-2"});
    a = t.apply("r1", 3, "three", ec);
    CHECK(ids(a.messages) == std::vector<std::string>{"r1-3", "r1-4"});
    CHECK_FALSE(a.gap);
    CHECK(a.messages[1]->json == R"({"id":"r1-4","topic":"t","data":"four"})");
    CHECK(ids(t.resume("r1-1").messages) == std::vector<std::string>{"r1-2", "r1-3", "r1-4"});
    t.apply("r1", 0, "zero", ec);
    CHECK(ec == hub::error::bad_sequence);
    t.apply("r1", 9, "\xff", ec);
    CHECK(ec == hub::error::not_utf8);
}

TEST_CASE("apply: a gap given up and an epoch change are the lost signal, and cursors before them read as lost", "[hub][apply]") {
    hub::topic t{"t", "r1"};
    std::error_code ec;
    for (std::uint64_t i = 1; i <= 3; ++i) t.apply("r1", i, "m", ec);
    t.apply("r1", 7, "seven", ec);
    auto a = t.skip_gap();  // 4..6 are gone for good
    REQUIRE(a.lost_at);
    CHECK(*a.lost_at == "r1-6");
    CHECK(ids(a.messages) == std::vector<std::string>{"r1-7"});
    CHECK(t.resume("r1-3").state == hub::topic::outcome::lost);
    CHECK(t.resume("r1-6").state == hub::topic::outcome::resumed);
    // Redis lost the topic's meta: a new epoch, numbering from 1 again.
    a = t.apply("r2", 1, "again", ec);
    REQUIRE(a.lost_at);
    CHECK(*a.lost_at == "r2-0");
    CHECK(ids(a.messages) == std::vector<std::string>{"r2-1"});
    CHECK(t.resume("r1-7").state == hub::topic::outcome::lost);
    CHECK(t.resume("r2-0").messages.size() == 1);
}

TEST_CASE("apply: too many held behind a gap gives the gap up rather than growing", "[hub][apply]") {
    hub::topic_limits limits;
    limits.max_held = 3;
    hub::topic t{"t", "r", limits};
    std::error_code ec;
    t.apply("r", 1, "m", ec);
    for (std::uint64_t i = 5; i <= 7; ++i) CHECK(t.apply("r", i, "m", ec).messages.empty());
    const auto a = t.apply("r", 8, "m", ec);
    REQUIRE(a.lost_at);
    CHECK(*a.lost_at == "r-4");
    CHECK(ids(a.messages) == std::vector<std::string>{"r-5", "r-6", "r-7", "r-8"});
}

TEST_CASE("resume: with a source behind the history, an evicted cursor is behind with the range to fetch", "[hub][apply]") {
    hub::topic_limits limits;
    limits.max_messages = 3;
    limits.backed = true;
    hub::topic t{"t", "e", limits};
    std::error_code ec;
    for (int i = 0; i < 10; ++i) t.publish("m", ec);  // keeps 8, 9, 10
    const auto r = t.resume("e-2");
    CHECK(r.state == hub::topic::outcome::behind);
    CHECK(r.missing == hub::seq_range{3, 7});
    CHECK(ids(r.messages) == std::vector<std::string>{"e-8", "e-9", "e-10"});
    CHECK(t.resume("e-11").state == hub::topic::outcome::lost);  // never issued: no source has it
    CHECK(t.resume("x-2").state == hub::topic::outcome::lost);
    CHECK(t.resume("e-7").state == hub::topic::outcome::resumed);
}

TEST_CASE("apply: a topic that never had a message adopts the broker's numbering quietly, whatever number comes first, "
          "and its old '-0' cursor reads as just before it", "[hub][apply]") {
    hub::topic t{"t", "local"};
    const std::string ready = t.last_id();  // what a fresh client was told: "local-0"
    CHECK(ready == "local-0");
    std::error_code ec;
    auto a = t.apply("r1", 5, "five", ec);  // numbered elsewhere: 1..4 came before this node followed the topic
    CHECK_FALSE(a.lost_at);                 // nobody here lost anything
    CHECK(ids(a.messages) == std::vector<std::string>{"r1-5"});
    t.apply("r1", 6, "six", ec);
    const auto from_ready = t.resume(ready);  // a poll's cursor given out before the adoption
    REQUIRE(from_ready.state == hub::topic::outcome::resumed);
    CHECK(ids(from_ready.messages) == std::vector<std::string>{"r1-5", "r1-6"});
    CHECK(t.resume("local-3").state == hub::topic::outcome::lost);  // only "-0" was ever given out
    // A later epoch change is a loss, and the old local cursor is then lost too.
    a = t.apply("r2", 1, "again", ec);
    CHECK(a.lost_at);
    CHECK(t.resume(ready).state == hub::topic::outcome::lost);
}

TEST_CASE("anchor: a topic that never had a message takes a broker's position without a message, one that had, not",
          "[hub][apply]") {
    hub::topic t{"t", "local"};
    const std::string before = t.last_id();  // what a fresh subscriber was told before the anchor
    CHECK(before == "local-0");
    REQUIRE(t.anchor("r1", 7));
    CHECK(t.epoch() == "r1");
    CHECK(t.last_id() == "r1-7");
    CHECK(t.kept_count() == 0);
    CHECK(t.resume("r1-7").state == hub::topic::outcome::resumed);
    CHECK(t.resume(before).state == hub::topic::outcome::resumed);  // the old "-0" reads as the anchor
    std::error_code ec;
    CHECK(t.apply("r1", 7, "seven", ec).duplicate);  // at or before the anchor: not this node's to deliver
    CHECK(ids(t.apply("r1", 8, "eight", ec).messages) == std::vector<std::string>{"r1-8"});
    CHECK_FALSE(t.anchor("r2", 100));  // it has a message now: only apply() moves it
    CHECK(t.epoch() == "r1");
    hub::topic numbered{"n", "local"};
    REQUIRE(numbered.publish("x", ec));
    CHECK_FALSE(numbered.anchor("r1", 3));
    CHECK(numbered.last_id() == "local-1");
}
