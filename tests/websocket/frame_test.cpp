#include <herald/websocket/frame.hpp>
#include <herald/websocket/mask.hpp>
#include <herald/websocket/utf8.hpp>

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

using namespace herald;
namespace ws = herald::websocket;

namespace {

std::string bytes(std::initializer_list<int> list) {
    std::string out;
    for (int b : list) out.push_back(static_cast<char>(b));
    return out;
}

// Decodes one frame from `wire` as `receiver`; returns the unmasked payload.
std::string decode(const std::string& wire, ws::role receiver, ws::frame_header& h) {
    std::error_code ec;
    const std::size_t n = ws::read_header(wire, h, receiver, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(n > 0);
    REQUIRE(wire.size() - n == h.length);
    std::string payload = wire.substr(n);
    if (h.masked) ws::apply_mask(payload.data(), payload.size(), h.key);
    return payload;
}

}  // namespace

TEST_CASE("the RFC 6455 section 5.7 example frames decode and encode exactly", "[websocket][frame]") {
    ws::frame_header h;
    CHECK(decode(bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}), ws::role::client, h) == "Hello");
    CHECK(h.fin);
    CHECK(h.op == ws::opcode::text);
    CHECK(decode(bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}), ws::role::server, h) == "Hello");
    CHECK(h.key == ws::mask_key{0x37, 0xfa, 0x21, 0x3d});
    CHECK(decode(bytes({0x01, 0x03, 0x48, 0x65, 0x6c}), ws::role::client, h) == "Hel");
    CHECK_FALSE(h.fin);
    CHECK(decode(bytes({0x80, 0x02, 0x6c, 0x6f}), ws::role::client, h) == "lo");
    CHECK(h.op == ws::opcode::continuation);
    CHECK(decode(bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}), ws::role::client, h) == "Hello");
    CHECK(h.op == ws::opcode::ping);
    CHECK(decode(bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}), ws::role::server, h) == "Hello");
    CHECK(h.op == ws::opcode::pong);
    const std::string b256 = bytes({0x82, 0x7e, 0x01, 0x00}) + std::string(256, 'x');
    CHECK(decode(b256, ws::role::client, h).size() == 256);
    const std::string b64k = bytes({0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}) + std::string(65536, 'y');
    CHECK(decode(b64k, ws::role::client, h).size() == 65536);

    // Encoding gives the same bytes back.
    char out[ws::max_header_size];
    ws::frame_header masked{true, 0, ws::opcode::text, true, 5, {0x37, 0xfa, 0x21, 0x3d}};
    CHECK(std::string(out, ws::write_header(masked, out)) == bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d}));
    ws::frame_header big{true, 0, ws::opcode::binary, false, 65536, {}};
    CHECK(std::string(out, ws::write_header(big, out)) == bytes({0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}));
    ws::frame_header mid{true, 0, ws::opcode::binary, false, 256, {}};
    CHECK(std::string(out, ws::write_header(mid, out)) == bytes({0x82, 0x7e, 0x01, 0x00}));
}

TEST_CASE("headers of every length form round-trip at every split position", "[websocket][frame]") {
    for (std::uint64_t length : {0ull, 1ull, 125ull, 126ull, 127ull, 65535ull, 65536ull, 1ull << 32, (1ull << 63) - 1}) {
        for (bool masked : {false, true}) {
            ws::frame_header h{length % 2 == 0, 0, ws::opcode::binary, masked, length, {1, 2, 3, 4}};
            char out[ws::max_header_size];
            const std::size_t n = ws::write_header(h, out);
            CHECK(n == ws::header_size(h));
            const std::string wire(out, n);
            const auto receiver = masked ? ws::role::server : ws::role::client;
            for (std::size_t cut = 0; cut < n; ++cut) {
                ws::frame_header partial;
                std::error_code ec;
                CHECK(ws::read_header(wire.substr(0, cut), partial, receiver, ec) == 0);  // not whole: need more
                CHECK_FALSE(ec);
            }
            ws::frame_header back;
            std::error_code ec;
            REQUIRE(ws::read_header(wire + "trailing", back, receiver, ec) == n);
            CHECK(back.length == length);
            CHECK(back.fin == h.fin);
            CHECK(back.masked == masked);
            if (masked) CHECK(back.key == h.key);
        }
    }
}

