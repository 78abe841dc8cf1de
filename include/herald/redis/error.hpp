// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_REDIS_ERROR_HPP
#define HERALD_REDIS_ERROR_HPP

// Errors of herald's Redis client. A reply that is a Redis error ("-ERR ...",
// "-NOSCRIPT ...") is not one of these: it is a reply, of kind error, with Redis's
// own text, which the caller reads. These say that no reply came.

#include <herald/error.hpp>

#include <string>
#include <system_error>

namespace herald::redis {

enum class error {
    not_connected = 1,  // a command on a connection that is not (or no longer) connected
    connection_lost,    // the server closed the connection, or it failed: pending commands have no answer
    timed_out,          // a command (or the connect) had no answer in time: the connection is closed
    bad_reply,          // the server's bytes are not RESP (hiredis's reader refused them)
    too_many_pending,   // connection_options::max_pending commands wait already
    closed,             // close() was called
    refused,            // Redis answered a command with an error reply (the reply says which)
};

inline const char* describe(error e) noexcept {
    switch (e) {
    case error::not_connected: return "not connected to Redis";
    case error::connection_lost: return "the connection to Redis was lost";
    case error::timed_out: return "Redis did not answer in time";
    case error::bad_reply: return "Redis sent bytes that are not RESP";
    case error::too_many_pending: return "too many Redis commands wait for an answer";
    case error::closed: return "the Redis connection was closed";
    case error::refused: return "Redis refused the command";
    }
    return nullptr;
}

inline condition condition_of(error e) noexcept {
    switch (e) {
    case error::bad_reply: return condition::protocol_violation;
    case error::too_many_pending: return condition::limit_exceeded;
    case error::refused:
    case error::not_connected:
    case error::connection_lost:
    case error::timed_out:
    case error::closed: return condition::invalid_state;
    }
    return condition::invalid_state;
}

HERALD_VISIBLE inline const std::error_category& error_category() noexcept {
    static const herald::detail::enum_category<error> instance{"herald.redis"};
    return instance;
}

inline std::error_code make_error_code(error e) noexcept { return {static_cast<int>(e), error_category()}; }

}  // namespace herald::redis

template <>
struct std::is_error_code_enum<herald::redis::error> : std::true_type {};

#endif
