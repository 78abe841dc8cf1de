#include <herald/websocket/connection.hpp>

#include <catch2/catch.hpp>

#include "../support/websocket_wire.hpp"

#include <zlib.h>

#include <random>
#include <string>
#include <vector>

using namespace herald;
namespace ws = herald::websocket;
using herald::test::rng;
using herald::test::take;
using herald::test::raw;
using herald::test::feed;

namespace {

ws::deflate_options options(std::size_t min_size = 0) {
    ws::deflate_options o;
    o.enabled = true;
    o.min_size = min_size;
    return o;
}

// Context takeover on both sides, full windows: RFC 7692's examples.
ws::deflate_params takeover() { return {}; }

ws::connection with_deflate(ws::role r, const ws::deflate_params& p, const ws::limits& l = {}) {
    ws::connection c(r, l, r == ws::role::client ? rng(7) : std::function<std::uint32_t()>{});
    c.enable_deflate(p, options());
    return c;
}

// A client frame (masked with a zero key) of a compressed payload; RSV1 set when `first`.
std::string client_frame(std::string_view payload, bool first, bool fin, ws::opcode op = ws::opcode::text) {
    std::string out;
    char head[ws::max_header_size];
    out.append(head, ws::write_header({fin, static_cast<std::uint8_t>(first ? 0x4 : 0), op, true, payload.size(), {0, 0, 0, 0}}, head));
    out.append(payload);
    return out;
}


}  // namespace

TEST_CASE("the RFC 7692 section 7.2.3 examples are read and written", "[websocket][deflate]") {
    // §7.2.3.1: "Hello" compressed, one frame.
    ws::connection server = with_deflate(ws::role::server, takeover());
    const auto hello = raw({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00});
    // §7.2.3.2: the same again with the LZ77 window shared.
    const auto again = raw({0xf2, 0x00, 0x11, 0x00, 0x00});
    // §7.2.3.1, fragmented: "Hel" then "lo".
    const auto frag1 = raw({0xf2, 0x48, 0xcd}), frag2 = raw({0xc9, 0xc9, 0x07, 0x00});
    const std::string wire = client_frame(hello, true, true) + client_frame(again, true, true) +
                             client_frame(frag1, true, false) + client_frame(frag2, false, true, ws::opcode::continuation);
    for (std::size_t step : {0, 1, 3}) {
        ws::connection s = with_deflate(ws::role::server, takeover());
        // The fragmented one first inflates in a context with "Hello" twice: it
        // was compressed afresh, which a receiver with takeover reads the same.
        const auto events = feed(s, wire, step);
        REQUIRE(events.size() == 3);
        for (const auto& e : events) {
            CHECK(e.type == ws::event_type::message);
            CHECK(e.data == "Hello");
        }
    }
    // §7.2.3.3: a block with no compression; §7.2.3.4: a block with BFINAL set.
    for (const auto& payload : {raw({0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}),
                                raw({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00})}) {
        ws::connection s = with_deflate(ws::role::server, takeover());
        const auto events = feed(s, client_frame(payload, true, true) + client_frame(hello, true, true));
        REQUIRE(events.size() == 2);
        CHECK(events[0].data == "Hello");
        CHECK(events[1].data == "Hello");
    }
    // Written: the server's frames are the RFC's bytes, with the window shared.
    REQUIRE_FALSE(server.write_message(ws::opcode::text, "Hello"));
    REQUIRE_FALSE(server.write_message(ws::opcode::text, "Hello"));
    CHECK(take(server) == raw({0xc1, 0x07}) + hello + raw({0xc1, 0x05}) + again);
}

TEST_CASE("compressed messages round-trip with and without context takeover at every split", "[websocket][deflate]") {
    std::mt19937 gen(3);
    std::vector<std::string> messages;
    for (std::size_t size : {0, 1, 100, 5000, 70000, 300000}) {
        std::string m;
        for (std::size_t i = 0; i < size; ++i) m.push_back(static_cast<char>('a' + gen() % (i % 3 == 0 ? 26 : 3)));
        messages.push_back(m);
    }
    for (bool no_takeover : {false, true}) {
        for (int window : {9, 12, 15}) {
            ws::deflate_params p;
            p.client_no_context_takeover = p.server_no_context_takeover = no_takeover;
            p.client_max_window_bits = p.server_max_window_bits = window;
            ws::connection client = with_deflate(ws::role::client, p);
            for (const auto& m : messages) REQUIRE_FALSE(client.write_message(ws::opcode::text, m));
            const std::string wire = take(client);
            std::size_t plain = 0;
            for (const auto& m : messages) plain += m.size();
            CHECK(wire.size() < plain / 2);
            for (std::size_t step : {0, 1, 1000}) {
                if (step == 1 && window != 15) continue;  // byte at a time once is enough
                ws::connection server = with_deflate(ws::role::server, p);
                const auto events = feed(server, wire, step);
                REQUIRE(events.size() == messages.size());
                for (std::size_t i = 0; i < messages.size(); ++i) CHECK(events[i].data == messages[i]);
                // The peer starts afresh each message: no inflater is kept.
                CHECK(server.deflate()->holds_memory() == !no_takeover);
            }
        }
    }
}

