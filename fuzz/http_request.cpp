// libFuzzer target: herald::http::request_parser, the bytes a client sends a server.
// The controls at the front of each input (cutting, limits, upgrades, resets) and
// the invariants checked are described in parser_driver.hpp.
#include "parser_driver.hpp"

#include <herald/http/message.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input{reinterpret_cast<const char*>(data), size};
    herald_fuzz::controls controls;
    if (!herald_fuzz::read_controls(input, controls)) return 0;

    herald::http::request_parser parser{controls.limits};
    // One request reused for every head, as a server connection does: head_into must
    // copy whatever the parser holds, fields and all.
    herald::http::request request;
    herald_fuzz::drive(parser, input, controls, [&](const herald::http::request_parser& p) {
        HERALD_FUZZ_CHECK(!p.method().empty());
        HERALD_FUZZ_CHECK(p.target().size() <= controls.limits.max_target);
        p.head_into(request);
        HERALD_FUZZ_CHECK(request.target == p.target() && request.fields.size() == p.fields().size());
        (void)p.expects_continue();
        (void)request.keep_alive();
        // RFC 9110 §9.3.6: a CONNECT request has no content; llhttp skips whatever
        // Content-Length says and hands the bytes after the head to the tunnel.
        return p.method() == "CONNECT";
    });
    return 0;
}
