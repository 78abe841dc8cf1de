// Helpers shared by the Asio-layer tests: read back what a connection wrote.
#ifndef HERALD_TESTS_ASIO_SUPPORT_HPP
#define HERALD_TESTS_ASIO_SUPPORT_HPP

#include <herald/http/parser.hpp>
#include <herald/sse/parser.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace herald::testing {

struct received_event {
    std::string type;
    std::string data;
    std::string id;
};

// The events of an event-stream body, whole events only.
inline std::vector<received_event> parse_events(std::string_view body) {
    std::vector<received_event> out;
    sse::event_parser p;
    while (true) {
        const auto r = p.next(body);
        if (r == sse::parse_result::need_more) break;
        REQUIRE(r != sse::parse_result::error);
        if (r == sse::parse_result::event)
            out.push_back({std::string(p.type()), std::string(p.data()), std::string(p.last_event_id())});
    }
    return out;
}

// Splits a close-delimited response into its head and its body.
inline std::pair<std::string, std::string> split_response(const std::string& wire) {
    const auto end = wire.find("\r\n\r\n");
    REQUIRE(end != std::string::npos);
    return {wire.substr(0, end + 4), wire.substr(end + 4)};
}

}  // namespace herald::testing

#endif
