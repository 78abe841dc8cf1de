// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_REDIS_PROTOCOL_HPP
#define HERALD_REDIS_PROTOCOL_HPP

// RESP2 by hiredis (Debian libhiredis-dev 0.14): commands formatted with
// redisFormatCommandArgv, replies parsed with its redisReader. No sockets here:
// the Asio connection (asio/redis/connection.hpp) moves the bytes. hiredis's
// reader is the one RESP parser herald uses; none is written by hand.

#include <herald/redis/error.hpp>
#include <herald/redis/reply.hpp>

#include <hiredis/hiredis.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace herald::redis {

// Appends the RESP form of the command `args` (name first) to `out`.
inline void append_command(std::span<const std::string_view> args, std::string& out) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (const auto& a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
    }
    char* formatted = nullptr;
    const int n = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), argv.data(), lengths.data());
    if (n < 0 || !formatted) throw std::bad_alloc();  // hiredis fails only when out of memory
    out.append(formatted, static_cast<std::size_t>(n));
    redisFreeCommand(formatted);
}

inline void append_command(std::initializer_list<std::string_view> args, std::string& out) {
    append_command(std::span<const std::string_view>(args.begin(), args.size()), out);
}

// Feeds bytes from the server, gives whole replies.
class reader {
public:
    reader() : r_(redisReaderCreate()) {
        if (!r_) throw std::bad_alloc();
    }

    // Adds bytes read from the server.
    std::error_code feed(std::string_view bytes) {
        if (failed_ || redisReaderFeed(r_.get(), bytes.data(), bytes.size()) != REDIS_OK) return fail();
        return {};
    }

    // The next whole reply, if one is complete; error::bad_reply once the bytes
    // are not RESP (the connection cannot be used after that).
    std::optional<reply> next(std::error_code& ec) {
        void* raw = nullptr;
        if (failed_ || redisReaderGetReply(r_.get(), &raw) != REDIS_OK) {
            ec = fail();
            return std::nullopt;
        }
        if (!raw) return std::nullopt;
        const std::unique_ptr<redisReply, void (*)(void*)> owned(static_cast<redisReply*>(raw), freeReplyObject);
        return convert(*owned);
    }

private:
    struct free_reader {
        void operator()(redisReader* r) const noexcept { redisReaderFree(r); }
    };

    std::error_code fail() {
        failed_ = true;
        return error::bad_reply;
    }

    static reply convert(const redisReply& r) {
        reply out;
        switch (r.type) {
        case REDIS_REPLY_STRING: out.type = reply::kind::string; break;
        case REDIS_REPLY_STATUS: out.type = reply::kind::status; break;
        case REDIS_REPLY_ERROR: out.type = reply::kind::error; break;
        case REDIS_REPLY_INTEGER: out.type = reply::kind::integer; break;
        case REDIS_REPLY_ARRAY: out.type = reply::kind::array; break;
        default: out.type = reply::kind::nil; break;
        }
        if (r.str) out.text.assign(r.str, r.len);
        out.integer = r.integer;
        out.elements.reserve(r.elements);
        for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(convert(*r.element[i]));
        return out;
    }

    std::unique_ptr<redisReader, free_reader> r_;
    bool failed_ = false;
};

}  // namespace herald::redis

#endif
