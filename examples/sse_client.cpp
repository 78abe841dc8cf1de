// An EventSource in C++: prints each event as `<id> <type> <data>` (data with
// newlines escaped), reconnecting with Last-Event-ID when the stream drops.
//
//   sse_client [--host 127.0.0.1] [--port 8080] [--target /events] [--count N]
//              [--last-event-id ID] [--retry-ms 3000]
// Exits after N events (0: never), or with status 1 when the server refuses the
// stream (not 200, not text/event-stream).
#include "common.hpp"

#include <herald/asio/sse_client.hpp>

#include <cstdio>
#include <functional>

using namespace herald;

int main(int argc, char** argv) {
    const example::options opts(argc, argv,
                                "sse_client [--host 127.0.0.1] [--port 8080] [--target /events] [--count N]\n"
                                "           [--last-event-id ID] [--retry-ms 3000]",
                                {"host", "port", "target", "count", "last-event-id", "retry-ms"});
    asio::io_context io;
    sse::client_options options;
    options.host = opts.get("host", "127.0.0.1");
    options.port = opts.get("port", "8080");
    options.target = opts.get("target", "/events");
    options.last_event_id = opts.get("last-event-id", "");
    options.reconnection_time = std::chrono::milliseconds(opts.number("retry-ms", 3000));
    sse::client events{io.get_executor(), options};
    const long count = opts.number("count", 0);
    long seen = 0;
    int status = 0;
    std::function<void(std::error_code, sse::received_event)> on_event = [&](std::error_code ec, sse::received_event ev) {
        if (ec) {
            std::fprintf(stderr, "sse_client: %s\n", ec.message().c_str());
            status = 1;
            return;
        }
        std::string data;
        for (char c : ev.data) data += c == '\n' ? std::string("\\n") : std::string(1, c);
        std::printf("%s %s %s\n", ev.id.c_str(), ev.type.c_str(), data.c_str());
        std::fflush(stdout);
        if (count != 0 && ++seen >= count) return events.close();
        events.async_next(on_event);
    };
    events.async_next(on_event);
    io.run();
    return status;
}
