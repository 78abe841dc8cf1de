#include <herald/hub/hub.hpp>

#include "ids.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace herald;

namespace {

hub::message_ptr publish(hub::topic& t, std::string_view data) {
    std::error_code ec;
    auto m = t.publish(data, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(m);
    return m;
}

}  // namespace

TEST_CASE("a topic numbers its messages and writes each once per wire form", "[hub]") {
    hub::topic t{"prices", "e1"};
    const auto first = publish(t, "line one\nline \"two\"");
    const auto second = publish(t, "caf\xc3\xa9");
    CHECK(first->seq == 1);
    CHECK(second->seq == 2);
    CHECK(first->id == "e1-1");
    CHECK(second->id == "e1-2");
    CHECK(t.last_id() == "e1-2");
    CHECK(first->sse == "id: e1-1\ndata: line one\ndata: line \"two\"\n\n");
    CHECK(first->json == R"({"id":"e1-1","topic":"prices","data":"line one\nline \"two\""})");
    CHECK(second->json == "{\"id\":\"e1-2\",\"topic\":\"prices\",\"data\":\"caf\xc3\xa9\"}");
    CHECK(t.kept_count() == 2);
    CHECK(t.kept_bytes() == first->size() + second->size());
}

TEST_CASE("a publish that is not UTF-8 or too big is refused and nothing is kept", "[hub]") {
    hub::topic t{"t", "e", {10, 1 << 20, 8}};
    std::error_code ec;
    CHECK_FALSE(t.publish("\xff", ec));
    CHECK(ec == hub::error::not_utf8);
    CHECK_FALSE(t.publish("123456789", ec));
    CHECK(ec == hub::error::message_too_big);
    CHECK(hub::status_for(ec) == 413);
    CHECK(hub::status_for(hub::error::not_utf8) == 400);
    CHECK(t.last_seq() == 0);
    CHECK(t.kept_count() == 0);
    CHECK(publish(t, "12345678")->seq == 1);  // the limit itself is allowed
}

TEST_CASE("resume gives exactly what came after the cursor, or says lost", "[hub]") {
    hub::topic t{"t", "e7", {3, 1 << 20, 1024}};
    for (int i = 1; i <= 5; ++i) publish(t, "m" + std::to_string(i));  // keeps 3, 4, 5

    CHECK(t.resume(std::nullopt).state == hub::topic::outcome::fresh);
    CHECK(t.resume("").state == hub::topic::outcome::fresh);

    auto r = t.resume("e7-3");
    CHECK(r.state == hub::topic::outcome::resumed);
    CHECK(ids(r.messages) == std::vector<std::string>{"e7-4", "e7-5"});
    r = t.resume("e7-2");  // the oldest kept is 3: nothing is missing yet
    CHECK(ids(r.messages) == std::vector<std::string>{"e7-3", "e7-4", "e7-5"});
    r = t.resume("e7-5");
    CHECK(r.state == hub::topic::outcome::resumed);
    CHECK(r.messages.empty());

    // Each way a resume cannot be exact.
    for (std::string_view cursor : {"e7-1", "e7-0", "e7-6", "e6-3", "other-3", "e7-", "e7-x", "e7-3x", "e7", "-3", "e7--3"}) {
        INFO(cursor);
        CHECK(t.resume(cursor).state == hub::topic::outcome::lost);
    }
    CHECK(hub::lost_payload(t.name(), t.last_id()) == R"({"type":"lost","topic":"t","id":"e7-5"})");
    CHECK(hub::ready_payload(t.name(), t.last_id()) == R"({"type":"ready","topic":"t","id":"e7-5"})");
    CHECK(ids(t.kept()) == std::vector<std::string>{"e7-3", "e7-4", "e7-5"});
}

TEST_CASE("history is bounded by bytes across all wire forms, the newest always stays", "[hub]") {
    hub::topic t{"t", "e", {1000, 400, 1000}};
    for (int i = 0; i < 20; ++i) publish(t, std::string(30, 'x'));
    CHECK(t.kept_bytes() <= 400);
    CHECK(t.kept_count() >= 1);
    CHECK(t.kept_count() < 20);
    hub::topic big{"t", "e", {1000, 100, 1000}};
    publish(big, std::string(500, 'y'));  // alone over the budget: still replayable once
    CHECK(big.kept_count() == 1);
    CHECK(big.resume("e-0").messages.size() == 1);
}