TEST_CASE("small messages and fragments go uncompressed", "[websocket][deflate]") {
    ws::deflate_params p;
    p.server_no_context_takeover = true;
    ws::connection server(ws::role::server);
    auto o = options(64);
    server.enable_deflate(p, o);
    REQUIRE_FALSE(server.write_message(ws::opcode::text, "short"));
    CHECK(take(server) == "\x81\x05short");
    // Incompressible with no context kept: sent as it is.
    std::string noise;
    std::mt19937 gen(5);
    for (int i = 0; i < 200; ++i) noise.push_back(static_cast<char>(gen()));
    REQUIRE_FALSE(server.write_message(ws::opcode::binary, noise));
    CHECK(static_cast<unsigned char>(take(server)[0]) == 0x82);
    REQUIRE_FALSE(server.write_fragment(ws::opcode::text, std::string(500, 'x'), true, true));
    CHECK(static_cast<unsigned char>(take(server)[0]) == 0x81);
    REQUIRE_FALSE(server.write_message(ws::opcode::text, std::string(500, 'x')));
    CHECK(static_cast<unsigned char>(take(server)[0]) == 0xc1);
}

TEST_CASE("compression's protocol errors fail the connection with their close codes", "[websocket][deflate]") {
    struct bad {
        const char* what;
        std::string wire;
        std::error_code expected;
        std::uint16_t code;
    };
    const auto hello = raw({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00});
    std::string ping_rsv1 = client_frame("", false, true, ws::opcode::ping);
    ping_rsv1[0] = static_cast<char>(0xc9);
    std::string bad_utf8_text;
    REQUIRE(ws::compress_message(std::string(100, '\xff'), 15, options(), bad_utf8_text));
    const std::vector<bad> cases = {
        {"RSV1 on a control frame (RFC 7692 6.1)", ping_rsv1, ws::error::compressed_control, 1002},
        {"RSV1 on a continuation", client_frame("x", false, false) + client_frame(hello, true, true, ws::opcode::continuation),
         ws::error::compressed_continuation, 1002},
        {"data that does not inflate", client_frame(raw({0xff, 0xff, 0xff, 0xff}), true, true), ws::error::bad_compressed_data, 1007},
        {"compressed text that is not UTF-8", client_frame(bad_utf8_text, true, true), ws::error::invalid_utf8, 1007},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        ws::connection server = with_deflate(ws::role::server, takeover());
        const auto events = feed(server, c.wire);
        REQUIRE(events.size() == 1);
        CHECK(events[0].type == ws::event_type::error);
        CHECK(server.error() == c.expected);
        const std::string out = take(server);
        REQUIRE(out.size() == 4);
        CHECK((static_cast<unsigned char>(out[2]) << 8 | static_cast<unsigned char>(out[3])) == c.code);
    }
    // Without the extension, RSV1 is a reserved bit (RFC 6455 5.2).
    ws::connection plain(ws::role::server);
    feed(plain, client_frame(hello, true, true));
    CHECK(plain.error() == ws::error::reserved_bits);
}

TEST_CASE("a decompression bomb is stopped at the message limit, its memory never spent", "[websocket][deflate]") {
    // 100 MiB of zeros is about 100 KiB on the wire.
    const std::string bomb = herald::test::deflated_zeros(std::size_t{100} << 20);
    CHECK(bomb.size() < 200 * 1024);
    memory_budget budget(std::size_t{64} << 20);
    ws::limits l;
    l.max_message = std::size_t{1} << 20;
    l.budget = &budget;
    ws::connection server = with_deflate(ws::role::server, takeover(), l);
    // Fed in reads of 16 KiB, as a stream reads: the limit trips in the first one.
    const auto events = feed(server, client_frame(bomb, true, true, ws::opcode::binary), 16 * 1024);
    REQUIRE(events.size() == 1);
    CHECK(server.error() == ws::error::message_too_big);
    const std::string out = take(server);
    CHECK(static_cast<unsigned char>(out[3]) == (1009 & 0xff));
    // What the budget ever saw held: at most the limit plus one step.
    CHECK(budget.used() <= l.max_message + 64 * 1024 + 1);
    // The same against the process's budget, under the message limit: 1009 too.
    memory_budget small(512 * 1024);
    ws::limits tight;
    tight.budget = &small;
    ws::connection server2 = with_deflate(ws::role::server, takeover(), tight);
    feed(server2, client_frame(bomb, true, true, ws::opcode::binary));
    CHECK(server2.error() == budget_error::exhausted);
    CHECK(small.used() == 0);  // given back when the connection failed
}
