// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_LONGPOLL_ANSWER_HPP
#define HERALD_LONGPOLL_ANSWER_HPP

// The wire format of long polling, as a client reads it. It is the hub's poll
// (hub/wire.hpp writes it; every herald long-poll server answers it):
//
// A poll is `GET <path>?topic=T[&since=C][&timeout=S]`: the topic, the cursor the
// client has seen (`<epoch>-<seq>`; none at first) and how many seconds the server
// may hold the request. The answer is `200` with a JSON body
//
//   {"cursor":"e-12","reset":false,"messages":[{"id":"e-11","topic":"T","data":"first"},...]}
//
// `cursor` is what the client sends as `since` next; `messages` are the messages
// after its old cursor, oldest first, and empty when the poll timed out (or when
// it came without a cursor: it learns where "now" is). `reset` is true when the
// old cursor could not be resumed (another epoch — a restarted server —, evicted,
// never issued): the client resynchronises and continues from `cursor`.
// RFC 8259 JSON, UTF-8.

#include <herald/history.hpp>
#include <herald/json.hpp>
#include <herald/http/message.hpp>
#include <herald/longpoll/error.hpp>

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace herald::longpoll {

struct poll_query {
    std::optional<std::string> topic;
    std::optional<std::string> since;
    std::optional<std::uint32_t> timeout_seconds;
};

struct answer {
    std::string cursor;
    bool reset = false;
    std::vector<std::string> messages;  // each message's data
};

namespace detail {

template <class Number>
bool parse_decimal(std::string_view text, Number& out) noexcept {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return !text.empty() && ec == std::errc{} && end == text.data() + text.size();
}

inline void append_utf8(std::uint32_t cp, std::string& out) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
        out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
}

// A reader for exactly the JSON that hub::poll_body() writes, whitespace allowed
// between tokens (RFC 8259 §2), keys in any order.
class answer_reader {
public:
    explicit answer_reader(std::string_view text) noexcept : text_(text) {}

    bool read(answer& out) {
        bool cursor_seen = false;
        if (!take('{')) return false;
        if (take('}')) return false;
        do {
            std::string key;
            if (!string(key) || !take(':')) return false;
            if (key == "cursor") {
                if (!string(out.cursor)) return false;
                cursor_seen = true;
            } else if (key == "reset") {
                if (!boolean(out.reset)) return false;
            } else if (key == "messages") {
                if (!messages(out.messages)) return false;
            } else {
                return false;
            }
        } while (take(','));
        if (!take('}')) return false;
        skip_space();
        return cursor_seen && at_ == text_.size();
    }

private:
    void skip_space() noexcept {
        while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t' || text_[at_] == '\n' || text_[at_] == '\r'))
            ++at_;
    }

    bool take(char c) noexcept {
        skip_space();
        if (at_ < text_.size() && text_[at_] == c) {
            ++at_;
            return true;
        }
        return false;
    }

    bool literal(std::string_view word) noexcept {
        skip_space();
        if (text_.substr(at_, word.size()) != word) return false;
        at_ += word.size();
        return true;
    }

    bool boolean(bool& out) noexcept {
        if (literal("true")) return out = true, true;
        if (literal("false")) return out = false, true;
        return false;
    }

    bool hex4(std::uint32_t& out) noexcept {
        if (text_.size() - at_ < 4) return false;
        out = 0;
        for (int i = 0; i < 4; ++i) {
            const int v = http::detail::hex_value(text_[at_++]);
            if (v < 0) return false;
            out = out * 16 + static_cast<std::uint32_t>(v);
        }
        return true;
    }

    bool string(std::string& out) {
        if (!take('"')) return false;
        while (at_ < text_.size()) {
            const char c = text_[at_++];
            if (c == '"') return true;
            if (static_cast<unsigned char>(c) < 0x20) return false;
            if (c != '\\') {
                out.push_back(c);
                continue;
            }
            if (at_ == text_.size()) return false;
            switch (text_[at_++]) {
            case '"': out.push_back('"'); break;
            case '\\': out.push_back('\\'); break;
            case '/': out.push_back('/'); break;
            case 'b': out.push_back('\b'); break;
            case 'f': out.push_back('\f'); break;
            case 'n': out.push_back('\n'); break;
            case 'r': out.push_back('\r'); break;
            case 't': out.push_back('\t'); break;
            case 'u': {
                std::uint32_t cp;
                if (!hex4(cp)) return false;
                if (cp >= 0xdc00 && cp <= 0xdfff) return false;  // a lone low surrogate
                if (cp >= 0xd800 && cp <= 0xdbff) {              // RFC 8259 §7: a surrogate pair
                    std::uint32_t low;
                    if (text_.substr(at_, 2) != "\\u") return false;
                    at_ += 2;
                    if (!hex4(low) || low < 0xdc00 || low > 0xdfff) return false;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                }
                append_utf8(cp, out);
                break;
            }
            default: return false;
            }
        }
        return false;
    }

    bool messages(std::vector<std::string>& out) {
        out.clear();
        if (!take('[')) return false;
        if (take(']')) return true;
        do {
            out.emplace_back();
            if (!message(out.back())) return false;
        } while (take(','));
        return take(']');
    }

    // {"id":..,"topic":..,"data":..}: its data.
    bool message(std::string& data) {
        bool data_seen = false;
        if (!take('{')) return false;
        do {
            std::string key, value;
            if (!string(key) || !take(':') || !string(value)) return false;
            if (key == "data") data = std::move(value), data_seen = true;
            else if (key != "id" && key != "topic") return false;
        } while (take(','));
        return take('}') && data_seen;
    }

    std::string_view text_;
    std::size_t at_ = 0;
};

}  // namespace detail