TEST_CASE("the hub core creates topics on first use within limits and counts", "[hub]") {
    hub::core hub{"ep", {2, {}}};
    std::error_code ec;
    CHECK(hub.publish("a", "1", ec));
    CHECK(hub.publish("b.c:d-e_f", "2", ec));
    CHECK(hub.publish("a", "3", ec)->id == "ep-2");  // ids are per topic
    CHECK_FALSE(hub.publish("third", "x", ec, [](const hub::topic&) { return true; }));  // every topic followed
    CHECK(ec == hub::error::too_many_topics);
    for (std::string_view bad : {std::string_view(""), std::string_view("has space"), std::string_view("slash/"),
                                 std::string_view("caf\xc3\xa9"), std::string_view("x\0y", 3)}) {
        CHECK_FALSE(hub.find_or_create(bad, ec));
        CHECK(ec == hub::error::bad_topic_name);
    }
    CHECK_FALSE(hub.find_or_create(std::string(65, 'a'), ec));
    CHECK_FALSE(hub.publish("a", "\xc3", ec));
    CHECK(ec == hub::error::not_utf8);
    CHECK(hub.topic_count() == 2);
    CHECK(hub.stats().published == 3);
    CHECK(hub.stats().refused == 2);
    hub.stats().subscribers["sse"] = 4;
    hub.stats().subscribers["my-transport"] = 1;  // a user's own: no core enum to edit
    CHECK(hub.stats().json() ==
          R"({"subscribers":{"my-transport":1,"sse":4},"published":3,"refused":2,)"
          R"("messages_out":0,"bytes_out":0,"queue_drops":0,"deflated":0})");
    hub.stats().in_sync = false;  // with a broker (Redis) that is away
    CHECK(hub.stats().json().ends_with(R"("queue_drops":0,"deflated":0,"in_sync":false})"));
}

TEST_CASE("at max_topics the least recently used topic nobody follows is reclaimed, its old cursors read as lost", "[hub]") {
    hub::core hub{"ep", {3, {}}};
    std::error_code ec;
    REQUIRE(hub.publish("a", "1", ec));
    REQUIRE(hub.publish("b", "1", ec));
    REQUIRE(hub.publish("c", "1", ec));
    REQUIRE(hub.publish("a", "2", ec));  // a is used again: b is now the least recent
    const auto followed = [](const hub::topic& t) { return t.name() == "b"; };
    REQUIRE(hub.publish("d", "1", ec, followed));  // b is followed: c goes
    CHECK(hub.find("c") == nullptr);
    CHECK(hub.find("b") != nullptr);
    CHECK(hub.reclaimed() == 1);
    CHECK(hub.topic_count() == 3);
    // c comes back under a new epoch: its old cursor ep-1 must not resume at seq 1.
    const auto again = hub.publish("c", "new life", ec, followed);
    REQUIRE(again);
    CHECK(again->id == "ep.2-1");  // the publish of c reclaimed one more (a)
    CHECK(hub.find("c")->resume("ep-1").state == hub::topic::outcome::lost);
    CHECK(hub.find("c")->resume("ep.2-0").messages.size() == 1);
    // Topics that were never reclaimed keep their ids.
    CHECK(hub.publish("b", "2", ec, followed)->id == "ep-2");
}

TEST_CASE("new topic names published once each cannot lock new topics out (reclaimed, not refused)", "[hub]") {
    hub::core hub{"ep", {1024, {}}};
    std::error_code ec;
    for (int i = 0; i < 5000; ++i) REQUIRE(hub.publish("t" + std::to_string(i), "x", ec));  // before: refused from 1,024 on
    CHECK(hub.topic_count() == 1024);
    CHECK(hub.reclaimed() == 5000 - 1024);
    CHECK(hub.stats().refused == 0);
}
