#include <herald/hub/wire.hpp>
#include <herald/longpoll/answer.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace herald;

TEST_CASE("a poll query gives its topic, cursor and timeout", "[longpoll]") {
    longpoll::poll_query q;
    CHECK(!longpoll::parse_poll_query("/poll?since=e-42&timeout=25&topic=room%3A1+a", q));
    CHECK(q.since == "e-42");
    CHECK(q.timeout_seconds == 25u);
    CHECK(q.topic == "room:1 a");
    CHECK(!longpoll::parse_poll_query("/poll", q));
    CHECK(!q.since);
    CHECK(!q.topic);
    CHECK(!q.timeout_seconds);
    CHECK(!longpoll::parse_poll_query("/poll?x=1&since=a.2-3#frag", q));
    CHECK(q.since == "a.2-3");
    CHECK(!longpoll::parse_poll_query("/poll?since=", q));  // empty: no cursor
    for (const char* bad : {"/poll?since=42", "/poll?since=e-", "/poll?since=-1", "/poll?since=e-x", "/poll?since=e%2F1-2",
                            "/poll?since=e-99999999999999999999999"}) {
        INFO(bad);
        CHECK(longpoll::parse_poll_query(bad, q) == longpoll::error::invalid_cursor);
    }
    CHECK(longpoll::parse_poll_query("/poll?timeout=1.5", q) == longpoll::error::invalid_timeout);
}

TEST_CASE("answers written by the hub read back with every kind of character", "[longpoll]") {
    const std::vector<std::string> data = {"plain", "", "quote \" backslash \\ slash /", "lines\n\r\ttab",
                                           std::string("nul \0 bell \x07", 12), "caf\xc3\xa9 \xf0\x9f\x98\x80"};
    std::vector<hub::message_ptr> messages;
    for (std::size_t i = 0; i < data.size(); ++i) messages.push_back(hub::make_message("t", "e", i + 1, data[i]));
    const std::string body = hub::poll_body("e-6", true, messages);
    CHECK(body.find('\n') == std::string::npos);
    longpoll::answer a;
    REQUIRE(!longpoll::decode_answer(body, a));
    CHECK(a.cursor == "e-6");
    CHECK(a.reset);
    CHECK(a.messages == data);
    REQUIRE(!longpoll::decode_answer(hub::poll_body("e-0", false, {}), a));
    CHECK(a.cursor == "e-0");
    CHECK(a.messages.empty());
}

TEST_CASE("the answer reader accepts JSON spacing and escapes and refuses anything else", "[longpoll]") {
    longpoll::answer a;
    CHECK(!longpoll::decode_answer(
        R"( { "messages" : [ { "data" : "\u00e9\ud83d\ude00\/" , "id" : "e-5" } ] , "cursor" : "e-5" } )", a));
    CHECK(a.cursor == "e-5");
    CHECK(!a.reset);
    REQUIRE(a.messages.size() == 1);
    CHECK(a.messages[0] == "\xc3\xa9\xf0\x9f\x98\x80/");
    for (const char* bad : {"", "{}", "[]", R"({"cursor":"e-1")", R"({"cursor":1})", R"({"cursor":"e-1","x":2})",
                            R"({"cursor":"e-1"} x)", R"({"cursor":"e-1","messages":[{"data":"a)",
                            R"({"cursor":"e-1","messages":[{"data":"\ud800"}]})", R"({"cursor":"e-1","messages":[{"data":"\q"}]})",
                            "{\"cursor\":\"e-1\",\"messages\":[{\"data\":\"\x01\"}]}", R"({"cursor":"e-1","reset":yes})",
                            R"({"cursor":"e-1","messages":["plain"]})", R"({"cursor":"e-1","messages":[{"id":"e-1"}]})",
                            R"({"cursor":"e-1","messages":[{"data":"a","extra":"b"}]})", R"({"cursor":"e-1","messages":[{"data":1}]})"}) {
        INFO(bad);
        CHECK(longpoll::decode_answer(bad, a) == longpoll::error::invalid_answer);
    }
}

TEST_CASE("a poll query written by append_poll_query reads back the same", "[longpoll]") {
    for (const std::string topic : {"", "news", "room 1/a&b=c", "caf\xc3\xa9+%"}) {
        std::string target = "/poll";
        longpoll::append_poll_query(topic, "e.2-12345678901234", 20u, target);
        longpoll::poll_query q;
        REQUIRE_FALSE(longpoll::parse_poll_query(target, q));
        CHECK(q.topic.value_or("") == topic);  // an empty one is left out: the server's default
        CHECK(q.since == "e.2-12345678901234");
        CHECK(q.timeout_seconds == 20u);
    }
    std::string fresh = "/poll";
    longpoll::append_poll_query("t", "", std::nullopt, fresh);
    CHECK(fresh == "/poll?topic=t");
    std::string bare = "/poll";
    longpoll::append_poll_query("", "", 5u, bare);
    CHECK(bare == "/poll?timeout=5");
}
