#include <herald/sse/error.hpp>
#include <herald/sse/event.hpp>
#include <herald/sse/parser.hpp>
#include <herald/sse/serializer.hpp>

#include "../support/golden.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

using namespace herald;
using namespace std::string_view_literals;

namespace {

std::string serialized(const sse::event& ev) {
    std::string out;
    const auto ec = sse::serialize(ev, out);
    INFO(ec.message());
    CHECK(!ec);
    CHECK(out.size() == sse::serialized_size(ev));
    return out;
}

// What a browser's data attribute holds for `data` sent through serialize(): every
// CR and CRLF arrives as LF, since each of the three ends a line (§9.2.5).
std::string as_received(std::string_view data) {
    std::string out;
    for (std::size_t i = 0; i < data.size(); ++i) {
        if (data[i] == '\r') {
            out += '\n';
            if (i + 1 < data.size() && data[i + 1] == '\n') ++i;
        } else {
            out += data[i];
        }
    }
    return out;
}

struct received {
    std::string type, data, id;
};

// Parses `stream` fed in pieces of `piece` bytes; a retry line must not appear.
std::vector<received> parse_all(std::string_view stream, std::size_t piece) {
    sse::event_parser p;
    std::vector<received> out;
    for (std::size_t at = 0; at < stream.size(); at += piece) {
        std::string_view view = stream.substr(at, piece);
        for (auto r = p.next(view); r != sse::parse_result::need_more; r = p.next(view)) {
            if (r == sse::parse_result::retry) continue;
            REQUIRE(r == sse::parse_result::event);
            out.push_back({std::string(p.type()), std::string(p.data()), std::string(p.last_event_id())});
        }
    }
    return out;
}

}  // namespace

TEST_CASE("serialize writes the fields in order, one data line per line", "[sse][serializer]") {
    CHECK(serialized({.data = "hello"}) == "data: hello\n\n");
    CHECK(serialized({.type = "update", .data = "{\"a\":1}", .id = "42", .retry = 3000}) ==
          "event: update\nid: 42\nretry: 3000\ndata: {\"a\":1}\n\n");
    CHECK(serialized({.data = "YHOO\n+2\n10"}) == "data: YHOO\ndata: +2\ndata: 10\n\n");
    CHECK(serialized({.data = "a\r\nb\rc\nd"}) == "data: a\ndata: b\ndata: c\ndata: d\n\n");
    CHECK(serialized({.data = "trailing\n"}) == "data: trailing\ndata:\n\n");
    CHECK(serialized({.data = "\r\n"}) == "data:\ndata:\n\n");
    CHECK(serialized({.data = " leading space"}) == "data:  leading space\n\n");
    CHECK(serialized({.data = ":not a comment"}) == "data: :not a comment\n\n");
    CHECK(serialized({.retry = 0}) == "retry: 0\ndata:\n\n");
    CHECK(serialized({.retry = 4294967295u}) == "retry: 4294967295\ndata:\n\n");
}

TEST_CASE("an empty data is one data: line - and the event is dispatched", "[sse][serializer]") {
    // WHATWG HTML §9.2.6 "dispatch the event" step 2 drops only an empty data
    // *buffer*; one `data:` line makes it "\n", so the event fires with data "".
    const std::string bytes = serialized({.type = "ended"});
    CHECK(bytes == "event: ended\ndata:\n\n");
    const auto events = parse_all(bytes, bytes.size());
    REQUIRE(events.size() == 1);
    CHECK(events[0].type == "ended");
    CHECK(events[0].data.empty());
    // Without the data line, a browser would drop it: the reason for the rule.
    CHECK(parse_all("event: ended\n\n", 14).empty());
}

TEST_CASE("an id: nullopt writes no line, an empty id clears the last event ID", "[sse][serializer]") {
    CHECK(serialized({.data = "x", .id = std::nullopt}) == "data: x\n\n");
    CHECK(serialized({.data = "x", .id = ""}) == "id:\ndata: x\n\n");
    const std::string stream = serialized({.data = "a", .id = "7"}) + serialized({.data = "b"}) +
                               serialized({.data = "c", .id = ""});
    const auto events = parse_all(stream, 1);
    REQUIRE(events.size() == 3);
    CHECK(events[0].id == "7");
    CHECK(events[1].id == "7");
    CHECK(events[2].id.empty());
}