// Reads `topic`, `since` and `timeout` from a request target's query; other
// parameters are ignored. -> invalid_cursor when `since` is not "<epoch>-<seq>",
// invalid_timeout when `timeout` is not a number of seconds.
inline std::error_code parse_poll_query(std::string_view target, poll_query& out) {
    out = {};
    out.topic = http::query_value(target, "topic");
    out.since = http::query_value(target, "since");
    if (out.since && !out.since->empty() && !split_position(*out.since)) return error::invalid_cursor;
    if (const auto timeout = http::query_value(target, "timeout")) {
        std::uint32_t seconds = 0;
        if (!detail::parse_decimal(*timeout, seconds)) return error::invalid_timeout;
        out.timeout_seconds = seconds;
    }
    return {};
}

namespace detail {
// RFC 3986 §2.3: all but the unreserved characters percent-encoded.
inline void append_query_value(std::string_view value, std::string& out) {
    constexpr std::string_view hex = "0123456789ABCDEF";
    for (const char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(hex[u >> 4]);
            out.push_back(hex[u & 0xf]);
        }
    }
}
}  // namespace detail

// Appends `?topic=T&since=C&timeout=S` for a poll (the inverse of
// parse_poll_query), leaving out an empty topic (the server's default) or cursor.
inline void append_poll_query(std::string_view topic, std::string_view since, std::optional<std::uint32_t> timeout_seconds,
                              std::string& out) {
    char separator = '?';
    const auto parameter = [&](std::string_view name) {
        out.push_back(std::exchange(separator, '&'));
        out += name;
        out.push_back('=');
    };
    if (!topic.empty()) parameter("topic"), detail::append_query_value(topic, out);
    if (!since.empty()) parameter("since"), detail::append_query_value(since, out);
    if (timeout_seconds) parameter("timeout"), out += std::to_string(*timeout_seconds);
}

inline std::error_code decode_answer(std::string_view body, answer& out) {
    out = {};
    if (!detail::answer_reader(body).read(out)) return error::invalid_answer;
    return {};
}

}  // namespace herald::longpoll

#endif
