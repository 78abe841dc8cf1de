#include <herald/http/parser.hpp>
#include <herald/http/serializer.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

using namespace herald::http;
using namespace std::chrono;

TEST_CASE("response head: status line - fields - Content-Length from the body", "[http][serializer]") {
    response res{200, "text/plain", "hello"};
    res.fields.append("X-Id", "7");
    std::string out;
    REQUIRE_FALSE(serialize_head(res, out));
    CHECK(out == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Id: 7\r\nContent-Length: 5\r\n\r\n");
}

TEST_CASE("response head: Date - Connection: close - chunked - custom reason", "[http][serializer]") {
    response res{404};
    res.reason = "Nowhere";
    std::string out;
    head_options options;
    options.date = "Sun, 06 Nov 1994 08:49:37 GMT";
    options.keep_alive = false;
    options.chunked = true;
    REQUIRE_FALSE(serialize_head(res, out, options));
    CHECK(out == "HTTP/1.1 404 Nowhere\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nConnection: close\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n");
}

TEST_CASE("response head: no Content-Length for 1xx - 204 - 304 and none added twice", "[http][serializer]") {
    for (unsigned status : {101u, 204u, 304u}) {
        std::string out;
        REQUIRE_FALSE(serialize_head(response{status}, out));
        CHECK(out.find("Content-Length") == std::string::npos);
    }
    response res{200};
    res.fields.append("Content-Length", "10");
    std::string out;
    head_options options;
    options.content_length = 10;
    REQUIRE_FALSE(serialize_head(res, out, options));
    CHECK(out == "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
}

TEST_CASE("response head: unsafe values are refused and nothing is written", "[http][serializer]") {
    std::string out = "keep";
    response split{200};
    split.fields.append("X", "a\r\nSet-Cookie: evil=1");
    CHECK(serialize_head(split, out) == error::invalid_field_value);
    response bad_name{200};
    bad_name.fields.append("Bad Name", "x");
    CHECK(serialize_head(bad_name, out) == error::invalid_field_name);
    response nul{200};
    nul.fields.append("X", std::string("a\0b", 3));
    CHECK(serialize_head(nul, out) == error::invalid_field_value);
    response bad_reason{200};
    bad_reason.reason = "OK\r\nX: y";
    CHECK(serialize_head(bad_reason, out) == error::invalid_field_value);
    CHECK(serialize_head(response{42}, out) == error::invalid_status);
    CHECK(out == "keep");
}

TEST_CASE("request head: request line - Content-Length for POST - refused method and target", "[http][serializer]") {
    request req;
    req.method = "POST";
    req.target = "/messages";
    req.fields.append("Host", "localhost");
    std::string out;
    REQUIRE_FALSE(serialize_head(req, out));
    CHECK(out == "POST /messages HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n");
    out.clear();
    req.method = "GET";
    REQUIRE_FALSE(serialize_head(req, out));
    CHECK(out == "GET /messages HTTP/1.1\r\nHost: localhost\r\n\r\n");
    req.method = "GE T";
    CHECK(serialize_head(req, out) == error::invalid_method);
    req.method = "GET";
    req.target = "/a b";
    CHECK(serialize_head(req, out) == error::invalid_target);
}

TEST_CASE("chunk framing round-trips through the parser", "[http][serializer]") {
    CHECK(chunk_prefix{0x1a}.view() == "1a\r\n");
    CHECK(chunk_prefix{1}.view() == "1\r\n");
    CHECK(chunk_prefix{static_cast<std::size_t>(-1)}.view() == "ffffffffffffffff\r\n");
    response res{200};
    std::string wire;
    head_options options;
    options.chunked = true;
    REQUIRE_FALSE(serialize_head(res, wire, options));
    const std::string big(5000, 'z');
    serialize_chunk("hello ", wire);
    serialize_chunk("", wire);  // nothing: an empty chunk would end the body
    serialize_chunk(big, wire);
    wire.append(last_chunk);
    response_parser p;
    std::string_view view{wire};
    std::string body;
    event ev;
    while ((ev = p.next(view)).type != event_type::end_of_message) {
        REQUIRE(ev.type != event_type::error);
        REQUIRE(ev.type != event_type::need_more);
        if (ev.type == event_type::body) body.append(ev.data);
    }
    CHECK(body == "hello " + big);
    CHECK(view.empty());
}

TEST_CASE("http dates are IMF-fixdate and formatted at most once per second", "[http][serializer]") {
    // RFC 9110 §5.6.7's example instant.
    const sys_seconds example = sys_days{year{1994} / November / 6} + hours{8} + minutes{49} + seconds{37};
    CHECK(format_http_date(example) == "Sun, 06 Nov 1994 08:49:37 GMT");
    CHECK(format_http_date(sys_days{year{2000} / February / 29}) == "Tue, 29 Feb 2000 00:00:00 GMT");
    date_cache cache;
    CHECK(cache.get(example) == "Sun, 06 Nov 1994 08:49:37 GMT");
    CHECK(cache.get(example + milliseconds{999}) == "Sun, 06 Nov 1994 08:49:37 GMT");
    CHECK(cache.formats() == 1);
    CHECK(cache.get(example + seconds{1}) == "Sun, 06 Nov 1994 08:49:38 GMT");
    CHECK(cache.formats() == 2);
}