TEST_CASE("ids with LF, CR or NUL are refused - nothing is appended", "[sse][serializer]") {
    for (const auto id : {"a\nb"sv, "a\rb"sv, "a\0b"sv, "\n"sv, "end\r"sv}) {
        std::string out = "kept";
        const auto ec = sse::serialize({.data = "x", .id = id}, out);
        INFO(test_support::escape(id));
        CHECK(ec == sse::error::invalid_id);
        CHECK(ec == condition::invalid_state);
        CHECK(out == "kept");
    }
}

TEST_CASE("event types with LF or CR are refused - NUL is not a line end", "[sse][serializer]") {
    for (const auto type : {"a\nb"sv, "a\rb"sv, "\r\n"sv}) {
        std::string out;
        CHECK(sse::serialize({.type = type, .data = "x"}, out) == sse::error::invalid_event_type);
        CHECK(out.empty());
    }
    CHECK(serialized({.type = "a\0b"sv, .data = "x"}) == "event: a\0b\ndata: x\n\n"sv);
}

TEST_CASE("text that is not UTF-8 is refused in type, id and data", "[sse][serializer][utf8]") {
    const std::vector<std::string_view> invalid = {
        "\x80"sv,                  // a continuation byte alone
        "\xC0\x80"sv,              // overlong NUL
        "\xC1\xBF"sv,              // overlong
        "\xE0\x9F\xBF"sv,          // overlong three-byte form
        "\xED\xA0\x80"sv,          // U+D800, a surrogate
        "\xED\xBF\xBF"sv,          // U+DFFF
        "\xF0\x8F\xBF\xBF"sv,      // overlong four-byte form
        "\xF4\x90\x80\x80"sv,      // U+110000
        "\xF5\x80\x80\x80"sv,      // F5 never starts a sequence
        "\xFF"sv,
        "\xC3"sv,                  // truncated
        "\xE2\x82"sv,              // truncated
        "\xF0\x9F\x98"sv,          // truncated
        "\xC3\x28"sv,              // bad continuation
        "\xE2\x28\xA1"sv,
        "ok so far \xE2\x82\xAC then \xE2\x82"sv,
    };
    for (const auto bad : invalid) {
        INFO(test_support::escape(bad));
        std::string out;
        CHECK(sse::serialize({.data = bad}, out) == sse::error::invalid_utf8);
        CHECK(sse::serialize({.type = bad, .data = "x"}, out) == sse::error::invalid_utf8);
        CHECK(sse::serialize({.data = "x", .id = bad}, out) == sse::error::invalid_utf8);
        CHECK(out.empty());
    }
    const std::vector<std::string_view> valid = {
        "plain ASCII"sv, "\x7F"sv,
        "\xC2\x80"sv,          // U+0080
        "\xDF\xBF"sv,          // U+07FF
        "\xE0\xA0\x80"sv,      // U+0800
        "\xED\x9F\xBF"sv,      // U+D7FF
        "\xEE\x80\x80"sv,      // U+E000
        "\xEF\xBF\xBF"sv,      // U+FFFF
        "\xF0\x90\x80\x80"sv,  // U+10000
        "\xF4\x8F\xBF\xBF"sv,  // U+10FFFF
        "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"sv,
    };
    for (const auto good : valid) {
        INFO(test_support::escape(good));
        CHECK(herald::is_utf8(good));
    }
}

TEST_CASE("the eight-bytes-at-a-time ASCII path finds a bad byte at every position", "[sse][serializer][utf8]") {
    for (std::size_t length = 1; length <= 40; ++length) {
        for (std::size_t at = 0; at < length; ++at) {
            std::string text(length, 'a');
            CHECK(herald::is_utf8(text));
            text[at] = '\xFF';
            INFO("length " << length << " bad byte at " << at);
            CHECK(!herald::is_utf8(text));
            if (at + 1 < length) {
                text[at] = '\xC3';
                text[at + 1] = '\xA9';
                CHECK(herald::is_utf8(text));
            }
        }
    }
}

