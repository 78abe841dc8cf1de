// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_LONGPOLL_ANSWER_HPP
#define HERALD_LONGPOLL_ANSWER_HPP

// The wire format of long polling, shared by the server adapter and the client.
//
// A poll is `GET <path>?since=N[&timeout=S][&key=K]`: the cursor the client has
// seen (0 at first), how many seconds the server may hold the request, and the
// topic (empty when absent). The answer is always `200` with a JSON body
//
//   {"cursor":12,"reset":false,"messages":["first","second"]}
//
// `cursor` is what the client sends as `since` next; `messages` are the messages
// after its old cursor, oldest first, and empty when the poll timed out. `reset`
// is true when the old cursor could not be resumed (it was never issued here, or
// the messages after it were evicted): `messages` then holds what is still kept,
// and the client resynchronises before relying on them. RFC 8259 JSON, UTF-8.

#include <herald/json.hpp>
#include <herald/http/message.hpp>
#include <herald/longpoll/error.hpp>

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace herald::longpoll {

struct poll_query {
    std::string key;
    std::uint64_t since = 0;
    std::optional<std::uint32_t> timeout_seconds;
};

struct answer {
    std::uint64_t cursor = 0;
    bool reset = false;
    std::vector<std::string> messages;
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

// A reader for exactly the JSON that encode_answer() writes, whitespace allowed
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
                if (!number(out.cursor)) return false;
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

    bool number(std::uint64_t& out) noexcept {
        skip_space();
        std::size_t end = at_;
        while (end < text_.size() && text_[end] >= '0' && text_[end] <= '9') ++end;
        if (!parse_decimal(text_.substr(at_, end - at_), out)) return false;
        at_ = end;
        return true;
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
            if (!string(out.back())) return false;
        } while (take(','));
        return take(']');
    }

    std::string_view text_;
    std::size_t at_ = 0;
};

}  // namespace detail

// Reads `since`, `timeout` and `key` from a request target's query; other
// parameters are ignored. A missing `since` is 0.
inline std::error_code parse_poll_query(std::string_view target, poll_query& out) {
    out = {};
    const auto question = target.find('?');
    if (question == std::string_view::npos) return {};
    std::string_view query = target.substr(question + 1);
    query = query.substr(0, query.find('#'));
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        const auto eq = pair.find('=');
        const std::string_view name = pair.substr(0, eq);
        const std::string_view value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        if (name == "since") {
            if (!detail::parse_decimal(value, out.since)) return error::invalid_cursor;
        } else if (name == "timeout") {
            std::uint32_t seconds = 0;
            if (!detail::parse_decimal(value, seconds)) return error::invalid_timeout;
            out.timeout_seconds = seconds;
        } else if (name == "key") {
            out.key = http::form_decode(value);
        }
    }
    return {};
}

// Appends `?key=K&since=N&timeout=S` for a poll (the inverse of parse_poll_query):
// the key percent-encoded, all but RFC 3986 §2.3 unreserved characters.
inline void append_poll_query(std::string_view key, std::uint64_t since, std::optional<std::uint32_t> timeout_seconds,
                              std::string& out) {
    constexpr std::string_view hex = "0123456789ABCDEF";
    out += "?key=";
    for (const char c : key) {
        const auto u = static_cast<unsigned char>(c);
        if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(hex[u >> 4]);
            out.push_back(hex[u & 0xf]);
        }
    }
    out += "&since=";
    out += std::to_string(since);
    if (timeout_seconds) {
        out += "&timeout=";
        out += std::to_string(*timeout_seconds);
    }
}

// Appends the answer body; `messages` is any range of string-like values.
template <class Messages>
void encode_answer(std::uint64_t cursor, bool reset, const Messages& messages, std::string& out) {
    out += "{\"cursor\":";
    out += std::to_string(cursor);
    out += reset ? ",\"reset\":true,\"messages\":[" : ",\"reset\":false,\"messages\":[";
    bool first = true;
    for (const auto& message : messages) {
        if (!first) out.push_back(',');
        first = false;
        append_json_string(std::string_view(message), out);
    }
    out += "]}";
}

inline std::error_code decode_answer(std::string_view body, answer& out) {
    out = {};
    if (!detail::answer_reader(body).read(out)) return error::invalid_answer;
    return {};
}

}  // namespace herald::longpoll

#endif
