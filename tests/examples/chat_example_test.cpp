// examples/chat_server driven by herald's WebSocket client over loopback: rooms,
// join and leave, broadcast, history after a reconnect, and the limits.
#include "../support/process.hpp"

#include <herald/asio/websocket.hpp>
#include <herald/asio/websocket_connect.hpp>

#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>

#include <catch2/catch.hpp>

#include <deque>
#include <functional>
#include <random>

using namespace herald;
namespace ws = herald::websocket;
using test_support::child_server;

namespace {

// One chat member on its own io_context, stepped synchronously by the test.
class member {
public:
    // `host_field`: the Host the upgrade names, when not 127.0.0.1:port (a page whose
    // domain resolves to this machine names its own).
    member(unsigned short port, const std::string& query, const ws::stream_options& options = {}, const std::string& host_field = {})
        : ws_(asio::ip::tcp::socket{io_}, [gen = std::mt19937(std::random_device{}())]() mutable { return static_cast<std::uint32_t>(gen()); },
              options) {
        if (host_field.empty()) {
            ws::async_connect(ws_, "ws://127.0.0.1:" + std::to_string(port) + "/ws" + query, [this](std::error_code ec) { connected_ = ec; });
        } else {
            ws_.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
            ws_.async_handshake(host_field, "/ws" + query, [this](std::error_code ec) { connected_ = ec; });
        }
        io_.run_for(std::chrono::seconds(5));
        io_.restart();
    }

    std::error_code connected() const { return connected_; }

    void say(const std::string& text) {
        ws_.async_write(ws::opcode::text, text, [](std::error_code) {});
        io_.run_for(std::chrono::milliseconds(100));
        io_.restart();
    }

    // The next message, or what ended the connection ("error: ...").
    std::string next() {
        std::string out;
        std::error_code result = asio::error::would_block;
        ws_.async_read(out, [&](std::error_code ec, ws::opcode) { result = ec; });
        io_.run_for(std::chrono::seconds(5));
        io_.restart();
        if (result == asio::error::would_block) {  // timed out: end the read before `out` goes
            std::error_code ignored;
            ws_.next_layer().close(ignored);
            io_.run_for(std::chrono::seconds(1));
            io_.restart();
            return "error: timed out";
        }
        if (result) return "error: " + result.message();
        return out;
    }

    // Sends `count` copies of `text` at once, then reads until one message contains
    // `needle` (or everything sent came back and 5 s more passed). -> that message.
    std::string flood(int count, const std::string& text, const std::string& needle) {
        for (int i = 0; i < count; ++i) ws_.async_write(ws::opcode::text, text, [](std::error_code) {});
        std::string found, buffer;
        std::function<void()> read_one = [&] {
            ws_.async_read(buffer, [&](std::error_code ec, ws::opcode) {
                if (ec) return;
                if (buffer.find(needle) != std::string::npos) return void(found = buffer);
                read_one();
            });
        };
        read_one();
        for (int i = 0; i < 300 && found.empty(); ++i) io_.run_for(std::chrono::milliseconds(100));
        std::error_code ignored;
        if (found.empty()) ws_.next_layer().close(ignored);
        io_.run_for(std::chrono::milliseconds(200));
        io_.restart();
        return found;
    }

    // Skips messages until one contains `needle`; returns it.
    std::string until(const std::string& needle) {
        for (int i = 0; i < 20; ++i) {
            std::string m = next();
            if (m.find(needle) != std::string::npos || m.rfind("error:", 0) == 0) return m;
        }
        return "not seen: " + needle;
    }

    std::uint16_t close_code() const { return ws_.protocol().close_code(); }

    void leave() {
        ws_.async_close(1000, "bye", [](std::error_code) {});
        std::string ignored;
        ws_.async_read(ignored, [](std::error_code, ws::opcode) {});
        io_.run_for(std::chrono::seconds(5));
        io_.restart();
    }

private:
    asio::io_context io_;
    ws::stream<asio::ip::tcp::socket> ws_;
    std::error_code connected_ = asio::error::would_block;
};

}  // namespace