TEST_CASE("comments: one : line per line of text, ignored by the parser", "[sse][serializer]") {
    std::string out;
    sse::serialize_comment("keep-alive", out);
    CHECK(out == ": keep-alive\n");
    out.clear();
    sse::serialize_comment("", out);
    CHECK(out == ":\n");
    out.clear();
    sse::serialize_comment("two\r\nlines\rand\nmore", out);
    CHECK(out == ": two\n: lines\n: and\n: more\n");
    out.clear();
    sse::serialize_comment("data: not data\n\n", out);  // even a blank line stays a comment
    CHECK(out == ": data: not data\n:\n:\n");
    CHECK(parse_all(out, 1).empty());
    // Between events, a comment changes nothing.
    const std::string stream = serialized({.data = "a"}) + out + serialized({.data = "b"});
    const auto events = parse_all(stream, 3);
    REQUIRE(events.size() == 2);
    CHECK(events[1].data == "b");
}

TEST_CASE("serialize_retry sets the reconnection time without an event", "[sse][serializer]") {
    std::string out;
    sse::serialize_retry(15000, out);
    CHECK(out == "retry: 15000\n");
    sse::event_parser p;
    std::string_view view{out};
    REQUIRE(p.next(view) == sse::parse_result::retry);
    CHECK(p.reconnection_time() == 15000u);
    CHECK(p.next(view) == sse::parse_result::need_more);
}

TEST_CASE("serialize appends to what the buffer already holds", "[sse][serializer]") {
    std::string out = ": opened\n";
    REQUIRE(!sse::serialize({.data = "1"}, out));
    REQUIRE(!sse::serialize({.data = "2"}, out));
    CHECK(out == ": opened\ndata: 1\n\ndata: 2\n\n");
}

TEST_CASE("shared event: serialized once, the same bytes for every stream", "[sse][serializer]") {
    std::error_code ec;
    const sse::shared_event shared = sse::make_shared_event({.type = "tick", .data = "1\n2", .id = "9"}, ec);
    REQUIRE(!ec);
    REQUIRE(shared);
    CHECK(*shared == "event: tick\nid: 9\ndata: 1\ndata: 2\n\n");
    CHECK(shared->capacity() == shared->size());  // sized exactly, for long-lived copies

    // A thousand streams queue it: no byte is copied, they all point at one buffer.
    std::vector<sse::shared_event> queues(1000, shared);
    for (const auto& q : queues) CHECK(q->data() == shared->data());
    CHECK(shared.use_count() == 1001);
    queues.clear();
    CHECK(shared.use_count() == 1);

    const sse::shared_event refused = sse::make_shared_event({.data = "x", .id = "a\nb"}, ec);
    CHECK(ec == sse::error::invalid_id);
    CHECK(!refused);
}

TEST_CASE("serialized_size is what serialize appends", "[sse][serializer]") {
    const std::vector<sse::event> events = {
        {}, {.data = "x"}, {.type = "t", .data = "a\r\nb\n", .id = "", .retry = 7},
        {.data = "\n\n\n"}, {.id = "123", .retry = 1234567890},
    };
    for (const auto& ev : events) {
        std::string out = "prefix";
        REQUIRE(!sse::serialize(ev, out));
        CHECK(out.size() == 6 + sse::serialized_size(ev));
    }
}

