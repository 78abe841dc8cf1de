// How herald ends a TLS connection: close_notify before the TCP close (RFC 8446
// §6.1) after a response that ends the connection, at the end of an SSE stream and
// after a WebSocket close handshake, so a client sees an end (asio::error::eof)
// and not a truncation (ssl::error::stream_truncated); and a client that never
// answers the close_notify holds nothing.
#include "server_thread.hpp"
#include "support.hpp"
#include "tls_support.hpp"

#include <herald/asio/server.hpp>
#include <herald/asio/sse.hpp>
#include <herald/asio/tls.hpp>
#include <herald/asio/websocket.hpp>

#include <asio/read_until.hpp>
#include <asio/write.hpp>

#include <catch2/catch.hpp>

#include <thread>

using namespace herald;
namespace ws = herald::websocket;
using test_support::localhost_certificate;

namespace {

using tls_server_type = http::basic_server<asio::io_context::executor_type, asio::strand<asio::io_context::executor_type>,
                                           tls::server_transport>;
using tls_socket = asio::ssl::stream<asio::ip::tcp::socket>;
using event_stream = sse::event_stream<tls_server_type::stream_type>;

// /events: an SSE stream of one event that the server then ends; an upgrade: a
// WebSocket that reads until the close; anything else: a short answer.
struct closing_server {
    explicit closing_server(const test_support::certificate& c)
        : server(io.get_executor(), [](const http::request& req, http::responder respond) { route(req, std::move(respond)); }, {},
                 tls::server_transport{testing::tls_server_context(c)}) {}
    static void route(const http::request& req, http::responder respond) {
        using connection = tls_server_type::connection_type;
        if (ws::is_upgrade(req)) {
            return respond.hand_off<connection>([](std::shared_ptr<connection> conn) {
                auto s = std::make_shared<ws::stream<tls_server_type::stream_type>>(std::move(conn->next_layer()),
                                                                                    ws::stream_options{}, conn->take_buffered());
                s->async_accept(conn->request(), [s](std::error_code ec) {
                    if (!ec) read_until_close(s);
                });
            });
        }
        if (req.path() != "/events") return respond({200, "text/plain", "the end\n"});
        respond.hand_off<connection>([](std::shared_ptr<connection> conn) {
            auto stream = std::make_shared<event_stream>(conn);
            std::error_code ignored;
            stream->send(sse::make_shared_event({"", "one", "1", std::nullopt}, ignored));
            stream->close_when_sent();
            stream->async_run([stream](std::error_code) {});
        });
    }
    template <class Stream>
    static void read_until_close(std::shared_ptr<Stream> s) {
        auto buffer = std::make_shared<std::string>();
        s->async_read(*buffer, [s, buffer](std::error_code ec, ws::opcode) {
            if (!ec) read_until_close(s);
        });
    }
    unsigned short port() const { return server.local_endpoint().port(); }

    asio::io_context io;
    tls_server_type server;
    testing::server_thread<tls_server_type> running{io, server};
};

// A TLS client made of blocking calls: the bytes herald sends, as they come.
struct raw_tls_client {
    explicit raw_tls_client(unsigned short port) {
        context = testing::tls_client_context();
        socket.emplace(io, *context);
        socket->lowest_layer().connect({asio::ip::make_address("127.0.0.1"), port});
        REQUIRE(tls::verify_host(*socket, "localhost"));
        socket->handshake(asio::ssl::stream_base::client);
    }
    void send(const std::string& bytes) { asio::write(*socket, asio::buffer(bytes)); }
    // Reads until the connection ends: -> everything read, and how it ended.
    std::pair<std::string, std::error_code> read_to_end() {
        std::string got;
        std::array<char, 4096> buffer;
        std::error_code ec;
        while (!ec) got.append(buffer.data(), socket->read_some(asio::buffer(buffer), ec));
        return {got, ec};
    }

    asio::io_context io;
    std::shared_ptr<asio::ssl::context> context;
    std::optional<tls_socket> socket;
};

bool eventually_no_connections(closing_server& s) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (s.server.connection_count() != 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return s.server.connection_count() == 0;
}

}  // namespace

TEST_CASE("tls close: a response that ends the connection is followed by close_notify", "[asio][tls]") {
    closing_server server{localhost_certificate()};
    raw_tls_client client{server.port()};
    client.send("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    const auto [got, end] = client.read_to_end();
    CHECK(got.ends_with("\r\n\r\nthe end\n"));
    CHECK(end == asio::error::eof);  // close_notify; a bare TCP close reads as stream_truncated
}

TEST_CASE("tls close: an SSE stream the server ends is followed by close_notify", "[asio][tls]") {
    closing_server server{localhost_certificate()};
    raw_tls_client client{server.port()};
    client.send("GET /events HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n");
    const auto [got, end] = client.read_to_end();
    CHECK(got.ends_with("id: 1\ndata: one\n\n"));
    CHECK(end == asio::error::eof);
}

TEST_CASE("tls close: the WebSocket close handshake is followed by close_notify", "[asio][tls]") {
    closing_server server{localhost_certificate()};
    raw_tls_client client{server.port()};
    client.send("GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    // A masked close frame, status 1000 (RFC 6455 §5.5.1), the mask all zeros.
    client.send(std::string("\x88\x82\0\0\0\0\x03\xe8", 8));
    const auto [got, end] = client.read_to_end();
    CHECK(got.starts_with("HTTP/1.1 101 "));
    CHECK(got.ends_with(std::string("\x88\x02\x03\xe8", 4)));  // the server's close, status 1000
    CHECK(end == asio::error::eof);
}

TEST_CASE("tls close: a client that never answers close_notify holds no connection", "[asio][tls][hostile]") {
    closing_server server{localhost_certificate()};
    raw_tls_client client{server.port()};
    client.send("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    // The client reads nothing and keeps its socket open: the server is not waiting for it.
    CHECK(eventually_no_connections(server));
    const auto [got, end] = client.read_to_end();
    CHECK(got.ends_with("the end\n"));
    CHECK(end == asio::error::eof);
}
