#include <herald/history.hpp>
#include <herald/sse/replay.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace herald;

namespace {

history::bytes_ptr text(std::string s) { return std::make_shared<const std::string>(std::move(s)); }

}  // namespace

TEST_CASE("history numbers entries and answers what a cursor missed", "[history]") {
    history h({4, 1000});
    CHECK(h.last_seq() == 0);
    CHECK(h.after(0).state == history::status::ok);
    CHECK(h.after(0).first == 0);
    CHECK(h.after(1).state == history::status::ahead);
    for (int i = 1; i <= 3; ++i) CHECK(h.append(text(std::string("e").append(std::to_string(i)))) == static_cast<std::uint64_t>(i));
    auto found = h.after(1);
    REQUIRE(found.state == history::status::ok);
    REQUIRE(h.size() - found.first == 2);
    CHECK(*h[found.first].bytes == "e2");
    CHECK(h[found.first].seq == 2);
    CHECK(h.after(3).first == h.size());  // up to date: nothing missed
    CHECK(h.after(4).state == history::status::ahead);
}

TEST_CASE("history evicts by count and by bytes and says lost past the horizon", "[history]") {
    history by_count({3, 1000});
    for (int i = 1; i <= 5; ++i) by_count.append(text("x"));
    CHECK(by_count.size() == 3);
    CHECK(by_count[0].seq == 3);
    CHECK(by_count.after(2).state == history::status::ok);   // missed 3, 4, 5: all kept
    CHECK(by_count.after(1).state == history::status::lost);  // missed 2: evicted
    CHECK(by_count.after(0).state == history::status::lost);

    history by_bytes({100, 10});
    by_bytes.append(text("12345"));
    by_bytes.append(text("12345"));
    CHECK(by_bytes.size() == 2);
    CHECK(by_bytes.bytes() == 10);
    by_bytes.append(text("1"));
    CHECK(by_bytes.size() == 2);
    CHECK(by_bytes.bytes() == 6);
    by_bytes.append(text(std::string(50, 'y')));  // larger than the budget: kept alone
    CHECK(by_bytes.size() == 1);
    CHECK(by_bytes.after(3).state == history::status::ok);
    CHECK(by_bytes.after(2).state == history::status::lost);
}

TEST_CASE("replay ids carry the epoch and resume exactly after the last seen event", "[sse][replay]") {
    sse::replay r("ep1", {16, 1 << 20});
    std::error_code ec;
    auto first = r.publish({"", "one", std::nullopt, std::nullopt}, ec);
    REQUIRE(!ec);
    CHECK(*first == "id: ep1-1\ndata: one\n\n");
    r.publish({"tick", "two", "ignored", std::nullopt}, ec);
    CHECK(*r.events()[1].bytes == "event: tick\nid: ep1-2\ndata: two\n\n");
    r.publish({"", "three", std::nullopt, std::nullopt}, ec);
    CHECK(r.last_id() == "ep1-3");

    CHECK(r.resume(std::nullopt).state == sse::replay::outcome::fresh);
    CHECK(r.resume("").state == sse::replay::outcome::fresh);
    auto resumed = r.resume("ep1-1");
    REQUIRE(resumed.state == sse::replay::outcome::resumed);
    CHECK(resumed.first == 1);
    CHECK(r.resume("ep1-3").first == r.events().size());
    for (const char* bad : {"ep2-1", "ep1-4", "ep1-", "ep1-x", "ep1--1", "ep1-+1", "ep11", "-1", "ep1-1 "})
        CHECK(r.resume(bad).state == sse::replay::outcome::lost);

    auto lost = r.history_lost_event();
    CHECK(*lost == "event: history-lost\nid: ep1-3\ndata: {\"epoch\":\"ep1\",\"last_event_id\":\"ep1-3\"}\n\n");
}

TEST_CASE("replay refuses an event it cannot serialize and keeps nothing", "[sse][replay]") {
    sse::replay r("e");
    std::error_code ec;
    CHECK(r.publish({"bad\ntype", "x", std::nullopt, std::nullopt}, ec) == nullptr);
    CHECK(ec == sse::error::invalid_event_type);
    CHECK(r.events().size() == 0);
    CHECK(r.last_id() == "e-0");
}

TEST_CASE("a resume past the history horizon is lost rather than skipped", "[sse][replay]") {
    sse::replay r("z", {2, 1 << 20});
    std::error_code ec;
    for (int i = 0; i < 5; ++i) r.publish({"", "x", std::nullopt, std::nullopt}, ec);
    CHECK(r.resume("z-2").state == sse::replay::outcome::lost);
    CHECK(r.resume("z-3").state == sse::replay::outcome::resumed);
}

TEST_CASE("make_epoch spells a number in base 36", "[sse][replay]") {
    CHECK(sse::make_epoch(0) == "0");
    CHECK(sse::make_epoch(35) == "z");
    CHECK(sse::make_epoch(36) == "01");
    CHECK(sse::make_epoch(~std::uint64_t{0}).size() == 13);
}
