#include <herald/sse/event.hpp>
#include <herald/sse/parser.hpp>

#include "../support/allocations.hpp"
#include "../support/golden.hpp"

#include "../support/guard_page.hpp"

#include <catch2/catch.hpp>


#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

using namespace herald;
using herald::test_support::escape;

namespace {

// An incomplete next line, appended to inputs to prove the parser keeps it and
// reports nothing for it ("with trailing bytes"). Short, so the limit vectors fit it.
constexpr std::string_view trailing_line = "data:";

sse::limits limits_for(const test_support::golden_vector& v) {
    sse::limits l;
    for (const auto& flag : v.flags) {
        if (flag.rfind("max_line=", 0) == 0) l.max_line = std::stoul(flag.substr(9));
        if (flag.rfind("max_event=", 0) == 0) l.max_event = std::stoul(flag.substr(10));
    }
    return l;
}

// Feeds `pieces` in order, pulling results after each, as a client would after each
// read, and turns them into the transcript lines of tests/data/sse/streams.txt.
// `place` may move each piece elsewhere just before it is fed (the guard page).
std::string run_event_transcript(sse::event_parser& p, const std::vector<std::string_view>& pieces,
                           const std::function<std::string_view(std::string_view)>& place = {}) {
    std::string lines;
    for (const std::string_view piece : pieces) {
        std::string_view view = place ? place(piece) : piece;
        for (bool more = true; more;) {
            switch (p.next(view)) {
            case sse::parse_result::need_more:
                if (!view.empty()) return lines + "parser left bytes on need_more\n";
                more = false;
                break;
            case sse::parse_result::event:
                lines += "event " + escape(p.type()) + " id=" + escape(p.last_event_id()) + " data=" + escape(p.data()) + "\n";
                break;
            case sse::parse_result::retry:
                lines += "retry " + std::to_string(p.reconnection_time().value_or(0)) + "\n";
                break;
            case sse::parse_result::error: return lines + "error " + p.error().message() + "\n";
            }
        }
    }
    return lines + "end last-event-id=" + escape(p.last_event_id()) + "\n";
}

sse::parse_result parse_piece(sse::event_parser& p, std::string_view input) {
    return p.next(input);
}


}  // namespace

TEST_CASE("event-stream golden vectors - every split, and with trailing bytes", "[sse][parser]") {
    const auto vectors = test_support::load_golden(std::string(HERALD_TEST_DATA_DIR) + "/sse/streams.txt");
    REQUIRE(vectors.size() >= 60);
    for (const auto& v : vectors) {
        const sse::limits l = limits_for(v);
        std::size_t expected_buffered = 0;
        {
            sse::event_parser whole{l};
            run_event_transcript(whole, {v.input});
            expected_buffered = whole.buffered();
        }
        test_support::for_each_split(v.input, [&](const std::string& how, const std::vector<std::string_view>& pieces) {
            sse::event_parser p{l};
            INFO(v.name << " fed " << how);
            CHECK(run_event_transcript(p, pieces) == v.expect);
            CHECK(p.buffered() == expected_buffered);
        });
        if (!v.has_flag("notrail")) {
            const std::string with_trailer = v.input + std::string(trailing_line);
            sse::event_parser p{l};
            INFO(v.name << " with trailing bytes");
            CHECK(run_event_transcript(p, {with_trailer}) == v.expect);
            if (!p.error()) CHECK(p.buffered() >= trailing_line.size());
        }
    }
}

TEST_CASE("an event: type defaults to message, views stay valid until the next call", "[sse][parser]") {
    sse::event_parser p;
    std::string_view input = "data: one\n\nevent: named\ndata: two\n\n";
    REQUIRE(p.next(input) == sse::parse_result::event);
    CHECK(p.type() == "message");
    CHECK(p.data() == "one");
    CHECK(input == "event: named\ndata: two\n\n");  // the rest waits in the caller's input
    REQUIRE(p.next(input) == sse::parse_result::event);
    CHECK(p.type() == "named");
    CHECK(p.data() == "two");
    CHECK(p.next(input) == sse::parse_result::need_more);
    CHECK(input.empty());
    CHECK(p.data().empty());  // the buffers are cleared by the call after an event
    CHECK(p.type() == "message");
}

