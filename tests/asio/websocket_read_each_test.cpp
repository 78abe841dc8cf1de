// websocket::stream::async_read_each over herald's in-memory test stream, with a
// client made of the sans-I/O core on the other side: every message handed out
// once, in order, never inside the initiating call; the replies to one read's
// messages corked into one write; a stop that loses nothing; the peer's close and
// protocol errors ended as async_read ends them.
#include <herald/asio/websocket.hpp>
#include <herald/test/stream.hpp>

#include <asio/bind_executor.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>

#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

using namespace herald;
namespace ws = herald::websocket;

namespace {

http::request each_upgrade() {
    return ws::upgrade_request("localhost", "/", "dGhlIHNhbXBsZSBub25jZQ==");
}

ws::connection each_client() {
    return ws::connection{ws::role::client, {}, [gen = std::mt19937(11)]() mutable { return static_cast<std::uint32_t>(gen()); }};
}

// What a client core makes of everything the server wrote after its 101: each
// message's payload, and "close <code>" for a close.
std::vector<std::string> each_replies(const std::string& wire) {
    auto client = each_client();
    std::vector<std::string> out;
    std::string_view input{wire};
    if (const auto end = wire.find("\r\n\r\n"); end != std::string::npos) input.remove_prefix(end + 4);
    for (auto ev = client.next(input); ev != ws::event_type::need_more; ev = client.next(input))
        out.push_back(ev == ws::event_type::close ? "close " + std::to_string(client.close_code()) : std::string(client.data()));
    return out;
}

// The frames of `messages` (binary) and then of a close 1000, as a client sends them.
std::string each_wire(const std::vector<std::string>& messages, bool close = true) {
    auto client = each_client();
    for (const auto& m : messages) REQUIRE_FALSE(client.write_message(ws::opcode::binary, m));
    if (close) REQUIRE_FALSE(client.write_close(1000, "done"));
    return std::string(client.output());
}

// A socket that counts the writes tried at once on it (the stream's flush).
struct counting_socket : asio::ip::tcp::socket {
    explicit counting_socket(asio::ip::tcp::socket s) : asio::ip::tcp::socket(std::move(s)) {}
    template <class ConstBufferSequence>
    std::size_t write_some(const ConstBufferSequence& buffers, std::error_code& ec) {
        ++*writes;
        return asio::ip::tcp::socket::write_some(buffers, ec);
    }
    std::shared_ptr<int> writes = std::make_shared<int>(0);
};

// A client that has sent 50 binary messages and a close in one segment, and the
// server's end of its socket: all of it lands in the server's first read.
struct burst_pair {
    explicit burst_pair(asio::io_context& io) : client(io) {
        asio::ip::tcp::acceptor acceptor{io, {asio::ip::make_address("127.0.0.1"), 0}};
        client.connect(acceptor.local_endpoint());
        for (int i = 0; i < 50; ++i) sent.push_back("message " + std::to_string(i));
        asio::write(client, asio::buffer(each_wire(sent)));
        server_socket = acceptor.accept();
    }
    // What the client reads to the server's close: every message echoed, in order,
    // then the close reply.
    void check_echoes() {
        std::string wire;
        std::error_code ec;
        (void)asio::read(client, asio::dynamic_buffer(wire), ec);
        auto replies = each_replies(wire);
        REQUIRE(replies.size() == sent.size() + 1);
        CHECK(replies.back() == "close 1000");
        replies.pop_back();
        CHECK(replies == sent);
    }
    asio::ip::tcp::socket client;
    asio::ip::tcp::socket server_socket{client.get_executor()};
    std::vector<std::string> sent;
};

}  // namespace

TEST_CASE("websocket async_read_each on a socket: the echoes to one read's messages go out in one write",
          "[asio][websocket]") {
    asio::io_context io;
    burst_pair pair{io};
    ws::stream<counting_socket> server{counting_socket{std::move(pair.server_socket)}};
    const auto writes = server.next_layer().writes;
    int writes_before = 0, received = 0;
    std::error_code result = asio::error::would_block;
    server.async_accept(each_upgrade(), [&](std::error_code accepted) {
        REQUIRE_FALSE(accepted);
        writes_before = *writes;
        server.async_read_each(
            [&](ws::opcode type, std::string_view message) {
                ++received;
                CHECK_FALSE(server.send(type, message));
            },
            [&](std::error_code ec) { result = ec; });
    });
    io.run();
    CHECK(received == static_cast<int>(pair.sent.size()));
    CHECK(result == ws::error::closed);
    // The echoes and the close reply together; not corked, they take 51.
    INFO(*writes - writes_before << " writes");
    CHECK(*writes - writes_before <= 2);
    pair.check_echoes();
}

