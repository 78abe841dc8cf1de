#include <herald/websocket/connection.hpp>

#include <catch2/catch.hpp>

#include "../support/websocket_wire.hpp"

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

// An unmasked (server-to-client) frame, or a masked one with a zero key when `masked`.
std::string frame(int first_byte, std::string_view payload, bool masked = true) {
    std::string out;
    out.push_back(static_cast<char>(first_byte));
    ws::frame_header h{true, 0, ws::opcode::text, masked, payload.size(), {0, 0, 0, 0}};
    char head[ws::max_header_size];
    const std::size_t n = ws::write_header(h, head);
    out.append(head + 1, n - 1);
    out.append(payload);
    return out;
}

}  // namespace

TEST_CASE("client and server exchange messages through the core alone at every split", "[websocket][connection]") {
    ws::connection client(ws::role::client, {}, rng(1));
    REQUIRE_FALSE(client.write_message(ws::opcode::text, "hello"));
    REQUIRE_FALSE(client.write_fragment(ws::opcode::text, "frag", true, false));
    REQUIRE_FALSE(client.write_ping("are you there"));
    REQUIRE_FALSE(client.write_fragment(ws::opcode::text, "mented \xc3", false, false));
    REQUIRE_FALSE(client.write_fragment(ws::opcode::text, "\xa9", false, true));
    REQUIRE_FALSE(client.write_message(ws::opcode::binary, std::string(70000, '\x01')));
    REQUIRE_FALSE(client.write_message(ws::opcode::text, ""));
    REQUIRE_FALSE(client.write_close(1000, "bye"));
    CHECK(client.state() == ws::state::closing);
    const std::string wire = take(client);
    for (std::size_t step : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{4096}}) {
        ws::connection server(ws::role::server);
        const auto events = feed(server, wire, step);
        REQUIRE(events.size() == 6);
        CHECK(events[0].type == ws::event_type::message);
        CHECK(events[0].data == "hello");
        CHECK(events[1].type == ws::event_type::ping);  // between the fragments (§5.4)
        CHECK(events[1].data == "are you there");
        CHECK(events[2].data == "fragmented \xc3\xa9");
        CHECK(events[3].kind == ws::opcode::binary);
        CHECK(events[3].data.size() == 70000);
        CHECK(events[4].data.empty());
        CHECK(events[5].type == ws::event_type::close);
        CHECK(events[5].code == 1000);
        CHECK(server.close_reason() == "bye");
        CHECK(server.state() == ws::state::closed);
        // The server answered the ping and echoed the close; the client reads both.
        const std::string answer = take(server);
        ws::connection reader(ws::role::client, {}, rng(2));
        const auto back = feed(reader, answer);
        REQUIRE(back.size() == 2);
        CHECK(back[0].type == ws::event_type::pong);
        CHECK(back[0].data == "are you there");
        CHECK(back[1].type == ws::event_type::close);
        CHECK(back[1].code == 1000);
    }
    // The client that started the close sees the echo and is closed, sending nothing.
    ws::connection server(ws::role::server);
    REQUIRE_FALSE(server.write_close(1001));
    const auto events = feed(client, take(server));
    REQUIRE(events.size() == 1);
    CHECK(events[0].code == 1001);
    CHECK(client.state() == ws::state::closed);
    CHECK(client.output().empty());
    CHECK(client.write_message(ws::opcode::text, "late") == ws::error::closed);
}

