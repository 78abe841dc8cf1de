// The libFuzzer driver shared by the HTTP parser targets (http_request.cpp,
// http_response.cpp).
//
// How it works: the first bytes of an input are controls, the rest is the stream a
// peer sends:
//
//   byte 0  flags: bits 0-1 how the stream is cut into reads (0 whole, 1 a byte at
//           a time, 2 in two at a position chosen by byte 1, 3 in pieces of random
//           size up to 1 + byte 1 % 64); bit 2 small limits (two more control bytes
//           follow); bit 3 decline upgrades (go on parsing HTTP after an upgrade
//           event, as a server that answered plain HTTP does); bit 4 reset() after
//           an error and go on with the rest, up to 4 times; bit 5 is the target's
//           own (the response target: expect_no_body, as for a HEAD request)
//   byte 1  seed of the cutting
//   [2, 3]  with bit 2: the small limits
//
// The seed corpus starts with two printable control bytes ("a7", "b7", ...) so its
// files stay readable. Each read is copied into an allocation of exactly its size,
// so AddressSanitizer sees a parser (or llhttp) reading past what a read delivered.
// The driver pulls every event, as a server would, calls finish() at the end, and
// traps on any broken promise of parser.hpp's contract, listed in check_* below.

#ifndef HERALD_FUZZ_PARSER_DRIVER_HPP
#define HERALD_FUZZ_PARSER_DRIVER_HPP

#include <herald/http/parser.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>

namespace herald_fuzz {

namespace http = herald::http;

// A broken invariant. __builtin_trap, not abort: libFuzzer reports it as a crash with
// the stack of the check that failed, and no handler can swallow it.
#define HERALD_FUZZ_CHECK(condition) \
    do {                             \
        if (!(condition)) __builtin_trap(); \
    } while (0)

struct controls {
    unsigned split = 0;
    std::uint8_t seed = 0;
    bool small_limits = false;
    bool decline_upgrade = false;
    bool reset_after_error = false;
    bool target_flag = false;
    http::limits limits;
};

// Reads the control bytes off the front of `in`; false when there are too few.
inline bool read_controls(std::string_view& in, controls& c) {
    if (in.size() < 2) return false;
    const auto flags = static_cast<std::uint8_t>(in[0]);
    c.seed = static_cast<std::uint8_t>(in[1]);
    in.remove_prefix(2);
    c.split = flags & 3u;
    c.small_limits = (flags & 4u) != 0;
    c.decline_upgrade = (flags & 8u) != 0;
    c.reset_after_error = (flags & 16u) != 0;
    c.target_flag = (flags & 32u) != 0;
    if (c.small_limits) {
        if (in.size() < 2) return false;
        const auto a = static_cast<std::uint8_t>(in[0]);
        const auto b = static_cast<std::uint8_t>(in[1]);
        in.remove_prefix(2);
        // Small enough that realistic heads and bodies cross every limit, large
        // enough that some still fit: both sides of each check get exercised.
        c.limits.max_header_bytes = 1 + 2u * a;       // 1..511
        c.limits.max_fields = b & 7u;                 // 0..7
        c.limits.max_target = 1 + 4u * (b >> 3);      // 1..125
        c.limits.max_body = (a ^ b) & 63u;            // 0..63
    }
    return true;
}

// Cuts `size` bytes into reads; returns the size of the next one.
class cutter {
public:
    cutter(const controls& c, std::size_t size) noexcept : c_(c), size_(size), state_(0x9e3779b9u ^ c.seed) {}