TEST_CASE("websocket async_read_each: a backlog is handed out in order, never inside the call, with replies corked",
          "[asio][websocket]") {
    asio::io_context io;
    constexpr int count = 100000;
    std::vector<std::string> sent;
    for (int i = 0; i < count; ++i) sent.push_back(std::to_string(i));
    ws::stream<test::stream> server{test::stream{io.get_executor(), each_wire(sent)}};
    server.next_layer().read_size(64 * 1024);  // as much as the stream asks for
    std::vector<std::string> received;
    bool inside_initiation = false, ran_inside = false;
    std::error_code result = asio::error::would_block;
    std::size_t writes_before = 0;
    server.async_accept(each_upgrade(), [&](std::error_code accepted) {
        REQUIRE_FALSE(accepted);
        writes_before = server.next_layer().nwrite();  // the 101
        inside_initiation = true;
        server.async_read_each(
            [&](ws::opcode type, std::string_view message) {  // void: never stops
                ran_inside = ran_inside || inside_initiation;
                CHECK(type == ws::opcode::binary);
                received.emplace_back(message);
                CHECK_FALSE(server.send(type, message));
            },
            [&](std::error_code ec) {
                ran_inside = ran_inside || inside_initiation;
                result = ec;
            });
        inside_initiation = false;
    });
    io.run();
    CHECK_FALSE(ran_inside);  // Asio's rule, for the messages as for the completion
    CHECK(result == ws::error::closed);
    CHECK(received == sent);
    auto replies = each_replies(server.next_layer().str());
    REQUIRE(replies.size() == sent.size() + 1);
    CHECK(replies.back() == "close 1000");  // the peer's close answered
    replies.pop_back();
    CHECK(replies == sent);
    // Each read (read_size, 16 KiB) carries about 1,500 messages: their echoes
    // leave in one write per read, not one each.
    const std::size_t writes = server.next_layer().nwrite() - writes_before;
    INFO(writes << " writes, " << server.next_layer().nread() << " reads");
    CHECK(writes <= server.next_layer().nread());
    CHECK(writes < 100);
}

TEST_CASE("websocket async_read_each: messages cut anywhere across reads come whole, once each", "[asio][websocket]") {
    asio::io_context io;
    const std::vector<std::string> sent{"", "a", std::string(125, 'b'), std::string(126, 'c'), std::string(70000, 'd'), "e"};
    ws::stream<test::stream> server{test::stream{io.get_executor(), each_wire(sent)}};
    server.next_layer().read_size(GENERATE(1, 2, 3, 7, 125, 4096));
    std::vector<std::string> received;
    std::error_code result = asio::error::would_block;
    server.async_accept(each_upgrade(), [&](std::error_code) {
        server.async_read_each([&](ws::opcode, std::string_view message) { received.emplace_back(message); },
                               [&](std::error_code ec) { result = ec; });
    });
    io.run();
    CHECK(result == ws::error::closed);
    CHECK(received == sent);
}

TEST_CASE("websocket async_read_each: returning false stops after that message, and the rest waits for the next read",
          "[asio][websocket]") {
    asio::io_context io;
    const std::vector<std::string> sent{"1", "2", "3", "4", "5"};
    ws::stream<test::stream> server{test::stream{io.get_executor(), each_wire(sent)}};  // all in one read
    std::vector<std::string> received;
    std::vector<std::error_code> results;
    std::string one;
    bool inside_initiation = false, ran_inside = false;
    server.async_accept(each_upgrade(), [&](std::error_code) {
        server.async_read_each(
            [&](ws::opcode type, std::string_view message) {
                received.emplace_back(message);
                (void)server.send(type, message);
                return message != "2";
            },
            [&](std::error_code stopped) {
                results.push_back(stopped);
                // A plain read takes the next one; a second loop the rest.
                server.async_read(one, [&](std::error_code ec, ws::opcode) {
                    results.push_back(ec);
                    received.push_back("read " + one);
                    inside_initiation = true;  // "4" and "5" are buffered already
                    server.async_read_each(
                        [&](ws::opcode, std::string_view message) {
                            ran_inside = ran_inside || inside_initiation;
                            received.emplace_back(message);
                            return true;
                        },
                        [&](std::error_code ec2) { results.push_back(ec2); });
                    inside_initiation = false;
                });
            });
    });
    io.run();
    CHECK(received == std::vector<std::string>{"1", "2", "read 3", "4", "5"});
    CHECK_FALSE(ran_inside);
    REQUIRE(results.size() == 3);
    CHECK_FALSE(results[0]);
    CHECK_FALSE(results[1]);
    CHECK(results[2] == ws::error::closed);
    // The echoes given before the stop went out although nothing else was written.
    const auto replies = each_replies(server.next_layer().str());
    REQUIRE(replies.size() >= 2);
    CHECK(replies[0] == "1");
    CHECK(replies[1] == "2");
}

