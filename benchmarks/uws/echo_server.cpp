// uWebSockets' WebSocket echo, the peer herald's echo server is measured against
// (benchmarks/uws_compare.sh builds it from a uWebSockets checkout the user names;
// nothing of uWebSockets is in herald's tree). It takes the flags herald's example
// servers take, so the same load tools start it the same way:
//
//   uws_echo_server [--port 9001] [--host 127.0.0.1]
//
// Every text and binary message comes back as it came, uncompressed, with the same
// limits as websocket_echo_server (16 MiB messages, 16 MiB waiting to be sent);
// GET /hello answers "Hello world!\n" for HTTP keep-alive runs (wrk).
#include "App.h"

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
    int port = 9001;
    std::string host = "127.0.0.1";
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--port") port = std::atoi(argv[i + 1]);
        else if (flag == "--host") host = argv[i + 1];
    }
    struct per_socket {};
    uWS::App()
        .ws<per_socket>("/*", {.compression = uWS::DISABLED,
                               .maxPayloadLength = 16 * 1024 * 1024,
                               .idleTimeout = 120,
                               .maxBackpressure = 16 * 1024 * 1024,
                               .message = [](auto* ws, std::string_view message, uWS::OpCode op) { ws->send(message, op); }})
        .get("/hello", [](auto* res, auto*) { res->end("Hello world!\n"); })
        .listen(host, port, [&](auto* listening) {
            if (!listening) {
                std::fprintf(stderr, "uws_echo_server: cannot listen on %s:%d\n", host.c_str(), port);
                std::exit(1);
            }
            std::printf("uws echo on http://%s:%d/\n", host.c_str(), port);
            std::fflush(stdout);
        })
        .run();
}
