// libFuzzer target: herald::http::response_parser, the bytes a server sends a client.
// The controls at the front of each input (cutting, limits, upgrades, resets, and
// bit 5 for a response to HEAD) and the invariants checked are described in
// parser_driver.hpp.
#include "parser_driver.hpp"

#include <herald/http/message.hpp>
#include <herald/http/status.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input{reinterpret_cast<const char*>(data), size};
    herald_fuzz::controls controls;
    if (!herald_fuzz::read_controls(input, controls)) return 0;

    herald::http::response_parser parser{controls.limits};
    parser.expect_no_body(controls.target_flag);
    herald::http::response response;
    herald_fuzz::drive(parser, input, controls, [&](const herald::http::response_parser& p) {
        HERALD_FUZZ_CHECK(p.status() >= 100 && p.status() <= 999);
        p.head_into(response);
        HERALD_FUZZ_CHECK(response.status == p.status() && response.reason == p.reason());
        (void)response.keep_alive();
        // RFC 9112 §6.3 item 1: these responses end at their head whatever their fields say.
        return controls.target_flag || herald::http::status_has_no_body(p.status());
    });
    return 0;
}
