// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_LONGPOLL_ERROR_HPP
#define HERALD_LONGPOLL_ERROR_HPP

// Errors of the long-poll core: the registry's limits, which keep clients from
// parking requests without end, and the poll request's parameters.

#include <herald/error.hpp>

#include <string>
#include <system_error>

namespace herald::longpoll {

enum class error {
    // Remote: limits a client ran into. An HTTP server answers 503 (the registry is
    // full: try later) or 400 (the key is too long).
    too_many_waiters = 1,      // limits::max_waiters requests are parked already
    too_many_waiters_for_key,  // limits::max_waiters_per_key are parked on this key
    key_too_long,              // a key longer than limits::max_key
    // Remote: a poll request's parameters (400).
    invalid_cursor,   // `since` is not a decimal number
    invalid_timeout,  // `timeout` is not a decimal number of seconds
    // Remote, seen by a client: an answer body that is not what encode_answer()
    // writes, or a status other than 200.
    invalid_answer,
    bad_status,
};

// The message of each error, for error_category() (herald/error.hpp enum_category).
inline const char* describe(error e) noexcept {
    switch (e) {
    case error::too_many_waiters: return "too many parked long-poll requests";
    case error::too_many_waiters_for_key: return "too many parked long-poll requests for this key";
    case error::key_too_long: return "long-poll key too long";
    case error::invalid_cursor: return "long-poll cursor is not a decimal number";
    case error::invalid_timeout: return "long-poll timeout is not a decimal number of seconds";
    case error::invalid_answer: return "long-poll answer is not valid";
    case error::bad_status: return "long-poll answered with a status other than 200";
    }
    return nullptr;
}

inline condition condition_of(error e) noexcept {
    switch (e) {
    case error::too_many_waiters:
    case error::too_many_waiters_for_key:
    case error::key_too_long: return condition::limit_exceeded;
    case error::invalid_cursor:
    case error::invalid_timeout:
    case error::invalid_answer:
    case error::bad_status: return condition::protocol_violation;
    }
    return condition::protocol_violation;
}

HERALD_VISIBLE inline const std::error_category& error_category() noexcept {
    static const herald::detail::enum_category<error> instance{"herald.longpoll"};
    return instance;
}

inline std::error_code make_error_code(error e) noexcept {
    return {static_cast<int>(e), error_category()};
}

}  // namespace herald::longpoll

template <>
struct std::is_error_code_enum<herald::longpoll::error> : std::true_type {};

#endif
