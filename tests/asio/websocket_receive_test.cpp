// websocket::stream on a socket reads through one receive buffer per thread
// (impl/websocket_read_op.hpp): many connections served by one thread, their
// frames cut anywhere across reads and several messages in one read, must each
// get exactly their own messages back, whole and in order, with or without a
// small read buffer kept (stream_options::small_read_buffer), read one message
// per async_read or all a read brought per async_read_each.
#include "../support/websocket_wire.hpp"
#include "support.hpp"

#include <herald/asio/websocket.hpp>
#include <herald/websocket/connection.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/read_until.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace herald;
namespace ws = herald::websocket;
using herald::test::rng;
using herald::test::take;

namespace {

using socket_stream = ws::stream<asio::ip::tcp::socket>;

// An echo server on a thread of its own: each accepted socket becomes a stream
// that reads the upgrade itself, then sends every message back.
struct echo_server {
    echo_server(const ws::stream_options& stream_options, bool read_each) : options(stream_options), each(read_each) {
        accept();
        thread = std::thread([this] { io.run(); });
    }
    ~echo_server() {
        io.stop();
        thread.join();
    }
    void accept() {
        acceptor.async_accept([this](std::error_code ec, asio::ip::tcp::socket socket) {
            if (ec) return;
            auto s = std::make_shared<socket_stream>(std::move(socket), options);
            s->async_accept([s, each = each](std::error_code accepted) {
                if (!accepted) each ? echo_each(s) : echo(s);
            });
            accept();
        });
    }
    static void echo(const std::shared_ptr<socket_stream>& s) {
        auto message = std::make_shared<std::string>();
        s->async_read(*message, [s, message](std::error_code ec, ws::opcode type) {
            if (ec) return;
            s->async_write(type, *message, [message](std::error_code) {});
            echo(s);
        });
    }
    // A message the stream's queue refuses closes the stream: the client then
    // misses its echoes, and the test fails.
    static void echo_each(const std::shared_ptr<socket_stream>& s) {
        s->async_read_each(
            [s = s.get()](ws::opcode type, std::string_view message) {
                if (s->send(type, message)) s->async_close(1011, "echo refused", [](std::error_code) {});
            },
            [s](std::error_code) {});
    }
    unsigned short port() const { return acceptor.local_endpoint().port(); }

    ws::stream_options options;
    bool each;
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor{io, {asio::ip::make_address("127.0.0.1"), 0}};
    std::thread thread;
};

// A client made of a blocking socket and herald's sans-I/O connection, which
// frames (masked) what it sends and parses what comes back.
struct client {
    client(asio::io_context& io, unsigned short port, unsigned seed) : socket(io), conn(ws::role::client, {}, rng(seed)) {
        socket.connect({asio::ip::make_address("127.0.0.1"), port});
        asio::write(socket, asio::buffer(std::string("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                                                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                                     "Sec-WebSocket-Version: 13\r\n\r\n")));
        asio::streambuf head;
        const std::size_t n = asio::read_until(socket, head, "\r\n\r\n");
        REQUIRE(std::string(asio::buffers_begin(head.data()), asio::buffers_begin(head.data()) + 12) == "HTTP/1.1 101");
        REQUIRE(head.size() == n);  // nothing after the 101 yet
    }
    void queue(const std::string& payload) {
        REQUIRE_FALSE(conn.write_message(ws::opcode::binary, payload));
        sent.push_back(payload);
        wire += take(conn);
    }
    // Reads until as many messages came back as were sent.
    std::vector<std::string> read_echoes() {
        std::vector<std::string> echoes;
        testing::read_ws_messages(socket, conn, echoes, sent.size());
        return echoes;
    }

    asio::ip::tcp::socket socket;
    ws::connection conn;
    std::vector<std::string> sent;
    std::string wire;  // framed, not yet written
    std::size_t written = 0;
};

}  // namespace

TEST_CASE("websocket stream on a socket: connections sharing one thread's receive buffer each get their own messages, "
          "cut anywhere across reads",
          "[asio][websocket]") {
    // Without a kept read buffer (the default), and with one: reads then go back
    // and forth between the small buffer and the shared one as message sizes change.
    ws::stream_options options;
    options.small_read_buffer = GENERATE(0, 1024);
    const bool each = GENERATE(false, true);
    INFO((each ? "async_read_each" : "async_read") << ", small_read_buffer " << options.small_read_buffer);
    echo_server server(options, each);
    asio::io_context io;
    constexpr int count = 20;
    std::vector<std::unique_ptr<client>> clients;
    for (int i = 0; i < count; ++i) {
        clients.push_back(std::make_unique<client>(io, server.port(), static_cast<unsigned>(i + 1)));
        auto& c = *clients.back();
        // Every length form (RFC 6455 §5.2), bytes that name the client, and bursts
        // of small messages that arrive several to a read.
        for (const std::size_t size : {0, 1, 125, 126, 1000, 65535, 65536, 70000 + i, 3, 2, 1, 300000})
            c.queue(std::string(size, static_cast<char>('a' + i)) + std::to_string(i));
    }
    // The clients' bytes interleaved, each in pieces of its own size (1 byte to a
    // whole read's worth), so the server's reads end inside headers, payloads and
    // between messages of every connection in turn.
    for (bool more = true; more;) {
        more = false;
        for (int i = 0; i < count; ++i) {
            auto& c = *clients[i];
            if (c.written == c.wire.size()) continue;
            const std::size_t small = c.written < 20000 ? 1 + c.written % 13 : 997;  // cut headers, then payloads
            const std::size_t piece = i % 4 == 0 ? small : i % 4 == 1 ? 100 + i : i % 4 == 2 ? 4093 : 300000;
            const std::size_t n = std::min(piece, c.wire.size() - c.written);
            asio::write(c.socket, asio::buffer(c.wire.data() + c.written, n));
            c.written += n;
            more = more || c.written < c.wire.size();
        }
    }
    for (int i = 0; i < count; ++i) {
        INFO("client " << i);
        CHECK(clients[i]->read_echoes() == clients[i]->sent);
    }
}
