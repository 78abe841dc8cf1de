// libFuzzer target for herald::websocket::connection (RFC 6455 §5-§7), the parser
// of everything a WebSocket peer sends.
//
// Byte 0 picks the role, small or default limits, and permessage-deflate (RFC 7692)
// on or off, with or without context takeover; byte 1 seeds how the rest is cut
// into reads. The oracle: the stream fed whole and fed in fuzzer-chosen pieces
// gives the same events in the same order with the same data, close code and error,
// and the same output bytes (pongs, close replies); a text message delivered is
// valid UTF-8; nothing reads outside its input (each piece is an allocation of
// exactly its size, for ASan). The pieces are fed twice: as read-only views, and as
// spans the connection may unmask whole messages in (next(std::span<char>&)).
#include <herald/utf8.hpp>
#include <herald/websocket/connection.hpp>

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#define HERALD_FUZZ_CHECK(condition)        \
    do {                                    \
        if (!(condition)) __builtin_trap(); \
    } while (0)

namespace ws = herald::websocket;

namespace {

struct outcome {
    ws::event_type type;
    std::string data;
    ws::opcode kind;
    std::uint16_t code;
    std::error_code error;
    friend bool operator==(const outcome&, const outcome&) = default;
};

struct run_result {
    std::vector<outcome> events;
    std::string output;
};

run_result run(ws::role role, const ws::limits& limits, const std::optional<ws::deflate_params>& deflate,
               const std::uint8_t* data, std::size_t size, const std::vector<std::size_t>& cuts, bool in_place = false) {
    std::uint32_t counter = 1;
    ws::connection c(role, limits, [&counter] { return counter = counter * 1103515245u + 12345u; });
    if (deflate) c.enable_deflate(*deflate, ws::deflate_options{});
    run_result r;
    std::size_t at = 0;
    for (std::size_t i = 0; i <= cuts.size(); ++i) {
        const std::size_t end = i < cuts.size() ? cuts[i] : size;
        const std::size_t n = end - at;
        auto piece = std::make_unique<char[]>(n ? n : 1);
        if (n) std::memcpy(piece.get(), data + at, n);
        std::string_view view{piece.get(), n};
        std::span<char> span{piece.get(), n};
        const auto next = [&] { return in_place ? c.next(span) : c.next(view); };
        for (auto ev = next(); ev != ws::event_type::need_more; ev = next()) {
            outcome o{ev, std::string(c.data()), c.message_type(), c.close_code(), c.error()};
            if (ev == ws::event_type::message && c.message_type() == ws::opcode::text)
                HERALD_FUZZ_CHECK(herald::is_utf8(o.data));
            if (ev != ws::event_type::message && ev != ws::event_type::ping && ev != ws::event_type::pong) o.data.clear();
            r.events.push_back(std::move(o));
        }
        HERALD_FUZZ_CHECK(in_place ? span.empty() : view.empty());
        at = end;
    }
    r.output.assign(c.output());
    return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const ws::role role = (data[0] & 1) ? ws::role::client : ws::role::server;
    ws::limits limits;
    if (data[0] & 2) {
        limits.max_frame = 64;
        limits.max_message = 100;
    }
    std::optional<ws::deflate_params> deflate;
    if (data[0] & 4) {
        deflate.emplace();
        deflate->server_no_context_takeover = deflate->client_no_context_takeover = (data[0] & 8) != 0;
        deflate->server_max_window_bits = deflate->client_max_window_bits = 9 + (data[0] >> 4) % 7;
    }
    std::uint32_t seed = data[1];
    data += 2;
    size -= 2;
    std::vector<std::size_t> cuts;
    for (std::size_t at = 0; size > 0;) {
        seed = seed * 1664525u + 1013904223u;
        at += 1 + (seed >> 24) % 17;
        if (at >= size) break;
        cuts.push_back(at);
    }
    const auto whole = run(role, limits, deflate, data, size, {});
    const auto pieces = run(role, limits, deflate, data, size, cuts);
    HERALD_FUZZ_CHECK(whole.events == pieces.events);
    HERALD_FUZZ_CHECK(whole.output == pieces.output);
    const auto in_place = run(role, limits, deflate, data, size, cuts, true);
    HERALD_FUZZ_CHECK(whole.events == in_place.events);
    HERALD_FUZZ_CHECK(whole.output == in_place.output);
    return 0;
}
