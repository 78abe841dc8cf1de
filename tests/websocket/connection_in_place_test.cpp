// connection::next(std::span<char>&): a message of one whole frame is unmasked and
// validated where it lies in the caller's bytes and handed out as a view into them
// (impl/connection_next.hpp); everything else takes the copying path, with the
// same events and the same errors as next(std::string_view&).
#include <herald/memory_budget.hpp>
#include <herald/websocket/connection.hpp>

#include <catch2/catch.hpp>

#include "../support/guard_page.hpp"
#include "../support/websocket_wire.hpp"

#include <span>
#include <string>
#include <vector>

using namespace herald;
namespace ws = herald::websocket;
using herald::test::rng;
using herald::test::seen;
using herald::test::take;

namespace {

// test::feed through spans of a copy the connection may change: pieces of `step`
// bytes (0: whole), and how many messages were views into the caller's bytes.
std::vector<seen> feed_in_place(ws::connection& c, std::string wire, std::size_t step, std::size_t& in_place) {
    std::vector<seen> out;
    std::size_t at = 0;
    in_place = 0;
    do {
        const std::size_t n = step == 0 ? wire.size() : std::min(step, wire.size() - at);
        const std::span<char> whole(wire.data() + at, n);
        std::span<char> piece = whole;
        at += n;
        for (auto ev = c.next(piece); ev != ws::event_type::need_more; ev = c.next(piece)) {
            const auto d = c.data();
            if (ev == ws::event_type::message && !d.empty() && d.data() >= whole.data() &&
                d.data() + d.size() <= whole.data() + whole.size())
                ++in_place;
            out.push_back({ev, std::string(d), c.message_type(), c.close_code()});
        }
        REQUIRE(piece.empty());
    } while (at < wire.size());
    return out;
}

}  // namespace

TEST_CASE("in place: the same events as the copying path at every split, whole frames handed out uncopied",
          "[websocket][connection]") {
    ws::connection client(ws::role::client, {}, rng(3));
    REQUIRE_FALSE(client.write_message(ws::opcode::text, "hello"));
    REQUIRE_FALSE(client.write_fragment(ws::opcode::text, "frag", true, false));
    REQUIRE_FALSE(client.write_ping("are you there"));
    REQUIRE_FALSE(client.write_fragment(ws::opcode::text, "mented \xc3", false, false));
    REQUIRE_FALSE(client.write_fragment(ws::opcode::text, "\xa9", false, true));
    REQUIRE_FALSE(client.write_message(ws::opcode::binary, std::string(70000, '\x01')));
    REQUIRE_FALSE(client.write_message(ws::opcode::text, "caf\xc3\xa9"));
    REQUIRE_FALSE(client.write_message(ws::opcode::text, ""));
    REQUIRE_FALSE(client.write_close(1000, "bye"));
    const std::string wire = take(client);
    for (std::size_t step : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{4096}}) {
        INFO("step " << step);
        ws::connection copying(ws::role::server), viewing(ws::role::server);
        const auto expected = herald::test::feed(copying, wire, step);
        std::size_t in_place = 0;
        const auto got = feed_in_place(viewing, wire, step, in_place);
        REQUIRE(got.size() == expected.size());
        REQUIRE(got.size() == 7);
        for (std::size_t i = 0; i < got.size(); ++i) {
            INFO("event " << i);
            CHECK(got[i].type == expected[i].type);
            CHECK(got[i].data == expected[i].data);
            CHECK(got[i].kind == expected[i].kind);
            CHECK(got[i].code == expected[i].code);
        }
        CHECK(viewing.output() == copying.output());  // the pong and the close reply
        // Whole: "hello", the 70,000 bytes and "café" lie in the one piece. In 4 KiB
        // pieces the small ones do, not the large one; byte by byte none does.
        CHECK(in_place == (step == 0 ? 3u : step == 4096 ? 2u : 0u));
    }
}

