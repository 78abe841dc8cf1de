// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_REDIS_REPLY_HPP
#define HERALD_REDIS_REPLY_HPP

// One Redis reply (RESP2), owned: hiredis's redisReply copied into values, so
// nothing of hiredis leaks past the reader and a reply may be moved to any thread.

#include <string>
#include <string_view>
#include <vector>

namespace herald::redis {

struct reply {
    enum class kind { nil, string, status, error, integer, array };

    kind type = kind::nil;
    std::string text;        // string, status and error: the bytes as sent
    long long integer = 0;   // integer
    std::vector<reply> elements;  // array

    bool is_error() const noexcept { return type == kind::error; }
    // An error reply whose code (its first word) is `code`: "NOSCRIPT", "BUSY", ...
    bool is_error(std::string_view code) const noexcept {
        return is_error() && text.compare(0, code.size(), code) == 0 &&
               (text.size() == code.size() || text[code.size()] == ' ');
    }
    // The n-th element when this is an array of at least n + 1 elements.
    const reply* at(std::size_t n) const noexcept { return type == kind::array && n < elements.size() ? &elements[n] : nullptr; }
};

}  // namespace herald::redis

#endif
