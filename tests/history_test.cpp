#include <herald/history.hpp>
#include <herald/hub/topic.hpp>

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

TEST_CASE("a named event (an SSE channel's event type) carries its name in every wire form", "[history][hub]") {
    hub::topic t{"events", "ep1"};
    std::error_code ec;
    const auto first = t.publish("one", ec);
    REQUIRE(first);
    CHECK(first->sse == "id: ep1-1\ndata: one\n\n");
    const auto tick = t.publish("two", ec, "tick");
    REQUIRE(tick);
    CHECK(tick->sse == "event: tick\nid: ep1-2\ndata: two\n\n");
    CHECK(tick->json == R"({"id":"ep1-2","topic":"events","event":"tick","data":"two"})");
    const std::string too_long(65, 'x');
    for (std::string_view bad : {std::string_view("bad\ntype"), std::string_view("cr\r"), std::string_view("\xff"),
                                 std::string_view(too_long)}) {
        CHECK_FALSE(t.publish("x", ec, bad));
        CHECK(ec == hub::error::bad_event_name);
    }
    CHECK(t.last_id() == "ep1-2");  // refusals keep nothing
    CHECK(t.kept_count() == 2);
}

TEST_CASE("make_epoch spells a number in base 36, split_position reads any cursor", "[history]") {
    CHECK(make_epoch(0) == "0");
    CHECK(make_epoch(35) == "z");
    CHECK(make_epoch(36) == "01");
    CHECK(make_epoch(~std::uint64_t{0}).size() == 13);
    const auto p = split_position("k3x.2-17");
    REQUIRE(p);
    CHECK(p->epoch == "k3x.2");
    CHECK(p->seq == 17);
    const auto dashed = split_position("node-1_a-7");  // the number is after the last '-'
    REQUIRE(dashed);
    CHECK(dashed->epoch == "node-1_a");
    CHECK(dashed->seq == 7);
    for (const char* bad : {"", "-1", "e-", "e-x", "e-+1", "e/1-2", "e-1 ", "e 1-2", "e-99999999999999999999"}) {
        INFO(bad);
        CHECK_FALSE(split_position(bad));
    }
}
