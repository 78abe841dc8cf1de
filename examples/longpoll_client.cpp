// A long-poll client: polls in a loop with its cursor and prints each message on a
// line of its own; backs off with jitter while the server is unreachable.
//
//   longpoll_client [--host 127.0.0.1] [--port 8080] [--topic T] [--since C]
//                   [--timeout 25] [--count N] [--target /poll]
// Exits after N messages (0: never). It speaks the one long-poll wire format
// (herald/longpoll/answer.hpp), so it follows longpoll_server's /poll and a hub's
// /api/poll (live_server) alike.
#include "common.hpp"

#include <herald/asio/longpoll_client.hpp>

#include <cstdio>
#include <functional>

using namespace herald;

int main(int argc, char** argv) {
    const example::options opts(argc, argv,
                                "longpoll_client [--host 127.0.0.1] [--port 8080] [--topic T] [--since C]\n"
                                "                [--timeout 25] [--count N] [--target /poll]",
                                {"host", "port", "topic", "since", "timeout", "count", "target"});
    asio::io_context io;
    longpoll::client_options options;
    options.host = opts.get("host", "127.0.0.1");
    options.port = opts.get("port", "8080");
    options.topic = opts.get("topic", "");
    options.since = opts.get("since", "");
    options.target = opts.get("target", "/poll");  // /api/poll for a hub (examples/live)
    options.timeout_seconds = static_cast<std::uint32_t>(opts.number("timeout", 25));
    longpoll::client polls{io.get_executor(), options};
    const long count = opts.number("count", 0);
    long seen = 0;
    int status = 0;
    std::function<void(std::error_code, longpoll::answer)> on_answer = [&](std::error_code ec, longpoll::answer a) {
        if (ec) {
            std::fprintf(stderr, "longpoll_client: %s\n", ec.message().c_str());
            status = 1;
            return;
        }
        if (a.reset) std::fprintf(stderr, "longpoll_client: history lost, cursor now %s\n", a.cursor.c_str());
        for (const auto& m : a.messages) {
            std::printf("%s\n", m.c_str());
            if (count != 0 && ++seen >= count) {
                std::fflush(stdout);
                return polls.close();
            }
        }
        std::fflush(stdout);
        polls.async_next(on_answer);
    };
    polls.async_next(on_answer);
    io.run();
    return status;
}