TEST_CASE("round trip: serialize then parse gives back type, data and id", "[sse][serializer][parser]") {
    std::vector<std::string> datas = {
        "", "x", "\n", "\r", "\r\n", "\n\n", "\r\r", "\n\r", "a\nb", "a\rb", "a\r\nb", "a\n\rb",
        "line\n", "line\r", "line\r\n", "\nleading", " one space", "  two spaces", "\t tab",
        ": looks like a comment", "data: looks like a field", "id: 5", "event: x\n\ndata: y",
        "a:b", ":", " ", "trailing spaces  ", "mixed\r\nends\nof\rlines\r\n\r\n", "caf\xC3\xA9 \xE2\x82\xAC",
        "{\"json\":\"with\\nescapes\",\"n\":[1,2,3]}",
    };
    // And a few hundred generated ones, from the bytes that matter to the format.
    std::mt19937 rng{20240601};
    const std::string_view alphabet[] = {"a", "b", " ", ":", "\r", "\n", "\r\n", "data", "id", "\xC3\xA9", "\t"};
    std::uniform_int_distribution<std::size_t> pick(0, std::size(alphabet) - 1), length(0, 24);
    for (int i = 0; i < 300; ++i) {
        std::string d;
        for (std::size_t n = length(rng); n > 0; --n) d += alphabet[pick(rng)];
        datas.push_back(d);
    }

    std::string stream;
    std::vector<received> expected;
    std::string last_id;
    for (std::size_t i = 0; i < datas.size(); ++i) {
        // Types and ids with leading spaces and colons too: only CR, LF (and NUL in ids) are refused.
        const std::string type = i % 3 == 0 ? "" : (i % 3 == 1 ? " spaced:type" : "update");
        const std::string id = " id:" + std::to_string(i);
        sse::event ev{.type = type, .data = datas[i]};
        if (i % 4 != 3) ev.id = id;
        if (i % 4 == 2 && i % 8 == 2) ev.id = "";
        if (i % 10 == 5) ev.retry = static_cast<std::uint32_t>(i);
        if (ev.id) last_id = std::string(*ev.id);
        REQUIRE(!sse::serialize(ev, stream));
        if (i % 7 == 0) sse::serialize_comment("ping", stream);
        expected.push_back({type.empty() ? "message" : type, as_received(datas[i]), last_id});
    }

    for (const std::size_t piece : {stream.size(), std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{64}}) {
        INFO("fed in pieces of " << piece);
        const auto events = parse_all(stream, piece);
        REQUIRE(events.size() == expected.size());
        for (std::size_t i = 0; i < events.size(); ++i) {
            INFO("event " << i << " data " << test_support::escape(datas[i]));
            CHECK(events[i].type == expected[i].type);
            CHECK(events[i].data == expected[i].data);
            CHECK(events[i].id == expected[i].id);
        }
    }
    // Data without CR comes back byte for byte.
    for (std::size_t i = 0; i < datas.size(); ++i)
        if (datas[i].find('\r') == std::string::npos) CHECK(expected[i].data == datas[i]);
}

TEST_CASE("every sse error has a distinct message and a condition", "[sse][error]") {
    std::set<std::string> messages;
    const int last_code = static_cast<int>(sse::error::bad_content_type);
    for (int value = 1; value <= last_code; ++value) {
        const std::error_code ec = static_cast<sse::error>(value);
        INFO("value " << value);
        CHECK(ec.message() != "unknown herald.sse error");
        CHECK(messages.insert(ec.message()).second);
    }
    CHECK(std::string(sse::error_category().name()) == "herald.sse");
    CHECK(std::error_code(sse::error::line_too_long) == condition::limit_exceeded);
    CHECK(std::error_code(sse::error::event_too_large) == condition::limit_exceeded);
    CHECK(std::error_code(sse::error::invalid_id) == condition::invalid_state);
    CHECK(std::error_code(sse::error::invalid_event_type) == condition::invalid_state);
    CHECK(std::error_code(sse::error::invalid_utf8) == condition::invalid_state);
    CHECK(std::error_code(sse::error::invalid_utf8) != condition::protocol_violation);
    CHECK(std::error_code(sse::error::line_too_long) != condition::invalid_state);
    CHECK(std::error_code(static_cast<sse::error>(99)) == condition::protocol_violation);
    CHECK(std::error_code(static_cast<sse::error>(99)).message() == "unknown herald.sse error");
}
