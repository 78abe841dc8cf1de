// RESP through hiredis: commands formatted, replies parsed at every split.
#include <herald/redis/protocol.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace herald;

TEST_CASE("redis protocol: a command is an array of bulk strings, binary-safe", "[redis]") {
    std::string out;
    redis::append_command({"SET", "k", std::string_view("a\0\r\nb", 5)}, out);
    CHECK(out == std::string("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na\0\r\nb\r\n", 31));
}

TEST_CASE("redis protocol: replies of every kind, fed one byte at a time", "[redis]") {
    const std::string wire = "+OK\r\n-ERR wrong\r\n:42\r\n$5\r\nhe\r\no\r\n$-1\r\n*2\r\n$7\r\nmessage\r\n*1\r\n:7\r\n";
    redis::reader r;
    std::vector<redis::reply> got;
    std::error_code ec;
    for (const char c : wire) {
        REQUIRE_FALSE(r.feed({&c, 1}));
        while (auto reply = r.next(ec)) got.push_back(std::move(*reply));
        REQUIRE_FALSE(ec);
    }
    REQUIRE(got.size() == 6);
    CHECK(got[0].type == redis::reply::kind::status);
    CHECK(got[0].text == "OK");
    CHECK(got[1].is_error("ERR"));
    CHECK_FALSE(got[1].is_error("ER"));
    CHECK(got[2].integer == 42);
    CHECK(got[3].text == "he\r\no");
    CHECK(got[4].type == redis::reply::kind::nil);
    REQUIRE(got[5].elements.size() == 2);
    CHECK(got[5].at(0)->text == "message");
    CHECK(got[5].at(1)->at(0)->integer == 7);
    CHECK(got[5].at(2) == nullptr);
}

TEST_CASE("redis protocol: bytes that are not RESP fail the reader for good", "[redis]") {
    redis::reader r;
    std::error_code ec;
    REQUIRE_FALSE(r.feed("?what\r\n"));
    CHECK_FALSE(r.next(ec));
    CHECK(ec == redis::error::bad_reply);
    CHECK(r.feed("+OK\r\n") == redis::error::bad_reply);
}

#include <herald/redis/topic_memory.hpp>

TEST_CASE("redis topic memory: a message of an epoch the topic moved on from is old news", "[redis]") {
    redis::topic_memory m{2};
    using v = redis::topic_memory::verdict;
    CHECK(m.note("t", "e1", 3) == v::current);
    CHECK(m.note("t", "e1", 2) == v::current);
    CHECK(m.seen("t")->seq == 3);  // the newest is kept
    CHECK(m.note("t", "e2", 1) == v::moved);
    CHECK(m.note("t", "e1", 4) == v::retired);  // late, from the other connection: never back to e1
    CHECK(m.seen("t")->epoch == "e2");
    CHECK(m.note("u", "x", 1) == v::current);
    CHECK(m.note("w", "x", 1) == v::full);  // bounded
    CHECK(m.all().size() == 2);
}