TEST_CASE("chat_server: members of a room hear each other, and only they", "[examples][chat]") {
    child_server server{HERALD_CHAT_SERVER, {}};
    member ann{server.port(), "?room=kitchen&name=ann"};
    REQUIRE_FALSE(ann.connected());
    const std::string welcome_ann = ann.next();
    CHECK(welcome_ann.rfind(R"({"type":"welcome","epoch":")", 0) == 0);
    CHECK(welcome_ann.find(R"(","room":"kitchen","name":"ann","members":["ann"],"history":[]})") != std::string::npos);

    member bob{server.port(), "?room=kitchen&name=bob"};
    CHECK(bob.until("welcome").find(R"("members":[)") != std::string::npos);
    CHECK(ann.next() == R"({"type":"join","room":"kitchen","name":"bob"})");

    member eve{server.port(), "?room=garden&name=eve"};
    CHECK(eve.until("welcome").find(R"("room":"garden")") != std::string::npos);

    bob.say("hi \"ann\" \xe2\x98\x95");
    const std::string said = R"({"type":"message","id":1,"room":"kitchen","name":"bob","text":"hi \"ann\" )" "\xe2\x98\x95" R"("})";
    CHECK(ann.next() == said);
    CHECK(bob.next() == said);  // the sender hears its own line, in the room's order

    eve.say("anyone?");
    CHECK(eve.next().find(R"("text":"anyone?")") != std::string::npos);
    ann.say("/who");
    const std::string who = ann.next();
    CHECK(who.find(R"("type":"who")") != std::string::npos);
    CHECK(who.find(R"("ann")") != std::string::npos);
    CHECK(who.find(R"("bob")") != std::string::npos);
    CHECK(who.find(R"("eve")") == std::string::npos);  // not in this room, and never heard "anyone?"

    // Moving rooms: the old room hears the leave, the new one the join.
    bob.say("/join garden");
    CHECK(ann.next() == R"({"type":"leave","room":"kitchen","name":"bob"})");
    CHECK(eve.until("join") == R"({"type":"join","room":"garden","name":"bob"})");
    const std::string welcome = bob.until("welcome");
    CHECK(welcome.find(R"("room":"garden")") != std::string::npos);
    CHECK(welcome.find(R"("text":"anyone?")") != std::string::npos);  // the room's history comes with it

    bob.say("/join no spaces allowed");
    CHECK(bob.next().find(R"("type":"error")") != std::string::npos);
    eve.leave();
    CHECK(bob.next() == R"({"type":"leave","room":"garden","name":"eve"})");
}

TEST_CASE("chat_server: a member who reconnects gets the messages said meanwhile", "[examples][chat]") {
    child_server server{HERALD_CHAT_SERVER, {}};
    member ann{server.port(), "?room=r&name=ann"};
    (void)ann.next();
    ann.say("before");
    {
        member bob{server.port(), "?room=r&name=bob"};
        CHECK(bob.until("welcome").find(R"("text":"before")") != std::string::npos);
    }  // bob's connection drops without a close frame
    CHECK(ann.until("leave").find(R"("name":"bob")") != std::string::npos);
    ann.say("while bob was away");
    member bob{server.port(), "?room=r&name=bob"};
    const std::string welcome = bob.until("welcome");
    CHECK(welcome.find(R"("id":1,)") != std::string::npos);
    CHECK(welcome.find(R"("id":2,"room":"r","name":"ann","text":"while bob was away")") != std::string::npos);

    // A room that empties loses its history, but its ids never start again: a page
    // that skips ids it has shown must not skip new messages.
    auto id_of = [](const std::string& m) { return std::stoul(m.substr(m.find("\"id\":") + 5)); };
    unsigned long first = 0;
    {
        member solo{server.port(), "?room=solo&name=s"};
        (void)solo.next();
        solo.say("one");
        first = id_of(solo.next());
        solo.leave();
    }
    member solo{server.port(), "?room=solo&name=s"};
    CHECK(solo.next().find(R"("history":[])") != std::string::npos);
    solo.say("two");
    CHECK(id_of(solo.next()) > first);
}