TEST_CASE("in place: a whole masked message is unmasked in the caller's bytes and holds nothing of the budget",
          "[websocket][connection]") {
    memory_budget budget{1 << 20};
    ws::limits l;
    l.budget = &budget;
    ws::connection server(ws::role::server, l);
    ws::connection client(ws::role::client, {}, rng(4));
    REQUIRE_FALSE(client.write_message(ws::opcode::binary, "sixteen bytes..."));
    REQUIRE_FALSE(client.write_message(ws::opcode::binary, "then more"));
    std::string wire = take(client);
    std::span<char> input(wire.data(), wire.size());
    REQUIRE(server.next(input) == ws::event_type::message);
    CHECK(server.data() == "sixteen bytes...");
    CHECK(server.data().data() == wire.data() + 6);  // after its 6-byte masked header
    CHECK(budget.used() == 0);
    CHECK(input.size() == 6 + 9);  // the second frame is still to come
    REQUIRE(server.next(input) == ws::event_type::message);
    CHECK(server.message_type() == ws::opcode::binary);
    CHECK(server.data() == "then more");
    CHECK(input.empty());
    CHECK(server.next(input) == ws::event_type::need_more);
    CHECK(server.data().empty());

    // Cut between two inputs, the same message is assembled, and held while it is.
    REQUIRE_FALSE(client.write_message(ws::opcode::binary, "sixteen bytes..."));
    wire = take(client);
    std::span<char> first(wire.data(), 10), second(wire.data() + 10, wire.size() - 10);
    CHECK(server.next(first) == ws::event_type::need_more);
    CHECK(budget.used() == 4);
    REQUIRE(server.next(second) == ws::event_type::message);
    CHECK(server.data() == "sixteen bytes...");
    CHECK(budget.used() == 16);
    CHECK(server.next(second) == ws::event_type::need_more);
    CHECK(budget.used() == 0);  // let go of at the next call, as before
}

TEST_CASE("in place: invalid UTF-8 and a message over the limit fail as they do when copied",
          "[websocket][connection]") {
    ws::connection client(ws::role::client, {}, rng(5));
    SECTION("a text frame that is not UTF-8: 1007") {
        ws::connection server(ws::role::server);
        REQUIRE_FALSE(client.write_message(ws::opcode::text, "ok \xff"));
        std::string wire = take(client);
        std::span<char> input(wire.data(), wire.size());
        REQUIRE(server.next(input) == ws::event_type::error);
        CHECK(server.error() == ws::error::invalid_utf8);
        CHECK(server.output() == herald::test::raw({0x88, 0x02, 0x03, 0xef}));  // close 1007
        CHECK(server.data().empty());
    }
    SECTION("a text frame whose last character is cut: 1007 (the message ends there)") {
        ws::connection server(ws::role::server);
        REQUIRE_FALSE(client.write_message(ws::opcode::text, "caf\xc3"));
        std::string wire = take(client);
        std::span<char> input(wire.data(), wire.size());
        REQUIRE(server.next(input) == ws::event_type::error);
        CHECK(server.error() == ws::error::invalid_utf8);
    }
    SECTION("one byte over max_message: 1009") {
        ws::limits l;
        l.max_message = 8;
        ws::connection server(ws::role::server, l);
        REQUIRE_FALSE(client.write_message(ws::opcode::binary, "nine byte"));
        std::string wire = take(client);
        std::span<char> input(wire.data(), wire.size());
        REQUIRE(server.next(input) == ws::event_type::error);
        CHECK(server.error() == ws::error::message_too_big);
    }
}

TEST_CASE("in place: every prefix of a wire ending at a guard page is unmasked inside its span and no further",
          "[websocket][connection]") {
    // DESIGN.md "Speed without sharp edges": no read or write outside the span given.
    // Each prefix is placed so that its last byte is the last before a PROT_NONE page.
    ws::connection client(ws::role::client, {}, rng(6));
    REQUIRE_FALSE(client.write_message(ws::opcode::text, "one"));
    REQUIRE_FALSE(client.write_message(ws::opcode::binary, std::string(200, '\x07')));
    REQUIRE_FALSE(client.write_message(ws::opcode::text, std::string(70000, 'z')));
    REQUIRE_FALSE(client.write_ping("p"));
    const std::string wire = take(client);
    test_support::guarded_buffer buffer(wire.size());
    for (std::size_t n = 0; n <= wire.size(); n += (n < 400 ? 1 : 997)) {
        INFO("prefix of " << n << " bytes");
        const std::string_view placed = buffer.place(std::string_view(wire).substr(0, n));
        std::span<char> input(const_cast<char*>(placed.data()), placed.size());  // mapped writable
        ws::connection server(ws::role::server);
        std::size_t messages = 0;
        for (auto ev = server.next(input); ev != ws::event_type::need_more; ev = server.next(input)) {
            REQUIRE(ev != ws::event_type::error);
            messages += ev == ws::event_type::message;
        }
        CHECK(input.empty());
        if (n == wire.size()) CHECK(messages == 3);
    }
}