TEST_CASE("websocket async_read_each: a protocol error after good messages ends it with the error and close 1002",
          "[asio][websocket]") {
    asio::io_context io;
    const std::string wire = each_wire({"fine"}, false) + "\x81\x02hi";  // a client frame must be masked
    ws::stream<test::stream> server{test::stream{io.get_executor(), wire}};
    std::vector<std::string> received;
    std::error_code result;
    server.async_accept(each_upgrade(), [&](std::error_code) {
        server.async_read_each(
            [&](ws::opcode type, std::string_view message) {
                received.emplace_back(message);
                (void)server.send(type, message);
            },
            [&](std::error_code ec) { result = ec; });
    });
    io.run();
    CHECK(received == std::vector<std::string>{"fine"});
    CHECK(result == ws::error::bad_masking);
    // The echo corked before the error still goes out, ahead of the close.
    CHECK(each_replies(server.next_layer().str()) == std::vector<std::string>{"fine", "close 1002"});
}

TEST_CASE("websocket async_read_each: the messages are handed out on the completion handler's strand", "[asio][websocket]") {
    asio::io_context io;
    auto strand = asio::make_strand(io);
    ws::stream<test::stream> server{test::stream{io.get_executor(), each_wire({"a", "b", "c"})}};
    int on_strand = 0, messages = 0;
    bool completed_on_strand = false;
    server.async_accept(each_upgrade(), [&](std::error_code) {
        server.async_read_each(
            [&](ws::opcode, std::string_view) {
                ++messages;
                on_strand += strand.running_in_this_thread() ? 1 : 0;
            },
            asio::bind_executor(strand, [&](std::error_code) { completed_on_strand = strand.running_in_this_thread(); }));
    });
    io.run();
    CHECK(messages == 3);
    CHECK(on_strand == 3);
    CHECK(completed_on_strand);
}

TEST_CASE("websocket async_read_each on a socket: a stop keeps the rest of the thread buffer's read for the next loop",
          "[asio][websocket]") {
    asio::io_context io;
    burst_pair pair{io};
    ws::stream<asio::ip::tcp::socket> server{std::move(pair.server_socket)};
    std::vector<std::string> received;
    std::vector<std::error_code> results;
    std::function<void()> loop = [&] {
        server.async_read_each(
            [&](ws::opcode type, std::string_view message) {
                received.emplace_back(message);
                CHECK_FALSE(server.send(type, message));
                return received.size() % 10 != 0;  // a stop after every tenth
            },
            [&](std::error_code ec) {
                results.push_back(ec);
                if (!ec) loop();
            });
    };
    server.async_accept(each_upgrade(), [&](std::error_code) { loop(); });
    io.run();
    CHECK(received == pair.sent);
    REQUIRE(results.size() == 6);  // five stops, then the peer's close
    CHECK(results.back() == ws::error::closed);
    pair.check_echoes();
}

TEST_CASE("websocket async_read_each: a stop with nothing read after it still writes the echoes it corked",
          "[asio][websocket]") {
    asio::io_context io;
    ws::stream<test::stream> server{test::stream{io.get_executor(), each_wire({"1", "2", "3"}, false)}};
    bool stopped = false;
    server.async_accept(each_upgrade(), [&](std::error_code) {
        server.async_read_each(
            [&](ws::opcode type, std::string_view message) {
                CHECK_FALSE(server.send(type, message));
                return message != "3";  // the read's last: nothing buffered after it
            },
            [&](std::error_code ec) { stopped = !ec; });  // and no read after it
    });
    io.run();
    CHECK(stopped);
    CHECK(each_replies(server.next_layer().str()) == std::vector<std::string>{"1", "2", "3"});
}

TEST_CASE("websocket async_read_each: an on_message that throws leaves the stream able to send and to read the rest",
          "[asio][websocket]") {
    asio::io_context io;
    ws::stream<test::stream> server{test::stream{io.get_executor(), each_wire({"1", "2", "3"})}};
    std::vector<std::string> received;
    const auto on_message = [&](ws::opcode type, std::string_view message) {
        received.emplace_back(message);
        CHECK_FALSE(server.send(type, message));
        if (message == "2") throw std::runtime_error("handler failed");
    };
    server.async_accept(each_upgrade(), [&](std::error_code) { server.async_read_each(on_message, [](std::error_code) {}); });
    CHECK_THROWS_WITH(io.run(), "handler failed");
    CHECK_FALSE(server.send(ws::opcode::text, "after"));
    io.restart();
    io.run();  // nothing is left corked: the echoes and "after" are written with no read
    CHECK(each_replies(server.next_layer().str()) == std::vector<std::string>{"1", "2", "after"});
    std::error_code result;
    server.async_read_each(on_message, [&](std::error_code ec) { result = ec; });
    io.restart();
    io.run();
    CHECK(received == std::vector<std::string>{"1", "2", "3"});
    CHECK(result == ws::error::closed);
    CHECK(each_replies(server.next_layer().str()) == std::vector<std::string>{"1", "2", "after", "3", "close 1000"});
}