TEST_CASE("a CR ends the event at once - the LF of a CRLF split across reads is dropped", "[sse][parser]") {
    sse::event_parser p;
    REQUIRE(parse_piece(p, "data: a\r") == sse::parse_result::need_more);
    REQUIRE(parse_piece(p, "\n\r") == sse::parse_result::event);  // no need to wait for a possible LF
    CHECK(p.data() == "a");
    // This LF completes the CRLF of the blank line: it must not end another line.
    CHECK(parse_piece(p, "\ndata: b\r") == sse::parse_result::need_more);
    CHECK(parse_piece(p, "\ndata: c\n\n") == sse::parse_result::event);
    CHECK(p.data() == "b\nc");
}

TEST_CASE("the reconnection time is reported when its line is read", "[sse][parser]") {
    sse::event_parser p;
    CHECK(!p.reconnection_time());
    std::string_view input = "retry: 2500\ndata: x\n\n";
    REQUIRE(p.next(input) == sse::parse_result::retry);
    CHECK(p.reconnection_time() == 2500u);
    REQUIRE(p.next(input) == sse::parse_result::event);
    CHECK(p.reconnection_time() == 2500u);  // it stays, it belongs to the stream
}

TEST_CASE("an endless line is refused at the limit - without storing it", "[sse][parser][limits]") {
    sse::event_parser p;  // default 256 KiB lines
    const std::string chunk(4096, 'a');
    sse::parse_result result = sse::parse_result::need_more;
    std::size_t fed = 0;
    for (int i = 0; i < 1000 && result != sse::parse_result::error; ++i) {
        fed += chunk.size();
        result = parse_piece(p, i == 0 ? std::string("data: ") + chunk : chunk);
        CHECK(p.buffered() <= p.limits().max_line);
    }
    REQUIRE(result == sse::parse_result::error);
    CHECK(p.error() == sse::error::line_too_long);
    CHECK(p.error() == condition::limit_exceeded);
    CHECK(fed <= p.limits().max_line + chunk.size());
}

TEST_CASE("an endless event of short lines is refused at the limit", "[sse][parser][limits]") {
    sse::limits l;
    l.max_event = 64 * 1024;
    sse::event_parser p{l};
    const std::string line = "data: " + std::string(1000, 'x') + "\n";
    sse::parse_result result = sse::parse_result::need_more;
    int lines = 0;
    while (result == sse::parse_result::need_more && lines < 1000) {
        result = parse_piece(p, line);
        ++lines;
    }
    REQUIRE(result == sse::parse_result::error);
    CHECK(p.error() == sse::error::event_too_large);
    CHECK(p.error() == condition::limit_exceeded);
    CHECK(lines == 66);  // 65 lines and their joining LFs are 65,064 bytes; a 66th passes 65,536
}

TEST_CASE("set_limits changes the limits of the next lines", "[sse][parser][limits]") {
    sse::event_parser p;
    sse::limits l;
    l.max_line = 8;
    p.set_limits(l);
    CHECK(p.limits().max_line == 8);
    CHECK(parse_piece(p, "data: 123\n") == sse::parse_result::error);
    CHECK(p.error() == sse::error::line_too_long);
}

TEST_CASE("errors are sticky until reset or restart", "[sse][parser]") {
    sse::limits l;
    l.max_line = 16;
    sse::event_parser p{l};
    std::string_view input = "id: 42\ndata: a\n\nretry: 900\n";
    REQUIRE(p.next(input) == sse::parse_result::event);
    REQUIRE(p.next(input) == sse::parse_result::retry);
    REQUIRE(parse_piece(p, "data: this line is far too long\n") == sse::parse_result::error);
    CHECK(parse_piece(p, "data: ok\n\n") == sse::parse_result::error);
    CHECK(p.error() == sse::error::line_too_long);

    // A new connection: the error goes, what the event source keeps stays.
    p.restart();
    CHECK(!p.error());
    CHECK(p.last_event_id() == "42");
    CHECK(p.reconnection_time() == 900u);
    REQUIRE(parse_piece(p, "data: ok\n\n") == sse::parse_result::event);
    CHECK(p.last_event_id() == "42");  // an event without `id:` keeps it

    REQUIRE(parse_piece(p, "data: this line is far too long\n") == sse::parse_result::error);
    p.reset();
    CHECK(!p.error());
    CHECK(p.last_event_id().empty());
    CHECK(!p.reconnection_time());
    CHECK(parse_piece(p, "data: ok\n\n") == sse::parse_result::event);
}