TEST_CASE("every protocol error fails the connection with its close code", "[websocket][connection]") {
    struct bad {
        const char* what;
        std::string wire;
        ws::error expected;
        std::uint16_t code;
        ws::limits limits = {};
    };
    const std::string huge_len = raw({0x82, 0xff, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    ws::limits small;
    small.max_frame = 1000;
    small.max_message = 1500;
    const bad cases[] = {
        {"unmasked client frame", frame(0x81, "x", false), ws::error::bad_masking, 1002},
        {"reserved opcode", frame(0x83, ""), ws::error::reserved_opcode, 1002},
        {"RSV1", frame(0xc1, "x"), ws::error::reserved_bits, 1002},
        {"continuation first", frame(0x80, "x"), ws::error::unexpected_continuation, 1002},
        {"text inside fragments", frame(0x01, "a") + frame(0x81, "b"), ws::error::expected_continuation, 1002},
        {"fragmented ping", frame(0x09, ""), ws::error::fragmented_control, 1002},
        {"invalid UTF-8", frame(0x81, "\xff"), ws::error::invalid_utf8, 1007},
        {"UTF-8 open at the end", frame(0x81, "\xe2\x82"), ws::error::invalid_utf8, 1007},
        {"invalid UTF-8 in a first fragment", frame(0x01, "ok \xed\xa0\x80"), ws::error::invalid_utf8, 1007},
        {"one-byte close", frame(0x88, "\x03"), ws::error::bad_close_payload, 1002},
        {"close code 1005", frame(0x88, raw({0x03, 0xed})), ws::error::bad_close_payload, 1002},
        {"close code 999", frame(0x88, raw({0x03, 0xe7})), ws::error::bad_close_payload, 1002},
        {"close reason not UTF-8", frame(0x88, raw({0x03, 0xe8, 0xff})), ws::error::invalid_utf8, 1007},
        {"frame over the limit", frame(0x82, std::string(1001, 'x')), ws::error::frame_too_big, 1009, small},
        {"message over the limit", frame(0x02, std::string(1000, 'x')) + frame(0x80, std::string(501, 'x')),
         ws::error::message_too_big, 1009, small},
        {"2^52-byte frame", huge_len, ws::error::frame_too_big, 1009},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        ws::connection server(ws::role::server, c.limits);
        const auto events = feed(server, c.wire);
        REQUIRE_FALSE(events.empty());
        CHECK(events.back().type == ws::event_type::error);
        CHECK(server.error() == c.expected);
        CHECK(server.state() == ws::state::closed);
        // The close frame with the code went out, and nothing is read after it.
        ws::connection peer(ws::role::client, {}, rng(3));
        const auto reply = feed(peer, take(server));
        REQUIRE(reply.size() == 1);
        CHECK(reply[0].type == ws::event_type::close);
        CHECK(reply[0].code == c.code);
        const std::string after_close = frame(0x81, "ignored");
        std::string_view more = after_close;
        CHECK(server.next(more) == ws::event_type::need_more);
        CHECK(more.empty());
    }
}

TEST_CASE("invalid UTF-8 fails fast in the middle of a fragmented message", "[websocket][connection]") {
    ws::connection server(ws::role::server);
    // The bad byte is in the first fragment; the second never needs to arrive.
    const auto events = feed(server, frame(0x01, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80"));
    REQUIRE(events.size() == 1);
    CHECK(events[0].type == ws::event_type::error);
    CHECK(server.error() == ws::error::invalid_utf8);
}

TEST_CASE("a close without a code is reported as 1005 and answered without one", "[websocket][connection]") {
    ws::connection server(ws::role::server);
    const auto events = feed(server, frame(0x88, ""));
    REQUIRE(events.size() == 1);
    CHECK(events[0].code == 1005);
    CHECK(take(server) == raw({0x88, 0x00}));
}

TEST_CASE("the close reason is the peer's, kept after the close and absent when invalid", "[websocket][connection]") {
    ws::connection server(ws::role::server);
    // A ping before the close and one after it: nothing after the close is read (§5.5.1).
    const auto events = feed(server, frame(0x89, "ping") + frame(0x88, raw({0x03, 0xe8}) + "bye") + frame(0x89, "late"));
    REQUIRE(events.size() == 2);
    CHECK(server.close_reason() == "bye");
    ws::connection bad(ws::role::server);
    CHECK(feed(bad, frame(0x88, raw({0x03, 0xe8, 0xff}))).at(0).type == ws::event_type::error);
    CHECK(bad.close_reason().empty());  // a reason that is not UTF-8 is not handed on
    ws::connection unopened(ws::role::server);
    CHECK(feed(unopened, frame(0x89, "a ping payload")).size() == 1);
    CHECK(unopened.close_reason().empty());  // a control payload is not a close reason
}

TEST_CASE("local misuse is refused without breaking the connection", "[websocket][connection]") {
    ws::connection server(ws::role::server);
    CHECK(server.write_message(ws::opcode::ping, "x") == ws::error::invalid_state);
    CHECK(server.write_ping(std::string(126, 'x')) == ws::error::invalid_state);
    CHECK(server.write_close(1005) == ws::error::invalid_close_code);
    CHECK(server.write_close(1000, std::string(124, 'x')) == ws::error::invalid_state);
    CHECK(server.write_close(1000, "\xff") == ws::error::invalid_utf8);
    CHECK(server.state() == ws::state::open);
    CHECK(server.output().empty());
    ws::connection client(ws::role::client);  // no random source for mask keys
    CHECK(client.error() == ws::error::invalid_state);
    CHECK(client.write_message(ws::opcode::text, "x") == ws::error::closed);
    // A server's data frame header for a gathered write.
    char head[ws::max_header_size];
    CHECK(std::string(head, server.frame_header_for(ws::opcode::binary, 65536, head)) ==
          raw({0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}));
}

TEST_CASE("data() is empty for events that carry none, never a stale view", "[websocket][connection]") {
    // Found by fuzz/websocket_frames.cpp: after a message, a close event left data()
    // viewing the message buffer, which a later frame could reallocate.
    ws::connection server(ws::role::server);
    std::string_view input;
    const std::string wire = frame(0x81, "a message") + frame(0x88, raw({0x03, 0xe8}));
    input = wire;
    CHECK(server.next(input) == ws::event_type::message);
    CHECK(server.data() == "a message");
    CHECK(server.next(input) == ws::event_type::close);
    CHECK(server.data().empty());
}

TEST_CASE("writing fragments out of order is a local error, not a broken stream", "[websocket][connection]") {
    ws::connection client(ws::role::client, {}, rng(3));
    CHECK(client.write_fragment(ws::opcode::text, "no first", false, false) == ws::error::invalid_state);
    CHECK(client.write_fragment(ws::opcode::ping, "control", true, false) == ws::error::invalid_state);
    REQUIRE_FALSE(client.write_fragment(ws::opcode::binary, "a", true, false));
    CHECK(client.sending_fragments());
    // §5.4: "the fragments of one message MUST NOT be interleaved between the fragments of another message"
    CHECK(client.write_message(ws::opcode::text, "in between") == ws::error::invalid_state);
    CHECK(client.write_fragment(ws::opcode::text, "second first", true, false) == ws::error::invalid_state);
    REQUIRE_FALSE(client.write_ping("pings may"));
    REQUIRE_FALSE(client.write_fragment(ws::opcode::binary, "b", false, true));
    CHECK_FALSE(client.sending_fragments());
    REQUIRE_FALSE(client.write_message(ws::opcode::text, "after"));
    ws::connection server(ws::role::server);
    const auto events = feed(server, take(client), 0);
    REQUIRE(events.size() == 3);  // nothing refused reached the wire
    CHECK(events[0].type == ws::event_type::ping);
    CHECK(events[1].data == "ab");
    CHECK(events[2].data == "after");
}

// Autobahn 2.x in spirit: the largest ping, pings with binary payloads, pongs nobody asked for.
TEST_CASE("pings of up to 125 bytes are answered in kind, unsolicited pongs are taken and ignored", "[websocket][connection]") {
    std::string binary_payload;
    for (int i = 0; i < 125; ++i) binary_payload.push_back(static_cast<char>(255 - i));
    for (const std::string& payload : {std::string(), std::string(125, '*'), binary_payload}) {
        INFO(payload.size() << " bytes");
        ws::connection server(ws::role::server);
        const auto events = feed(server, frame(0x89, payload) + frame(0x8a, "unsolicited") + frame(0x81, "still open"), 3);
        REQUIRE(events.size() == 3);
        CHECK(events[0].type == ws::event_type::ping);
        CHECK(events[0].data == payload);
        CHECK(events[1].type == ws::event_type::pong);  // §5.5.3: "A response to an unsolicited Pong frame is not expected"
        CHECK(events[2].data == "still open");
        ws::connection peer(ws::role::client, {}, rng(5));
        const auto reply = feed(peer, take(server));
        REQUIRE(reply.size() == 1);  // exactly one pong, for the ping; nothing for the pong
        CHECK(reply[0].type == ws::event_type::pong);
        CHECK(reply[0].data == payload);
    }
    ws::connection server(ws::role::server);
    const auto events = feed(server, frame(0x89, std::string(126, '*')));
    CHECK(server.error() == ws::error::control_too_long);
    CHECK(events.back().type == ws::event_type::error);
}

TEST_CASE("pings from a peer that never reads leave one pong queued, for the latest ping (RFC 6455 5.5.3)", "[websocket][connection]") {
    for (const ws::role role : {ws::role::server, ws::role::client}) {
        INFO((role == ws::role::server ? "server" : "client"));
        ws::connection c(role, {}, rng(3));
        const auto ping = [&](std::string_view payload) {
            // A server receives masked frames, a client unmasked ones.
            return role == ws::role::server ? frame(0x89, payload) : frame(0x89, payload, false);
        };
        std::string flood;
        for (int i = 0; i < 10000; ++i) flood += ping(std::to_string(i) + std::string(100, '.'));
        const auto events = feed(c, flood, 7);
        CHECK(events.size() == 10000);
        ws::connection peer(role == ws::role::server ? ws::role::client : ws::role::server, {}, rng(4));
        const auto answered = feed(peer, std::string(c.output()));
        REQUIRE(answered.size() == 1);  // before: 10,000 pongs, about the bytes received
        CHECK(answered[0].data == "9999" + std::string(100, '.'));
    }
}

TEST_CASE("a coalesced pong keeps its place among queued frames, a taken one is not touched", "[websocket][connection]") {
    ws::connection server(ws::role::server);
    feed(server, frame(0x89, "aaaa"));
    REQUIRE_FALSE(server.write_message(ws::opcode::text, "after the first pong"));
    feed(server, frame(0x89, "bbbb"));  // same size: written over the first pong
    feed(server, frame(0x89, "cc"));    // another size, not the last frame: queued after
    feed(server, frame(0x89, "dd"));    // the last frame now: replaced
    ws::connection client(ws::role::client, {}, rng(6));
    auto events = feed(client, std::string(server.output()));
    REQUIRE(events.size() == 3);
    CHECK(events[0].data == "bbbb");
    CHECK(events[1].data == "after the first pong");
    CHECK(events[2].data == "dd");
    // Once the I/O layer took the bytes, the next ping gets a pong of its own.
    server.consume_output(3);  // part of the first frame is on its way
    feed(server, frame(0x89, "eeee"));
    std::string rest{server.output()};
    server.consume_output(rest.size());
    CHECK(rest.size() > 6);
    CHECK(rest.substr(rest.size() - 6) == std::string("\x8a\x04") + "eeee");
    std::string taken;
    feed(server, frame(0x89, "ffff"));
    server.take_output(taken);
    feed(server, frame(0x89, "gggg"));
    CHECK(taken == std::string("\x8a\x04") + "ffff");
    CHECK(server.output() == std::string("\x8a\x04") + "gggg");
}

// Autobahn 7.7.x and 7.9.x in spirit: every close code on the wire, valid or not.
TEST_CASE("close codes on the wire: valid ones are echoed, the rest fail with 1002", "[websocket][connection]") {
    const auto close_frame = [](int code) { return frame(0x88, raw({code >> 8, code & 0xff}) + "reason"); };
    for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999}) {
        INFO("code " << code);
        ws::connection server(ws::role::server);
        const auto events = feed(server, close_frame(code));
        REQUIRE(events.size() == 1);
        CHECK(events[0].type == ws::event_type::close);
        CHECK(events[0].code == code);
        CHECK(server.close_reason() == "reason");
        ws::connection peer(ws::role::client, {}, rng(6));
        CHECK(feed(peer, take(server)).at(0).code == code);  // §5.5.1: the reply echoes the code
    }
    for (int code : {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
        INFO("code " << code);
        ws::connection server(ws::role::server);
        const auto events = feed(server, close_frame(code));
        REQUIRE(events.size() == 1);
        CHECK(events[0].type == ws::event_type::error);
        CHECK(server.error() == ws::error::bad_close_payload);
        ws::connection peer(ws::role::client, {}, rng(6));
        CHECK(feed(peer, take(server)).at(0).code == 1002);
    }
}

// Autobahn 9.x in spirit: messages up to the 16 MiB default, in one frame or many.
TEST_CASE("messages of 4, 8 and 16 MiB pass at the default limit and one byte more fails", "[websocket][connection]") {
    ws::connection client(ws::role::client, {}, rng(8));
    const std::size_t mib = 1 << 20;
    for (std::size_t size : {4 * mib, 8 * mib, 16 * mib}) REQUIRE_FALSE(client.write_message(ws::opcode::binary, std::string(size, 'b')));
    for (int i = 0; i < 16; ++i) REQUIRE_FALSE(client.write_fragment(ws::opcode::text, std::string(mib, 't'), i == 0, i == 15));
    ws::connection server(ws::role::server);
    const auto events = feed(server, take(client), 64 * 1024);
    REQUIRE(events.size() == 4);
    CHECK(events[0].data.size() == 4 * mib);
    CHECK(events[1].data.size() == 8 * mib);
    CHECK(events[2].data.size() == 16 * mib);
    CHECK(events[3].data.size() == 16 * mib);
    CHECK(events[3].kind == ws::opcode::text);

    REQUIRE_FALSE(client.write_fragment(ws::opcode::binary, std::string(16 * mib, 'x'), true, false));
    REQUIRE_FALSE(client.write_fragment(ws::opcode::binary, "y", false, true));
    const auto over = feed(server, take(client), 64 * 1024);
    REQUIRE(over.size() == 1);
    CHECK(server.error() == ws::error::message_too_big);
}