TEST_CASE("headers that break the framing rules are refused with their error", "[websocket][frame]") {
    struct bad {
        std::string wire;
        ws::role receiver;
        ws::error expected;
    };
    const bad cases[] = {
        {bytes({0x83, 0x00}), ws::role::client, ws::error::reserved_opcode},
        {bytes({0x87, 0x00}), ws::role::client, ws::error::reserved_opcode},
        {bytes({0x8b, 0x00}), ws::role::client, ws::error::reserved_opcode},
        {bytes({0x8f, 0x00}), ws::role::client, ws::error::reserved_opcode},
        {bytes({0xc1, 0x00}), ws::role::client, ws::error::reserved_bits},  // RSV1
        {bytes({0xa1, 0x00}), ws::role::client, ws::error::reserved_bits},  // RSV2
        {bytes({0x91, 0x00}), ws::role::client, ws::error::reserved_bits},  // RSV3
        {bytes({0x81, 0x00}), ws::role::server, ws::error::bad_masking},    // a client frame must be masked
        {bytes({0x81, 0x80, 1, 2, 3, 4}), ws::role::client, ws::error::bad_masking},
        {bytes({0x09, 0x00}), ws::role::client, ws::error::fragmented_control},
        {bytes({0x88, 0x7e, 0x00, 0x7e}), ws::role::client, ws::error::control_too_long},
        {bytes({0x89, 0x7e}), ws::role::client, ws::error::control_too_long},  // known from the first two bytes
        {bytes({0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0}), ws::role::client, ws::error::bad_length},
    };
    for (const auto& c : cases) {
        ws::frame_header h;
        std::error_code ec;
        CHECK(ws::read_header(c.wire, h, c.receiver, ec) == 0);
        CHECK(ec == c.expected);
        CHECK(ws::close_code_for(ec) == 1002);
    }
    ws::frame_header h;
    std::error_code ec;
    CHECK(ws::read_header(bytes({0xc1, 0x00}), h, ws::role::client, ec, 0x4) == 2);  // RSV1 negotiated
    CHECK_FALSE(ec);
}

TEST_CASE("masking is correct at every length alignment and key offset and carries across calls", "[websocket][mask]") {
    std::mt19937 rng(1);
    const ws::mask_key key{0x12, 0x34, 0x56, 0x78};
    std::vector<char> storage(5000 + 16);
    std::vector<std::size_t> sizes;
    for (std::size_t size = 0; size < 300; size += (size < 70 ? 1 : 37)) sizes.push_back(size);
    // Long enough for the 128-byte AVX2 steps (pieces of 512 bytes and more), ragged ends.
    for (std::size_t size : {768, 1535, 1536, 1600, 2047, 4099, 5000}) sizes.push_back(size);
    for (std::size_t align = 0; align < 16; ++align) {
        for (std::size_t size : sizes) {
            char* data = storage.data() + align;
            std::string original(size, '\0');
            for (auto& c : original) c = static_cast<char>(rng());
            std::copy(original.begin(), original.end(), data);
            for (std::size_t offset = 0; offset < 4; ++offset) {
                std::copy(original.begin(), original.end(), data);
                // In two pieces, cut where the size allows.
                const std::size_t cut = size / 3;
                const std::size_t mid = ws::apply_mask(data, cut, key, offset);
                const std::size_t end = ws::apply_mask(data + cut, size - cut, key, mid);
                CHECK(end == (offset + size) % 4);
                bool same = true;
                for (std::size_t i = 0; i < size; ++i)
                    same = same && data[i] == static_cast<char>(original[i] ^ static_cast<char>(key[(offset + i) % 4]));
                REQUIRE(same);
            }
        }
    }
}

TEST_CASE("the streaming UTF-8 validator fails fast and carries sequences across pieces", "[websocket][utf8]") {
    const std::string valid = "ascii \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xed\x9f\xbf \xee\x80\x80 \xf4\x8f\xbf\xbf end";
    for (std::size_t cut = 0; cut <= valid.size(); ++cut) {
        ws::utf8_validator v;
        CHECK(v.feed(std::string_view(valid).substr(0, cut)));
        CHECK(v.feed(std::string_view(valid).substr(cut)));
        CHECK(v.finish());
    }
    ws::utf8_validator one_by_one;
    for (char c : valid) REQUIRE(one_by_one.feed(std::string_view(&c, 1)));
    CHECK(one_by_one.finish());

    // Invalid at a known byte: every prefix before it is fine, the byte itself fails.
    const std::pair<std::string, std::size_t> invalid[] = {
        {"ab\x80", 2},                 // a lone continuation
        {"\xc0\xaf", 0},               // an overlong 2-byte form
        {"\xe0\x80\xaf", 1},           // an overlong 3-byte form: known at the second byte
        {"\xed\xa0\x80", 1},           // a surrogate
        {"\xf4\x90\x80\x80", 1},       // above U+10FFFF
        {"\xf5\x80", 0},               // F5 never appears
        {"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80" "edited", 12},  // Autobahn 6.4.x style
        {"\xe2\x82" "x", 2},              // a sequence cut by an ASCII byte
    };
    for (const auto& [text, bad_at] : invalid) {
        INFO(text);
        ws::utf8_validator whole;  // the whole sequence in one piece takes the one-step path
        CHECK_FALSE(whole.feed(text));
        ws::utf8_validator prefix;
        CHECK(prefix.feed(std::string_view(text).substr(0, bad_at)));
        CHECK_FALSE(prefix.feed(std::string_view(text).substr(bad_at, 1)));
        CHECK(prefix.failed());
        CHECK_FALSE(prefix.finish());
    }
    ws::utf8_validator open;
    CHECK(open.feed("\xf0\x9f\x98"));
    CHECK_FALSE(open.finish());  // a message may not end inside a sequence
}
