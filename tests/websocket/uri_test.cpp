#include <herald/websocket/uri.hpp>

#include <catch2/catch.hpp>

namespace ws = herald::websocket;

namespace {

ws::uri parsed(std::string_view text) {
    ws::uri u;
    INFO(text);
    REQUIRE_FALSE(ws::parse_uri(text, u));
    return u;
}

}  // namespace

TEST_CASE("ws and wss URIs split into host, port, target and Host field (RFC 6455 §3)", "[websocket][uri]") {
    auto u = parsed("ws://example.com/chat");
    CHECK_FALSE(u.secure);
    CHECK(u.host == "example.com");
    CHECK(u.port == 80);
    CHECK(u.target == "/chat");
    CHECK(u.host_field == "example.com");

    u = parsed("wss://example.com");
    CHECK(u.secure);
    CHECK(u.port == 443);
    CHECK(u.target == "/");  // §3: an empty path is "/"
    CHECK(u.host_field == "example.com");

    u = parsed("ws://127.0.0.1:9001/echo?room=a&x=1");
    CHECK(u.host == "127.0.0.1");
    CHECK(u.port == 9001);
    CHECK(u.target == "/echo?room=a&x=1");
    CHECK(u.host_field == "127.0.0.1:9001");  // §4.1: the port when it is not the default

    u = parsed("ws://example.com?x=1");
    CHECK(u.target == "/?x=1");

    u = parsed("WS://Example.com:80/");  // the scheme is case-insensitive; the default port is left out of Host
    CHECK(u.host == "Example.com");
    CHECK(u.host_field == "Example.com");

    u = parsed("wss://example.com:443/a");
    CHECK(u.host_field == "example.com");

    u = parsed("ws://[::1]:9001/x");
    CHECK(u.host == "::1");
    CHECK(u.port == 9001);
    CHECK(u.host_field == "[::1]:9001");

    u = parsed("ws://[2001:db8::7]/");
    CHECK(u.host == "2001:db8::7");
    CHECK(u.host_field == "[2001:db8::7]");
}

TEST_CASE("malformed ws URIs are refused with bad_uri", "[websocket][uri]") {
    for (std::string_view text :
         {"", "http://example.com/", "ws:/example.com", "ws://", "ws:///path", "ws://:9001/", "ws://example.com:/",
          "ws://example.com:0/", "ws://example.com:65536/", "ws://example.com:123456/", "ws://example.com:9x/",
          "ws://example.com/#frag", "ws://user@example.com/", "ws://exa mple.com/", "ws://example.com/a b",
          "ws://[::1/", "ws://[]/", "ws://[::1]x/", "ws://[::1]:/", "ws://[zz::1]/", "ws://a:b:c/", "ws://ex\x01.com/",
          "ws://ex\xc3\xa9.com/", "ws://[beef]/", "ws://[1.2.3.4]/", "ws://ex<ample.com/", "ws://ex\\ample.com/",
          "ws://example.com/a{b}", "ws://example.com/a|b", "ws://example.com/^", "ws://example.com/`", "ws://a\"b/"}) {
        INFO(text);
        ws::uri u;
        u.host = "untouched";
        CHECK(ws::parse_uri(text, u) == ws::error::bad_uri);
        CHECK(u.host == "untouched");
    }
}
