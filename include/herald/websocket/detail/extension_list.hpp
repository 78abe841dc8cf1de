// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_WEBSOCKET_DETAIL_EXTENSION_LIST_HPP
#define HERALD_WEBSOCKET_DETAIL_EXTENSION_LIST_HPP

// Sec-WebSocket-Extensions values, parsed (RFC 6455 §9.1):
//
//   extension-list = 1#extension
//   extension      = extension-token *( ";" extension-param )
//   extension-param = token [ "=" (token | quoted-string) ]
//     ; "When using the quoted-string syntax variant, the value after
//     ;  quoted-string unescaping MUST conform to the 'token' ABNF."
//
// An element that breaks the grammar is kept with `valid` false, so a server can
// decline that offer alone and a client can fail on it; commas inside a quoted
// string do not split elements.

#include <herald/http/fields.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace herald::websocket::detail {

struct extension_param {
    std::string name;
    std::string value;  // unescaped; empty when has_value is false
    bool has_value = false;
};

struct extension {
    std::string name;
    std::vector<extension_param> params;
    bool valid = true;
};

// RFC 9110 §5.6.2 tchar and token, as HTTP field names are checked.
constexpr bool is_tchar(char c) noexcept { return http::detail::is_tchar(static_cast<unsigned char>(c)); }
using http::detail::is_token;

class extension_reader {
public:
    explicit extension_reader(std::string_view value) noexcept : in_(value) {}

    // Appends every element of the value to `out`.
    void read_all(std::vector<extension>& out) {
        while (true) {
            skip_ows();
            if (at_end()) return;
            if (peek() == ',') {  // empty list elements are allowed (RFC 9110 §5.6.1)
                ++pos_;
                continue;
            }
            out.push_back(read_one());
        }
    }

private:
    extension read_one() {
        extension e;
        e.name = std::string(read_token());
        e.valid = !e.name.empty();
        while (e.valid) {
            skip_ows();
            if (at_end() || peek() == ',') break;
            if (peek() != ';') {
                e.valid = false;
                break;
            }
            ++pos_;
            skip_ows();
            extension_param p;
            p.name = std::string(read_token());
            skip_ows();
            if (!at_end() && peek() == '=') {
                ++pos_;
                skip_ows();
                p.has_value = true;
                if (!at_end() && peek() == '"') {
                    if (!read_quoted(p.value) || !is_token(p.value)) e.valid = false;
                } else {
                    p.value = std::string(read_token());
                    if (p.value.empty()) e.valid = false;
                }
            }
            if (p.name.empty()) e.valid = false;
            e.params.push_back(std::move(p));
        }
        if (!e.valid) skip_element();
        return e;
    }

    std::string_view read_token() noexcept {
        const std::size_t from = pos_;
        while (!at_end() && is_tchar(peek())) ++pos_;
        return in_.substr(from, pos_ - from);
    }

    // RFC 9110 §5.6.4 quoted-string, with its quoted-pairs unescaped.
    bool read_quoted(std::string& out) {
        ++pos_;  // the opening quote
        while (!at_end()) {
            const char c = in_[pos_++];
            if (c == '"') return true;
            if (c == '\\') {
                if (at_end()) return false;
                out += in_[pos_++];
            } else {
                out += c;
            }
        }
        return false;  // unterminated
    }

    // Past the rest of a broken element: to the next comma outside quotes.
    void skip_element() noexcept {
        bool quoted = false;
        while (!at_end()) {
            const char c = in_[pos_];
            if (!quoted && c == ',') return;
            if (c == '"') quoted = !quoted;
            if (c == '\\' && quoted) ++pos_;
            ++pos_;
        }
    }

    void skip_ows() noexcept {
        while (!at_end() && (peek() == ' ' || peek() == '\t')) ++pos_;
    }
    bool at_end() const noexcept { return pos_ >= in_.size(); }
    char peek() const noexcept { return in_[pos_]; }

    std::string_view in_;
    std::size_t pos_ = 0;
};

}  // namespace herald::websocket::detail

#endif
