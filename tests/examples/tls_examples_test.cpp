// Every example server with --cert and --key: https (and wss for the WebSocket
// ones) with a certificate the test makes, read by curl trusting only that
// certificate; plain HTTP to the same port gets no HTTP answer.
#include "../support/certificates.hpp"
#include "../support/process.hpp"

#include <catch2/catch.hpp>

#include <string>

using herald::test_support::child_server;
using herald::test_support::run_shell;

TEST_CASE("examples: every server takes --cert and --key and serves https", "[examples][tls][interop]") {
    const auto& cert = herald::test_support::localhost_certificate();
    struct served {
        const char* program;
        const char* path;
        const char* answer;  // a piece of the answer's body
    };
    for (const served s : {served{HERALD_SHORT_POLL_SERVER, "/messages?since=0", "\"messages\":[]"},
                           served{HERALD_SSE_SERVER, "/stats", "\"subscribers\":0"},
                           served{HERALD_LONGPOLL_SERVER, "/stats", "\"waiting\":0"},
                           served{HERALD_WEBSOCKET_ECHO_SERVER, "/", "herald WebSocket echo server"},
                           served{HERALD_CHAT_SERVER, "/stats", "\"rooms\":0"},
                           served{HERALD_LIVE_SERVER, "/api/stats", "{"}}) {
        INFO(s.program);
        child_server server{s.program, {"--cert", cert.cert, "--key", cert.key}};
        const std::string port = std::to_string(server.port());
        const auto [body, status] = run_shell("curl -sS --max-time 10 --cacert " + cert.cert + " 'https://localhost:" + port + s.path + "' 2>&1");
        CHECK(status == 0);
        CHECK(body.find(s.answer) != std::string::npos);
        const auto [plain, plain_status] = run_shell("curl -sS --max-time 10 'http://localhost:" + port + s.path + "' 2>&1");
        CHECK(plain_status != 0);
        CHECK(plain.find(s.answer) == std::string::npos);
    }
}

TEST_CASE("examples: a certificate file that cannot be read stops the server with a message", "[examples][tls]") {
    const auto [out, status] =
        run_shell(std::string(HERALD_SSE_SERVER) + " --port 0 --cert /nonexistent/cert.pem --key /nonexistent/key.pem 2>&1");
    CHECK(status == 1);
    CHECK(out.find("sse_server: --cert/--key: ") != std::string::npos);
}