    std::size_t next(std::size_t left) noexcept {
        switch (c_.split) {
        case 0: return left;
        case 1: return 1;
        case 2: {
            const std::size_t cut = size_ == 0 ? 0 : c_.seed * size_ / 255;
            return left > size_ - cut ? left - (size_ - cut) : left;
        }
        default: {
            // xorshift32: cheap, deterministic per input, and no std:: distribution
            // whose output could differ between standard libraries.
            state_ ^= state_ << 13;
            state_ ^= state_ >> 17;
            state_ ^= state_ << 5;
            const std::size_t piece = 1 + state_ % (1u + c_.seed % 64u);
            return piece < left ? piece : left;
        }
        }
    }

private:
    const controls& c_;
    std::size_t size_;
    std::uint32_t state_;
};

// What the driver knows about the message being parsed, to check events against.
struct message_state {
    bool open = false;             // head seen, end not yet
    bool ended = false;            // the last event was end_of_message
    bool closing = false;          // that message ended the connection (no keep-alive)
    std::uint64_t body = 0;        // body bytes seen in this message
    std::size_t start = 0;         // consumed bytes when this message's head began
    std::size_t end_consumed = 0;  // consumed bytes at end_of_message
    std::optional<std::uint64_t> content_length;
    bool chunked = false;
    bool no_body = false;          // 1xx, 204, 304 or a response to HEAD
};

constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

// What every head must satisfy, whatever the input: the limits hold, and the fields
// herald hands out are clean (a name is a token; a value has no CR, LF or NUL, which
// a proxy re-sending it would turn into a split message, and no surrounding OWS).
template <class Parser>
void check_head(const Parser& p, const controls& c, std::size_t head_bytes) {
    HERALD_FUZZ_CHECK(head_bytes <= c.limits.max_header_bytes);
    HERALD_FUZZ_CHECK(p.fields().size() <= c.limits.max_fields);
    HERALD_FUZZ_CHECK(p.fields().bytes() <= head_bytes);
    HERALD_FUZZ_CHECK(p.version() == 10 || p.version() == 11);
    if (p.content_length()) HERALD_FUZZ_CHECK(*p.content_length() <= c.limits.max_body);
    for (auto f : p.fields()) {
        HERALD_FUZZ_CHECK(http::detail::is_token(f.name));
        for (char ch : f.value) HERALD_FUZZ_CHECK(ch != '\r' && ch != '\n' && ch != '\0');
        if (!f.value.empty()) HERALD_FUZZ_CHECK(!is_ows(f.value.front()) && !is_ows(f.value.back()));
    }
}

// Runs one input through `p`. `on_head` checks and copies the target-specific parts of
// a head and says whether the message carries no body whatever its fields say.
template <class Parser, class OnHead>
void drive(Parser& p, std::string_view stream, const controls& c, OnHead on_head) {
    message_state m;
    std::size_t consumed = 0;  // bytes of `stream` the parser has taken, in total
    std::size_t resets = 0;
    bool upgraded = false;
    bool saw_need_more = true;  // finish() is only for after need_more (or before any byte)

    // Ends the message at an end_of_message event (from next() or finish()).
    auto end_message = [&] {
        HERALD_FUZZ_CHECK(m.open);
        if (m.no_body) HERALD_FUZZ_CHECK(m.body == 0);
        // A Content-Length body is exactly that long (RFC 9112 §6.3 item 6).
        if (m.content_length && !m.chunked && !m.no_body) HERALD_FUZZ_CHECK(m.body == *m.content_length);
        m.open = false;
        m.ended = true;
        m.closing = !p.keep_alive();
        m.end_consumed = consumed;
        m.start = consumed;
    };

    // After an error, the parser keeps saying so and takes nothing more.
    auto check_sticky = [&](std::string_view view) {
        const std::error_code ec = p.error();
        HERALD_FUZZ_CHECK(ec && ec.category() == http::error_category());
        const unsigned status = http::status_for(ec);
        HERALD_FUZZ_CHECK(status == 0 || (status >= 400 && status < 600));
        const std::string_view before = view;
        HERALD_FUZZ_CHECK(p.next(view).type == http::event_type::error);
        HERALD_FUZZ_CHECK(view.data() == before.data() && view.size() == before.size());
        HERALD_FUZZ_CHECK(p.error() == ec);
        HERALD_FUZZ_CHECK(p.finish().type == http::event_type::error && p.error() == ec);
    };

    std::size_t offset = 0;
    cutter cut{c, stream.size()};
    while (offset < stream.size() && !upgraded) {
        const std::size_t size = cut.next(stream.size() - offset);
        auto read = std::make_unique<char[]>(size);
        std::memcpy(read.get(), stream.data() + offset, size);
        const char* const first = read.get();
        std::string_view view{first, size};
        std::size_t idle_events = 0;  // events in a row that took no byte
        while (true) {
            const std::string_view before = view;
            const http::event ev = p.next(view);
            // The parser only removes bytes from the front of what it was given.
            HERALD_FUZZ_CHECK(view.size() <= before.size());
            HERALD_FUZZ_CHECK(view.data() == before.data() + (before.size() - view.size()));
            consumed += before.size() - view.size();
            HERALD_FUZZ_CHECK(consumed <= stream.size());
            // Events waiting in the parser are few (a head, a handful of body pieces, an
            // end, an upgrade); an endless run of events that take no byte is a hang.
            idle_events = before.size() == view.size() ? idle_events + 1 : 0;
            HERALD_FUZZ_CHECK(idle_events < 32);
            if (ev.type != http::event_type::body) m.ended = m.ended && ev.type == http::event_type::upgrade;

            switch (ev.type) {
            case http::event_type::need_more:
                // "every byte was consumed; read more and call again"
                HERALD_FUZZ_CHECK(view.empty());
                saw_need_more = true;
                break;
            case http::event_type::head: {
                HERALD_FUZZ_CHECK(!m.open);
                // After a message that closes the connection only an upgrade may follow.
                HERALD_FUZZ_CHECK(!m.closing);
                m.open = true;
                m.body = 0;
                m.content_length = p.content_length();
                m.chunked = p.chunked();
                check_head(p, c, consumed - m.start);
                m.no_body = on_head(p);
                break;
            }
            case http::event_type::body:
                HERALD_FUZZ_CHECK(m.open && !ev.data.empty());
                // A body piece points into the bytes this read delivered and the parser took.
                HERALD_FUZZ_CHECK(ev.data.data() >= first && ev.data.data() + ev.data.size() <= view.data());
                m.body += ev.data.size();
                HERALD_FUZZ_CHECK(m.body <= c.limits.max_body);
                if (m.content_length && !m.chunked) HERALD_FUZZ_CHECK(m.body <= *m.content_length);
                break;
            case http::event_type::end_of_message:
                end_message();
                break;
            case http::event_type::upgrade: {
                // Only right after the end of a message, having taken nothing since.
                HERALD_FUZZ_CHECK(m.ended && consumed == m.end_consumed);
                m.ended = false;
                m.closing = false;
                // The bytes left for the new protocol are exactly the rest of the stream
                // (the new protocol's first bytes: the parser must not have eaten them).
                HERALD_FUZZ_CHECK(std::memcmp(view.data(), stream.data() + consumed, view.size()) == 0);
                if (!c.decline_upgrade) upgraded = true;
                break;
            }
            case http::event_type::error:
                // next() reports what the peer did wrong, never a misuse of the API.
                HERALD_FUZZ_CHECK(p.error() != http::error::invalid_state);
                check_sticky(view);
                if (!c.reset_after_error || resets == 4) return;
                ++resets;
                p.reset();
                m = message_state{};
                m.start = consumed;
                continue;
            case http::event_type::closed:
                HERALD_FUZZ_CHECK(false);  // only finish() reports closed
                break;
            }
            if (upgraded || ev.type == http::event_type::need_more) break;
            saw_need_more = false;
        }
        offset += size;
    }

    // The peer closes. After an accepted upgrade the bytes belong to another protocol
    // and finishing HTTP is a misuse: the parser must say so, not misbehave.
    const http::event ev = p.finish();
    if (upgraded) {
        HERALD_FUZZ_CHECK(ev.type == http::event_type::error && p.error() == http::error::invalid_state);
        return;
    }
    HERALD_FUZZ_CHECK(saw_need_more);
    switch (ev.type) {
    case http::event_type::end_of_message:
        end_message();  // a body read until close (RFC 9112 §6.3 item 8)
        break;
    case http::event_type::closed:
        HERALD_FUZZ_CHECK(!m.open);  // a message cut short is partial_message, never closed
        break;
    case http::event_type::error:
        HERALD_FUZZ_CHECK(p.error() != http::error::invalid_state);
        check_sticky({});
        break;
    default: HERALD_FUZZ_CHECK(false);
    }
}

}  // namespace herald_fuzz

#endif
