// libFuzzer target for herald::sse::event_parser (WHATWG HTML §9.2.5-9.2.6).
//
// Byte 0 chooses the limits (small ones half the time, so both sides of each limit
// are reached); byte 1 seeds how the rest is cut into reads. The oracle is the
// parser itself: the stream fed whole and fed in fuzzer-chosen pieces must give the
// same results in the same order, and every event must hold what the format allows
// (no CR or LF in a type or an id, no NUL in an id, no CR in data, data within the
// limit). Each read lives in an allocation of exactly its size, so ASan catches a
// read past it.
#include <herald/sse/parser.hpp>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sse = herald::sse;

#define HERALD_FUZZ_CHECK(condition) \
    do {                             \
        if (!(condition)) __builtin_trap(); \
    } while (0)

namespace {

struct outcome {
    sse::parse_result kind;
    std::string type, data, id;
    std::uint64_t retry = 0;
    bool operator==(const outcome&) const = default;
};

template <class NextSize>
std::vector<outcome> run(std::string_view stream, const sse::limits& limits, NextSize next_size) {
    sse::event_parser p{limits};
    std::vector<outcome> out;
    std::size_t offset = 0;
    while (offset < stream.size()) {
        const std::size_t size = next_size(stream.size() - offset);
        auto read = std::make_unique<char[]>(size);
        std::memcpy(read.get(), stream.data() + offset, size);
        std::string_view view{read.get(), size};
        offset += size;
        while (true) {
            const std::size_t before = view.size();
            const sse::parse_result r = p.next(view);
            HERALD_FUZZ_CHECK(view.size() <= before);
            if (r == sse::parse_result::need_more) {
                HERALD_FUZZ_CHECK(view.empty());
                break;
            }
            if (r == sse::parse_result::error) {
                const auto ec = p.error();
                HERALD_FUZZ_CHECK(ec == sse::error::line_too_long || ec == sse::error::event_too_large);
                std::string_view again = view;
                HERALD_FUZZ_CHECK(p.next(again) == sse::parse_result::error);  // sticky
                out.push_back({r, {}, {}, {}, 0});
                return out;
            }
            outcome o{r, {}, {}, {}, 0};
            if (r == sse::parse_result::event) {
                o.type = p.type();
                o.data = p.data();
                o.id = p.last_event_id();
                HERALD_FUZZ_CHECK(!o.type.empty());
                HERALD_FUZZ_CHECK(o.type.find_first_of("\r\n") == std::string::npos);
                HERALD_FUZZ_CHECK(o.id.find_first_of(std::string_view{"\r\n\0", 3}) == std::string::npos);
                HERALD_FUZZ_CHECK(o.data.find('\r') == std::string::npos);
                HERALD_FUZZ_CHECK(o.data.size() <= limits.max_event);
            } else {
                HERALD_FUZZ_CHECK(r == sse::parse_result::retry && p.reconnection_time().has_value());
                o.retry = *p.reconnection_time();
            }
            out.push_back(std::move(o));
        }
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::uint8_t shape = data[0];
    std::uint32_t state = 0x9e3779b9u ^ data[1];
    const std::string_view stream{reinterpret_cast<const char*>(data) + 2, size - 2};
    sse::limits limits;
    if (shape & 1u) {
        limits.max_line = 1 + (shape >> 1);        // 1..128
        limits.max_event = (shape >> 2) * 3u;      // 0..189
    }
    const auto whole = run(stream, limits, [](std::size_t left) { return left; });
    const auto pieces = run(stream, limits, [&](std::size_t left) {
        state ^= state << 13;  // xorshift32: deterministic per input
        state ^= state >> 17;
        state ^= state << 5;
        const std::size_t piece = 1 + state % 16u;
        return piece < left ? piece : left;
    });
    HERALD_FUZZ_CHECK(whole == pieces);
    return 0;
}
