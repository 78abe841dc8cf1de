#include <herald/websocket/handshake.hpp>

#include <catch2/catch.hpp>

#include <random>

using namespace herald;
namespace ws = herald::websocket;

namespace {

std::string hex(const ws::detail::sha1::digest& d) {
    static const char* digits = "0123456789ABCDEF";
    std::string out;
    for (auto b : d) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 15]);
    }
    return out;
}

http::request valid_request() {
    http::request req;
    req.method = "GET";
    req.target = "/chat";
    req.fields.append("Host", "server.example.com");
    req.fields.append("Upgrade", "websocket");
    req.fields.append("Connection", "keep-alive, Upgrade");
    req.fields.append("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
    req.fields.append("Origin", "http://example.com");
    req.fields.append("Sec-WebSocket-Protocol", "chat, superchat");
    req.fields.append("Sec-WebSocket-Version", "13");
    return req;
}

}  // namespace

TEST_CASE("sha1 matches the RFC 3174 test vectors", "[websocket][sha1]") {
    CHECK(hex(ws::detail::sha1::of("abc")) == "A9993E364706816ABA3E25717850C26C9CD0D89D");
    CHECK(hex(ws::detail::sha1::of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
          "84983E441C3BD26EBAAE4AA1F95129E5E54670F1");
    std::string million(1000000, 'a');
    CHECK(hex(ws::detail::sha1::of(million)) == "34AA973CD4C4DAA4F61EEB2BDBAD27316534016F");
    std::string repeated;
    for (int i = 0; i < 10; ++i) repeated += "0123456701234567012345670123456701234567012345670123456701234567";
    CHECK(hex(ws::detail::sha1::of(repeated)) == "DEA356A2CDDD90C7A7ECEDC5EBB563934F460452");
    CHECK(hex(ws::detail::sha1::of("")) == "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709");
    // Fed in pieces of every size, the digest is the same.
    for (std::size_t step = 1; step < 70; ++step) {
        ws::detail::sha1 s;
        for (std::size_t i = 0; i < repeated.size(); i += step) s.update(std::string_view(repeated).substr(i, step));
        REQUIRE(hex(s.finish()) == "DEA356A2CDDD90C7A7ECEDC5EBB563934F460452");
    }
}

TEST_CASE("base64 matches the RFC 4648 test vectors and decodes strictly", "[websocket][base64]") {
    const std::pair<const char*, const char*> vectors[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                                           {"foo", "Zm9v"},  {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                                           {"foobar", "Zm9vYmFy"}};
    for (auto [plain, encoded] : vectors) {
        CHECK(ws::detail::base64_encode(plain) == encoded);
        CHECK(ws::detail::base64_decode(encoded) == std::string(plain));
    }
    for (const char* bad : {"Zg=", "Zg", "Z===", "Zh==", "Zm9=", "Zm 9v", "Zm9v\n", "=Zm9", "Zg==Zg==", "Zm*v"}) {
        INFO(bad);
        CHECK_FALSE(ws::detail::base64_decode(bad));
    }
}

TEST_CASE("the accept key is the RFC 6455 section 1.3 example", "[websocket][handshake]") {
    CHECK(ws::accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("a valid upgrade request is accepted with a 101 and a chosen subprotocol", "[websocket][handshake]") {
    ws::server_options options;
    options.subprotocols = {"superchat", "chat"};
    ws::accepted a;
    REQUIRE_FALSE(ws::check_request(valid_request(), options, a));
    CHECK(a.accept == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    CHECK(a.subprotocol == "superchat");
    const auto res = ws::accept_response(a);
    CHECK(res.status == 101);
    CHECK(res.fields.find("Upgrade") == "websocket");
    CHECK(res.fields.find("Connection") == "Upgrade");
    CHECK(res.fields.find("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    CHECK(res.fields.find("Sec-WebSocket-Protocol") == "superchat");
    options.subprotocols = {"mqtt"};
    REQUIRE_FALSE(ws::check_request(valid_request(), options, a));
    CHECK(a.subprotocol.empty());  // none in common: no Sec-WebSocket-Protocol at all
    CHECK_FALSE(ws::accept_response(a).fields.contains("Sec-WebSocket-Protocol"));
}

TEST_CASE("each broken upgrade request gets its own error and status", "[websocket][handshake]") {
    struct broken {
        const char* what;
        std::function<void(http::request&)> edit;
        ws::error expected;
        unsigned status;
    };
    const broken cases[] = {
        {"POST", [](http::request& r) { r.method = "POST"; }, ws::error::not_get, 405},
        {"HTTP/1.0", [](http::request& r) { r.version = 10; }, ws::error::bad_http_version, 400},
        {"no Host", [](http::request& r) { r.fields.erase("Host"); }, ws::error::no_host, 400},
        {"no Upgrade", [](http::request& r) { r.fields.erase("Upgrade"); }, ws::error::no_upgrade, 426},
        {"Upgrade: h2c", [](http::request& r) { r.fields.set("Upgrade", "h2c"); }, ws::error::no_upgrade, 426},
        {"Connection: keep-alive", [](http::request& r) { r.fields.set("Connection", "keep-alive"); }, ws::error::no_upgrade, 426},
        {"version 8", [](http::request& r) { r.fields.set("Sec-WebSocket-Version", "8"); }, ws::error::bad_version, 426},
        {"no version", [](http::request& r) { r.fields.erase("Sec-WebSocket-Version"); }, ws::error::bad_version, 426},
        {"13 then 8", [](http::request& r) { r.fields.append("Sec-WebSocket-Version", "8"); }, ws::error::bad_version, 426},
        {"13 twice", [](http::request& r) { r.fields.append("Sec-WebSocket-Version", "13"); }, ws::error::bad_version, 426},
        {"two Hosts", [](http::request& r) { r.fields.append("Host", "other.example"); }, ws::error::no_host, 400},
        {"no key", [](http::request& r) { r.fields.erase("Sec-WebSocket-Key"); }, ws::error::bad_key, 400},
        {"15-byte key", [](http::request& r) { r.fields.set("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAA"); }, ws::error::bad_key, 400},
        {"not base64", [](http::request& r) { r.fields.set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=!"); }, ws::error::bad_key, 400},
        {"two keys", [](http::request& r) { r.fields.append("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="); }, ws::error::bad_key, 400},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        auto req = valid_request();
        c.edit(req);
        ws::accepted a;
        const auto ec = ws::check_request(req, {}, a);
        CHECK(ec == c.expected);
        CHECK(ec == condition::handshake_failed);
        const auto res = ws::refusal_response(ec);
        CHECK(res.status == c.status);
        if (c.status == 426) CHECK(res.fields.find("Sec-WebSocket-Version") == "13");
    }
    ws::server_options picky;
    picky.check_origin = [](std::string_view origin) { return origin == "https://good.example"; };
    ws::accepted a;
    const auto ec = ws::check_request(valid_request(), picky, a);
    CHECK(ec == ws::error::origin_refused);
    CHECK(ws::refusal_response(ec).status == 403);
}

TEST_CASE("a client key and request round-trip through the server and back", "[websocket][handshake]") {
    std::mt19937_64 gen(42);
    const std::string key = ws::make_key(gen);
    CHECK(ws::detail::base64_decode(key)->size() == 16);
    CHECK(ws::make_key(gen) != key);
    const auto req = ws::upgrade_request("localhost:9001", "/echo", key, {"chat"}, "http://localhost");
    ws::server_options options;
    options.subprotocols = {"chat"};
    ws::accepted a;
    REQUIRE_FALSE(ws::check_request(req, options, a));
    std::string chosen;
    CHECK_FALSE(ws::check_response(ws::accept_response(a), key, {"chat"}, chosen));
    CHECK(chosen == "chat");
    CHECK(ws::check_response(ws::accept_response(a), key, {"other"}, chosen) == ws::error::bad_subprotocol);
    auto wrong = ws::accept_response(a);
    wrong.fields.set("Sec-WebSocket-Accept", ws::accept_key("another key"));
    CHECK(ws::check_response(wrong, key, {"chat"}, chosen) == ws::error::bad_accept);
    CHECK(ws::check_response(http::response{200}, key, {}, chosen) == ws::error::not_switching);
}
