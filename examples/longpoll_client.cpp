// A long-poll client: polls in a loop with its cursor and prints each message on a
// line of its own; backs off with jitter while the server is unreachable.
//
//   longpoll_client [--host 127.0.0.1] [--port 8080] [--key K] [--since N]
//                   [--timeout 25] [--count N]
// Exits after N messages (0: never).
#include "common.hpp"

#include <herald/asio/longpoll_client.hpp>

#include <cstdio>
#include <functional>

using namespace herald;

int main(int argc, char** argv) {
    const example::options opts(argc, argv,
                                "longpoll_client [--host 127.0.0.1] [--port 8080] [--key K] [--since N]\n"
                                "                [--timeout 25] [--count N]",
                                {"host", "port", "key", "since", "timeout", "count"});
    asio::io_context io;
    longpoll::client_options options;
    options.host = opts.get("host", "127.0.0.1");
    options.port = opts.get("port", "8080");
    options.key = opts.get("key", "");
    options.since = static_cast<std::uint64_t>(opts.number("since", 0));
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
        if (a.reset) std::fprintf(stderr, "longpoll_client: history lost, cursor now %llu\n",
                                  static_cast<unsigned long long>(a.cursor));
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
