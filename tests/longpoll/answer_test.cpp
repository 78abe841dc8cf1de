#include <herald/longpoll/answer.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace herald;

TEST_CASE("a poll query gives its cursor timeout and key", "[longpoll]") {
    longpoll::poll_query q;
    CHECK(!longpoll::parse_poll_query("/poll?since=42&timeout=25&key=room%201+a", q));
    CHECK(q.since == 42);
    CHECK(q.timeout_seconds == 25u);
    CHECK(q.key == "room 1 a");
    CHECK(!longpoll::parse_poll_query("/poll", q));
    CHECK(q.since == 0);
    CHECK(!q.timeout_seconds);
    CHECK(!longpoll::parse_poll_query("/poll?x=1&since=3#frag", q));
    CHECK(q.since == 3);
    CHECK(longpoll::parse_poll_query("/poll?since=-1", q) == longpoll::error::invalid_cursor);
    CHECK(longpoll::parse_poll_query("/poll?since=", q) == longpoll::error::invalid_cursor);
    CHECK(longpoll::parse_poll_query("/poll?since=99999999999999999999999", q) == longpoll::error::invalid_cursor);
    CHECK(longpoll::parse_poll_query("/poll?timeout=1.5", q) == longpoll::error::invalid_timeout);
    CHECK(!longpoll::parse_poll_query("/poll?key=%zz%4", q));
    CHECK(q.key == "%zz%4");
}

TEST_CASE("answers round-trip through JSON with every kind of character", "[longpoll]") {
    const std::vector<std::string> messages = {"plain", "", "quote \" backslash \\ slash /", "lines\n\r\ttab",
                                               std::string("nul \0 bell \x07", 12), "caf\xc3\xa9 \xf0\x9f\x98\x80"};
    std::string body;
    longpoll::encode_answer(17, true, messages, body);
    CHECK(body.find('\n') == std::string::npos);
    longpoll::answer a;
    REQUIRE(!longpoll::decode_answer(body, a));
    CHECK(a.cursor == 17);
    CHECK(a.reset);
    CHECK(a.messages == messages);

    body.clear();
    longpoll::encode_answer(0, false, std::vector<std::string>{}, body);
    CHECK(body == R"({"cursor":0,"reset":false,"messages":[]})");
}

TEST_CASE("the answer reader accepts JSON spacing and escapes and refuses anything else", "[longpoll]") {
    longpoll::answer a;
    CHECK(!longpoll::decode_answer(" { \"messages\" : [ \"\\u00e9\\ud83d\\ude00\\/\" ] , \"cursor\" : 5 } ", a));
    CHECK(a.cursor == 5);
    CHECK(!a.reset);
    REQUIRE(a.messages.size() == 1);
    CHECK(a.messages[0] == "\xc3\xa9\xf0\x9f\x98\x80/");
    for (const char* bad : {"", "{}", "[]", R"({"cursor":1)", R"({"cursor":-1})", R"({"cursor":1,"x":2})",
                            R"({"cursor":1} x)", R"({"cursor":1,"messages":["a)", R"({"cursor":1,"messages":["\ud800"]})",
                            R"({"cursor":1,"messages":["\udc00"]})", R"({"cursor":1,"messages":["\q"]})",
                            "{\"cursor\":1,\"messages\":[\"\x01\"]}", R"({"cursor":1,"reset":yes})",
                            R"({"cursor":1,"messages":[1]})", R"({"cursor":1,"messages":["\u12"]})"}) {
        INFO(bad);
        CHECK(longpoll::decode_answer(bad, a) == longpoll::error::invalid_answer);
    }
}

TEST_CASE("a poll query written by append_poll_query reads back the same", "[longpoll]") {
    for (const std::string key : {"", "news", "room 1/a&b=c", "caf\xc3\xa9+%"}) {
        std::string target = "/poll";
        longpoll::append_poll_query(key, 12345678901234ull, 20u, target);
        longpoll::poll_query q;
        REQUIRE_FALSE(longpoll::parse_poll_query(target, q));
        CHECK(q.key == key);
        CHECK(q.since == 12345678901234ull);
        CHECK(q.timeout_seconds == 20u);
    }
}
