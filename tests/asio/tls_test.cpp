// TLS through herald's server and WebSocket client (herald::tls): a self-signed
// certificate the test makes, verification on, and the failures a deployment
// meets — a certificate from an authority the client does not trust, a name the
// certificate does not carry, plain HTTP to the TLS port, a handshake that never
// comes, a client that offers only TLS 1.1.
#include "../support/certificates.hpp"
#include "../support/process.hpp"
#include "server_thread.hpp"
#include "support.hpp"
#include "tls_support.hpp"

#include <herald/asio/server.hpp>
#include <herald/asio/tls.hpp>
#include <herald/asio/websocket.hpp>
#include <herald/asio/websocket_connect_tls.hpp>

#include <asio/read.hpp>
#include <asio/write.hpp>

#include <catch2/catch.hpp>

#include <random>
#include <thread>

using namespace herald;
namespace ws = herald::websocket;
using test_support::localhost_certificate;
using test_support::make_certificate;

namespace {

using tls_server_type = http::basic_server<asio::io_context::executor_type, asio::strand<asio::io_context::executor_type>,
                                           tls::server_transport>;
using tls_socket = asio::ssl::stream<asio::ip::tcp::socket>;

// An HTTPS server on its own thread: "hello over tls" at any path, and a
// WebSocket echo on an upgrade.
struct tls_server {
    explicit tls_server(const test_support::certificate& c, std::chrono::milliseconds handshake_timeout = std::chrono::seconds(10))
        : tls_server(testing::tls_server_context(c), handshake_timeout) {}
    explicit tls_server(std::shared_ptr<asio::ssl::context> ctx, std::chrono::milliseconds handshake_timeout = std::chrono::seconds(10))
        : context(std::move(ctx)),
          server(io.get_executor(),
                 [](const http::request& req, http::responder respond) {
                     if (!ws::is_upgrade(req)) return respond({200, "text/plain", "hello over tls\n"});
                     respond.hand_off<tls_server_type::connection_type>([](std::shared_ptr<tls_server_type::connection_type> conn) {
                         auto s = std::make_shared<ws::stream<tls_server_type::stream_type>>(std::move(conn->next_layer()),
                                                                                             ws::stream_options{}, conn->take_buffered());
                         s->async_accept(conn->request(), [s](std::error_code ec) {
                             if (!ec) echo(s);
                         });
                     });
                 },
                 {}, tls::server_transport{context, handshake_timeout}) {}
    template <class Stream>
    static void echo(std::shared_ptr<Stream> s) {
        auto buffer = std::make_shared<std::string>();
        s->async_read(*buffer, [s, buffer](std::error_code ec, ws::opcode type) {
            if (ec) return;
            s->async_write(type, *buffer, [s, buffer](std::error_code) { echo(s); });
        });
    }
    unsigned short port() const { return server.local_endpoint().port(); }

    asio::io_context io;
    std::shared_ptr<asio::ssl::context> context;
    tls_server_type server;
    testing::server_thread<tls_server_type> running{io, server};
};

std::shared_ptr<asio::ssl::context> client_context(const std::string& ca_file) {
    std::error_code ec;
    auto ctx = tls::make_client_context(ca_file, ec);
    REQUIRE_FALSE(ec);
    return ctx;
}

// Connects herald's wss:// client; -> the connect's error, and the echo of "over tls" when it worked.
std::pair<std::error_code, std::string> wss_echo(asio::ssl::context& ctx, const std::string& uri) {
    asio::io_context io;
    ws::stream<tls_socket> client{tls_socket{io, ctx}, [gen = std::mt19937(3)]() mutable { return static_cast<std::uint32_t>(gen()); }};
    std::error_code connected = asio::error::would_block;
    std::string echoed, rest;
    ws::async_connect(client, uri, [&](std::error_code ec) {
        connected = ec;
        if (ec) return;
        client.async_write(ws::opcode::text, "over tls", [](std::error_code) {});
        client.async_read(echoed, [&](std::error_code, ws::opcode) {
            client.async_close(1000, "", [](std::error_code) {});
            // The server's answer ends the close handshake at once (unread, the close
            // would wait out close_timeout).
            client.async_read(rest, [](std::error_code, ws::opcode) {});
        });
    });
    io.run_for(std::chrono::seconds(10));
    return {connected, echoed};
}

// A raw TCP connection to `port` that sends `bytes` and reads until the server
// closes (or 5 s pass): -> what it read, and whether the server closed.
std::pair<std::string, bool> raw_exchange(unsigned short port, const std::string& bytes) {
    asio::io_context io;
    asio::ip::tcp::socket socket{io};
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
    if (!bytes.empty()) asio::write(socket, asio::buffer(bytes));
    std::string got;
    bool closed = false;
    std::array<char, 4096> buf;
    std::function<void()> read = [&] {
        socket.async_read_some(asio::buffer(buf), [&](std::error_code ec, std::size_t n) {
            got.append(buf.data(), n);
            if (ec) closed = true;
            else read();
        });
    };
    read();
    io.run_for(std::chrono::seconds(5));
    return {got, closed};
}

}  // namespace