TEST_CASE("restart drops the partial event and allows a BOM again", "[sse][parser]") {
    sse::event_parser p;
    std::string_view input = "\xEF\xBB\xBF" "data: 1\n\nid: 5\nevent: x\ndata: cut off\ndata: mid-li";
    REQUIRE(p.next(input) == sse::parse_result::event);
    CHECK(p.next(input) == sse::parse_result::need_more);
    CHECK(p.buffered() == 12);  // "data: mid-li"
    p.restart();
    CHECK(p.buffered() == 0);
    REQUIRE(parse_piece(p, "\xEF\xBB") == sse::parse_result::need_more);
    REQUIRE(parse_piece(p, "\xBF" "data: 2\n\n") == sse::parse_result::event);
    CHECK(p.data() == "2");
    CHECK(p.type() == "message");   // the cut-off block's type is gone
    CHECK(p.last_event_id().empty());  // and so is its id: it was never dispatched
}

TEST_CASE("steady state: parsing the same events again allocates nothing", "[sse][parser][memory]") {
    // Lines split across reads use the line buffer; ids exercise the id buffers.
    const std::string stream =
        "id: 1001\nevent: price\ndata: {\"symbol\":\"YHOO\",\"change\":2,\"volume\":10}\n\n"
        ": keep-alive\n"
        "id: 1002\nevent: price\ndata: {\"symbol\":\"GOOG\",\"change\":-1,\"volume\":7}\ndata: second line\n\n";
    sse::event_parser p;
    std::string seen;
    auto parse_once = [&] {
        seen.clear();
        for (std::size_t at = 0; at < stream.size(); at += 17) {
            std::string_view view = std::string_view{stream}.substr(at, 17);
            for (auto r = p.next(view); r != sse::parse_result::need_more; r = p.next(view)) {
                REQUIRE(r == sse::parse_result::event);
                seen.append(p.last_event_id());
            }
        }
    };
    seen.reserve(64);
    parse_once();
    parse_once();
    herald::test_support::allocation_counter allocations;
    parse_once();
    CHECK(allocations.count() == 0);
    CHECK(seen == "10011002");
}

TEST_CASE("no read past the input, and no view into it kept across calls", "[sse][parser][memory]") {
    test_support::guarded_buffer buffer(64 * 1024);
    for (const auto& v : test_support::load_golden(std::string(HERALD_TEST_DATA_DIR) + "/sse/streams.txt")) {
        const sse::limits l = limits_for(v);
        // Each piece is copied to the guard page just before it is fed, over the
        // bytes of the one before: a parser that kept a view into an earlier read
        // would see them change.
        test_support::for_each_split(v.input, [&](const std::string& how, const std::vector<std::string_view>& pieces) {
            sse::event_parser p{l};
            INFO(v.name << " fed from the guard page " << how);
            CHECK(run_event_transcript(p, pieces, [&](std::string_view piece) { return buffer.place(piece); }) == v.expect);
        });
    }
    // The serializer's UTF-8 check reads eight bytes at a time.
    for (std::size_t length = 0; length <= 40; ++length) {
        for (const std::string_view tail : {"", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xE2\x82", "\x80"}) {
            const std::string text = std::string(length, 'a') + std::string(tail);
            const std::string_view at_guard = buffer.place(text);
            INFO("length " << length << " tail " << test_support::escape(tail));
            CHECK(herald::is_utf8(at_guard) == herald::is_utf8(text));
            CHECK(sse::check({.data = at_guard}) == sse::check({.data = text}));
        }
    }
}