TEST_CASE("chat_server: bad names, oversize messages and foreign origins are refused", "[examples][chat]") {
    child_server server{HERALD_CHAT_SERVER, {}};
    member bad{server.port(), "?room=r&name=has%20space"};
    CHECK(bad.connected() == ws::error::not_switching);  // 400 before any upgrade

    member big{server.port(), "?room=r&name=big"};
    (void)big.next();
    big.say(std::string(5000, 'x'));
    CHECK(big.next() == "error: " + std::error_code(ws::error::closed).message());
    CHECK(big.close_code() == 1009);

    ws::stream_options foreign;
    foreign.client.origin = "http://evil.example";
    member stranger{server.port(), "?room=r&name=s", foreign};
    CHECK(stranger.connected() == ws::error::not_switching);  // 403 (RFC 6455 §10.2)
    // DNS rebinding: evil.example now resolves to 127.0.0.1, so its page's Origin and
    // the Host its browser sends agree; only a configured list tells them apart.
    const std::string rebound = "evil.example:" + std::to_string(server.port());
    ws::stream_options rebinding;
    rebinding.client.origin = "http://" + rebound;
    member rebinder{server.port(), "?room=r&name=rb", rebinding, rebound};
    CHECK(rebinder.connected() == ws::error::not_switching);  // before: accepted, Origin matched Host
    ws::stream_options same;
    same.client.origin = "http://127.0.0.1:" + std::to_string(server.port());
    member local{server.port(), "?room=r&name=local", same};
    CHECK_FALSE(local.connected());
    ws::stream_options by_name;
    by_name.client.origin = "http://localhost:" + std::to_string(server.port());
    member named{server.port(), "?room=r&name=named", by_name};
    CHECK_FALSE(named.connected());
}

TEST_CASE("chat_server: --allow-origin replaces the default list", "[examples][chat]") {
    child_server server{HERALD_CHAT_SERVER, {"--allow-origin", "https://chat.example,https://www.chat.example"}};
    ws::stream_options allowed;
    allowed.client.origin = "https://www.chat.example";
    member in{server.port(), "?room=r&name=in", allowed};
    CHECK_FALSE(in.connected());
    ws::stream_options own;
    own.client.origin = "http://127.0.0.1:" + std::to_string(server.port());
    member out{server.port(), "?room=r&name=out", own};
    CHECK(out.connected() == ws::error::not_switching);
}

TEST_CASE("chat_server: a member who never reads is dropped with 1008 and then cut off", "[examples][chat]") {
    child_server server{HERALD_CHAT_SERVER, {}};
    asio::io_context io;
    asio::ip::tcp::socket slow{io};
    slow.open(asio::ip::tcp::v4());
    slow.set_option(asio::socket_base::receive_buffer_size(4096));  // fills soon
    slow.connect(server.endpoint());
    const std::string upgrade = "GET /ws?room=r&name=slow HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                "Sec-WebSocket-Version: 13\r\n\r\n";
    asio::write(slow, asio::buffer(upgrade));
    // ... and from here on it reads nothing, while the room gets 8 MB of messages.
    member loud{server.port(), "?room=r&name=loud"};
    REQUIRE_FALSE(loud.connected());
    (void)loud.until("welcome");
    const std::string left = loud.flood(2000, std::string(4000, 'x'), R"("type":"leave")");
    CHECK(left == R"({"type":"leave","room":"r","name":"slow"})");  // out of the room once its queue passed 256 KiB

    // What the slow member finally reads: the backlog, then a close with 1008; and
    // the server does not wait for an answer past its 5 s.
    std::string wire;
    std::error_code ended;
    char chunk[65536];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (!ended && std::chrono::steady_clock::now() < deadline) {
        const std::size_t n = slow.read_some(asio::buffer(chunk), ended);
        wire.append(chunk, n);
    }
    CHECK((ended == asio::error::eof || ended == asio::error::connection_reset));
    ws::connection reader{ws::role::client, {.max_frame = 1 << 20, .max_message = 1 << 20}, [] { return 0u; }};
    std::string_view input{wire};
    REQUIRE(input.find("\r\n\r\n") != std::string_view::npos);
    input.remove_prefix(input.find("\r\n\r\n") + 4);
    std::uint16_t code = 0;
    for (auto ev = reader.next(input); ev != ws::event_type::need_more && ev != ws::event_type::error; ev = reader.next(input))
        if (ev == ws::event_type::close) code = reader.close_code();
    CHECK(code == 1008);
}