TEST_CASE("tls: herald's wss:// client and server echo, the certificate verified by name and by address",
          "[asio][tls]") {
    const auto& cert = localhost_certificate();
    tls_server server{cert};
    auto ctx = client_context(cert.cert);
    for (const std::string host : {"localhost", "127.0.0.1"}) {
        INFO(host);
        const auto [ec, echoed] = wss_echo(*ctx, "wss://" + host + ":" + std::to_string(server.port()) + "/echo");
        CHECK_FALSE(ec);
        CHECK(echoed == "over tls");
    }
    // A ws:// URI on a TLS stream is refused before any I/O.
    CHECK(wss_echo(*ctx, "ws://localhost:" + std::to_string(server.port()) + "/").first == ws::error::bad_uri);
}

TEST_CASE("tls: a certificate from an authority the client does not trust, or for another name, fails the handshake",
          "[asio][tls]") {
    const auto& cert = localhost_certificate();
    tls_server server{cert};
    // The system's authorities do not know the test's own.
    const auto [untrusted, _] = wss_echo(*client_context(""), "wss://localhost:" + std::to_string(server.port()) + "/");
    CHECK(untrusted);
    CHECK(untrusted.category() == asio::error::get_ssl_category());
    // A certificate for another name, from an authority the client trusts.
    const auto other = make_certificate("other", "DNS:other.example");
    tls_server elsewhere{other};
    const auto [mismatch, __] = wss_echo(*client_context(other.cert), "wss://localhost:" + std::to_string(elsewhere.port()) + "/");
    CHECK(mismatch);
    CHECK(mismatch.category() == asio::error::get_ssl_category());
    // And the server goes on serving the clients that verify.
    CHECK(wss_echo(*client_context(cert.cert), "wss://localhost:" + std::to_string(server.port()) + "/").second == "over tls");
}

TEST_CASE("tls: plain HTTP to the TLS port, a handshake that never comes and a TLS 1.1 client are cut",
          "[asio][tls][hostile]") {
    const auto& cert = localhost_certificate();
    tls_server server{cert, std::chrono::milliseconds(300)};
    // Plain HTTP: not a ClientHello; the handshake fails and the connection closes
    // without an HTTP answer (the bytes, if any, are a TLS alert).
    const auto [plain_answer, plain_closed] = raw_exchange(server.port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(plain_closed);
    CHECK(plain_answer.find("HTTP/1.1") == std::string::npos);
    // A client that connects and says nothing: closed at the handshake deadline.
    const auto start = std::chrono::steady_clock::now();
    const auto [silent_answer, silent_closed] = raw_exchange(server.port(), "");
    CHECK(silent_closed);
    CHECK(silent_answer.empty());
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(4));
    // TLS 1.1 at most: refused (the server's minimum is 1.2).
    auto old = client_context(cert.cert);
    SSL_CTX_set_min_proto_version(old->native_handle(), TLS1_VERSION);
    SSL_CTX_set_max_proto_version(old->native_handle(), TLS1_1_VERSION);
    SSL_CTX_set_security_level(old->native_handle(), 0);  // OpenSSL 3 refuses TLS 1.1 itself otherwise
    const auto [refused, ___] = wss_echo(*old, "wss://localhost:" + std::to_string(server.port()) + "/");
    CHECK(refused);
    // The server still serves.
    CHECK(wss_echo(*client_context(cert.cert), "wss://localhost:" + std::to_string(server.port()) + "/").second == "over tls");
}

