// A user's program: parses a request with herald's core, answers it with the
// serializer, and does so from an Asio handler. It compiles only if herald::asio
// hands the consumer Asio's include folder, and herald::core hands it herald's
// headers and llhttp. Exit status 0 means every check passed.

// herald::asio passes no Asio configuration macro on (a user's other Asio code in
// the same program must see the same declarations): the program decides. Checked
// before <asio.hpp>, whose config.hpp defines ASIO_STANDALONE itself.
#ifdef ASIO_STANDALONE
#error "herald::asio forced ASIO_STANDALONE on its consumer"
#endif
#ifdef ASIO_NO_DEPRECATED
#error "herald::asio forced ASIO_NO_DEPRECATED on its consumer"
#endif

#include <herald/asio/server.hpp>  // the Asio layer, with Asio's deprecated interface present
#include <herald/config.hpp>
#include <herald/http/parser.hpp>
#include <herald/http/serializer.hpp>

#include <asio.hpp>

#include <cstdio>
#include <string>
#include <string_view>

namespace http = herald::http;

namespace {

int failures = 0;

void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "consumer: %s\n", what);
        ++failures;
    }
}

// Parses one request with a body; returns the body, or records what went wrong.
std::string parse_request() {
    http::request_parser parser;
    std::string_view input = "POST /consumer HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\nhello";
    std::string body;
    bool head = false;
    bool end = false;
    for (int guard = 0; guard < 16 && !end; ++guard) {
        const http::event ev = parser.next(input);
        switch (ev.type) {
        case http::event_type::head:
            head = true;
            check(parser.method() == "POST", "method is not POST");
            check(parser.target() == "/consumer", "target is not /consumer");
            check(parser.fields().value_or("host", "") == "example.com", "Host field lost");
            check(parser.content_length() == 5u, "Content-Length is not 5");
            break;
        case http::event_type::body: body.append(ev.data); break;
        case http::event_type::end_of_message: end = true; break;
        default:
            check(false, "unexpected parser event");
            return body;
        }
    }
    check(head && end, "no head or no end of message");
    check(input.empty(), "parser left bytes of a complete request");
    check(parser.next(input).type == http::event_type::need_more, "no need_more after the message");
    return body;
}

}  // namespace

int main() {
#ifdef HERALD_CONSUMER_EXPECTED_VERSION
    const std::string header_version = std::to_string(HERALD_VERSION_MAJOR) + "." +
                                       std::to_string(HERALD_VERSION_MINOR) + "." +
                                       std::to_string(HERALD_VERSION_PATCH);
    check(header_version == HERALD_CONSUMER_EXPECTED_VERSION, "find_package(herald)'s version differs from config.hpp's");
#endif

    // The work runs as an Asio handler: the consumer links Asio's threads and all.
    asio::io_context io;
    std::string wire;
    asio::post(io, [&] {
        const std::string body = parse_request();
        check(body == "hello", "request body is not 'hello'");
        http::response res{200, "text/plain", body};
        check(!http::serialize_head(res, wire), "serialize_head failed");
        wire += res.body;
    });
    check(io.run() == 1, "io_context ran no handler");

    // herald's server templates instantiate in the user's configuration.
    asio::io_context server_io;
    http::server server{server_io.get_executor(), [](const http::request&) { return http::response{204}; }};
    (void)&http::server::start;

    const std::string_view expected = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
    check(wire == expected, "serialized response differs");
    if (failures != 0) {
        std::fprintf(stderr, "consumer: %d check(s) failed; response was:\n%s\n", failures, wire.c_str());
        return 1;
    }
    std::printf("consumer ok: herald %d.%d.%d\n", HERALD_VERSION_MAJOR, HERALD_VERSION_MINOR, HERALD_VERSION_PATCH);
    return 0;
}
