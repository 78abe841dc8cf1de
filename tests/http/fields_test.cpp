#include <herald/http/fields.hpp>
#include <herald/http/message.hpp>

#include "../support/allocations.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace herald::http;

TEST_CASE("fields: case-insensitive lookup and repeated fields", "[http][fields]") {
    fields f;
    f.append("Content-Type", "text/plain");
    f.append("Set-Cookie", "a=1");
    f.append("set-cookie", "b=2");
    CHECK(f.size() == 3);
    CHECK(f.find("content-type") == "text/plain");
    CHECK(f.find("CONTENT-TYPE") == "text/plain");
    CHECK_FALSE(f.find("Content-Length").has_value());
    CHECK(f.count("Set-Cookie") == 2);
    std::vector<std::string> cookies;
    for (auto field : f)
        if (iequals(field.name, "set-cookie")) cookies.emplace_back(field.value);
    CHECK(cookies == std::vector<std::string>{"a=1", "b=2"});
    CHECK(f.value_or("X-Missing", "none") == "none");
}

TEST_CASE("fields: set replaces every occurrence and erase removes them", "[http][fields]") {
    fields f;
    f.append("A", "1");
    f.append("B", "2");
    f.append("a", "3");
    f.set("A", "4");
    CHECK(f.count("a") == 1);
    CHECK(f.find("A") == "4");
    CHECK(f.find("B") == "2");
    CHECK(f.erase("b") == 1);
    CHECK(f.size() == 1);
    CHECK(f.erase("b") == 0);
}

TEST_CASE("fields: clear keeps the memory so the next head allocates nothing", "[http][fields]") {
    std::vector<std::string> names;
    for (int i = 0; i < 20; ++i) names.push_back("X-Field-" + std::to_string(i));
    const std::string value(30, 'v');
    fields f;
    for (const auto& name : names) f.append(name, value);
    f.clear();
    CHECK(f.empty());
    CHECK(f.bytes() == 0);
    herald::test_support::allocation_counter allocations;
    for (const auto& name : names) f.append(name, value);
    CHECK(allocations.count() == 0);
    CHECK(f.size() == 20);
    CHECK(f.at(19).name == "X-Field-19");
}

TEST_CASE("token lists: OWS trimmed - empty elements skipped - case-insensitive", "[http][fields]") {
    std::vector<std::string> got;
    for (auto t : token_list{" keep-alive ,,Upgrade,\t close , "}) got.emplace_back(t);
    CHECK(got == std::vector<std::string>{"keep-alive", "Upgrade", "close"});
    CHECK(token_list{"keep-alive, Upgrade"}.contains("upgrade"));
    CHECK_FALSE(token_list{"keep-alive, Upgrade2"}.contains("upgrade"));
    CHECK_FALSE(token_list{""}.contains("x"));
    CHECK(token_list{",,,"}.begin() == token_list{",,,"}.end());
    fields f;
    f.append("Connection", "keep-alive");
    f.append("Connection", "Upgrade");
    CHECK(f.has_token("connection", "UPGRADE"));
    CHECK_FALSE(f.has_token("Upgrade", "upgrade"));
}

TEST_CASE("request helpers: keep-alive by version, expect, upgrade, query", "[http][message]") {
    request r;
    CHECK(r.keep_alive());
    r.fields.append("Connection", "close");
    CHECK_FALSE(r.keep_alive());
    r.fields.clear();
    r.version = 10;
    CHECK_FALSE(r.keep_alive());
    r.fields.append("Connection", "Keep-Alive");
    CHECK(r.keep_alive());
    CHECK_FALSE(r.expects_continue());
    r.version = 11;
    r.fields.append("Expect", "100-Continue");
    CHECK(r.expects_continue());
    r.fields.append("Connection", "upgrade");
    r.fields.append("Upgrade", "websocket");
    CHECK(r.wants_upgrade("WebSocket"));
    CHECK(query_parameter("/messages?since=42&x=1", "since") == "42");
    CHECK(query_parameter("/messages?x=1&since=7#frag", "since") == "7");
    CHECK(query_parameter("/messages?flag", "flag") == "");
    CHECK_FALSE(query_parameter("/messages?sinced=4", "since").has_value());
    CHECK_FALSE(query_parameter("/messages", "since").has_value());
    CHECK(target_path("/a/b?c=d") == "/a/b");
}

TEST_CASE("check_host: RFC 9112 3.2's Host rules", "[http][fields]") {
    const auto with = [](std::initializer_list<std::pair<std::string, std::string>> list) {
        fields f;
        for (const auto& [name, value] : list) f.append(name, value);
        return f;
    };
    CHECK(check_host(11, with({})) == error::bad_host);
    CHECK_FALSE(check_host(10, with({})));
    CHECK_FALSE(check_host(11, with({{"Host", "example.com"}})));
    CHECK_FALSE(check_host(11, with({{"host", "example.com:8080"}})));
    CHECK_FALSE(check_host(11, with({{"Host", "[2001:db8::1]:443"}})));
    CHECK_FALSE(check_host(11, with({{"Host", ""}})));  // RFC 9110 7.2: no authority
    CHECK_FALSE(check_host(11, with({{"Host", "a%20b.example"}})));
    CHECK(check_host(11, with({{"Host", "a"}, {"HOST", "a"}})) == error::bad_host);
    CHECK(check_host(10, with({{"Host", "a"}, {"Host", "b"}})) == error::bad_host);
    for (const char* bad : {"a b", "a/b", "user@host", "a\tb", "\x7f", "a\"b"})
        CHECK(check_host(11, with({{"Host", bad}})) == error::bad_host);
    CHECK(status_for(error::bad_host) == 400);
}