TEST_CASE("tls: curl fetches over https with the test's authority, and refuses without it", "[asio][tls][interop]") {
    const auto& cert = localhost_certificate();
    tls_server server{cert};
    const std::string url = "https://localhost:" + std::to_string(server.port()) + "/";
    const auto run = test_support::run_shell;
    const auto [body, ok] = run("curl -sS --cacert " + cert.cert + " " + url + " 2>&1");
    CHECK(ok == 0);
    CHECK(body == "hello over tls\n");
    // ALPN: curl offers h2 and http/1.1; herald agrees to http/1.1.
    const auto [verbose, ok2] = run("curl -sS -v --cacert " + cert.cert + " " + url + " 2>&1");
    CHECK(ok2 == 0);
    CHECK(verbose.find("ALPN: server accepted http/1.1") != std::string::npos);
    const auto [refused, failed] = run("curl -sS " + url + " 2>&1");
    CHECK(failed != 0);
}

TEST_CASE("tls: one listener serves each name's certificate by SNI", "[asio][tls][interop]") {
    const auto a = make_certificate("a", "DNS:a.test");
    const auto b = make_certificate("b", "DNS:b.test");
    std::error_code ec;
    auto for_b = tls::make_server_context({b.cert, b.key}, ec);
    REQUIRE_FALSE(ec);
    tls::server_settings settings{a.cert, a.key, [for_b](std::string_view name) {
                                      return name == "b.test" ? for_b : std::shared_ptr<asio::ssl::context>{};
                                  }};
    auto context = tls::make_server_context(settings, ec);
    REQUIRE_FALSE(ec);
    tls_server server{context};
    const std::string port = std::to_string(server.port());
    // curl sends the URL's name as SNI and checks the certificate against it.
    const auto fetch = [&](const std::string& name, const std::string& ca) {
        return test_support::run_shell("curl -sS --resolve " + name + ":" + port + ":127.0.0.1 --cacert " + ca + " https://" +
                                       name + ":" + port + "/ 2>&1");
    };
    CHECK(fetch("a.test", a.cert) == std::pair(std::string("hello over tls\n"), 0));
    CHECK(fetch("b.test", b.cert) == std::pair(std::string("hello over tls\n"), 0));
    CHECK(fetch("b.test", a.cert).second != 0);  // b.test is served b's certificate, not a's
    CHECK(fetch("c.test", a.cert).second != 0);  // an unknown name gets a's, which does not name it
}

TEST_CASE("tls: a client that vanishes in the middle of a record is let go, and the server goes on", "[asio][tls][hostile]") {
    const auto& cert = localhost_certificate();
    tls_server server{cert};
    auto ctx = client_context(cert.cert);
    {
        asio::io_context io;
        tls_socket client{io, *ctx};
        client.lowest_layer().connect({asio::ip::make_address("127.0.0.1"), server.port()});
        REQUIRE(tls::verify_host(client, "localhost"));
        client.handshake(asio::ssl::stream_base::client);
        // An application-data record header that announces 64 bytes, then 10 of them,
        // then the TCP connection gone (RFC 8446 §5.1: TLSCiphertext).
        const std::string cut("\x17\x03\x03\x00\x40" "0123456789", 15);
        asio::write(client.next_layer(), asio::buffer(cut));
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (server.server.connection_count() == 0 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        CHECK(server.server.connection_count() == 1);  // served: the handshake was whole
        client.lowest_layer().close();
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (server.server.connection_count() != 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(server.server.connection_count() == 0);
    CHECK(wss_echo(*ctx, "wss://localhost:" + std::to_string(server.port()) + "/").second == "over tls");
}
