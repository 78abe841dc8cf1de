// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_HUB_ERROR_HPP
#define HERALD_HUB_ERROR_HPP

// Errors of the hub: what a publisher is refused for. All are the publisher's
// doing (a remote error when the message came over HTTP: 400 or 413), and nothing
// is kept or sent when one is returned.

#include <herald/error.hpp>

#include <string>
#include <system_error>

namespace herald::hub {

enum class error {
    not_utf8 = 1,      // message data must be UTF-8: JSON and SSE carry text (RFC 8259 §8.1)
    message_too_big,   // over topic_limits::max_message_bytes
    bad_topic_name,    // empty, over 64 bytes, or not [A-Za-z0-9_.:-]
    too_many_topics,   // over hub_limits::max_topics
    subscribed_elsewhere,  // the subscriber is attached to another hub (unsubscribe it there first)
    bad_sequence,      // a broker numbered a message 0 (sequence numbers start at 1)
    bad_event_name,    // an event name with CR or LF, not UTF-8, or over 64 bytes
    asynchronous_broker,  // a publish that must wait for its broker was asked to answer at once
    idempotency_key_reused,  // a publish's Idempotency-Key came before with another body (hub/idempotency.hpp)
};

// The message of each error, for error_category() (herald/error.hpp enum_category).
inline const char* describe(error e) noexcept {
    switch (e) {
    case error::not_utf8: return "message is not UTF-8";
    case error::message_too_big: return "message too big for the topic";
    case error::bad_topic_name: return "topic name is empty, too long or has characters other than A-Z a-z 0-9 _ . : -";
    case error::too_many_topics: return "too many topics";
    case error::subscribed_elsewhere: return "the subscriber is attached to another hub";
    case error::bad_sequence: return "sequence numbers start at 1";
    case error::bad_event_name: return "event name has CR or LF, is not UTF-8 or is over 64 bytes";
    case error::asynchronous_broker: return "the broker answers later: publish with a completion handler";
    case error::idempotency_key_reused: return "this Idempotency-Key was used before with another body";
    }
    return nullptr;
}

inline condition condition_of(error e) noexcept {
    switch (e) {
    case error::not_utf8:
    case error::idempotency_key_reused:
    case error::bad_event_name:
    case error::bad_topic_name: return condition::protocol_violation;
    case error::message_too_big:
    case error::too_many_topics: return condition::limit_exceeded;
    case error::subscribed_elsewhere:
    case error::bad_sequence:
    case error::asynchronous_broker: return condition::invalid_state;
    }
    return condition::protocol_violation;
}

HERALD_VISIBLE inline const std::error_category& error_category() noexcept {
    static const herald::detail::enum_category<error> instance{"herald.hub"};
    return instance;
}

inline std::error_code make_error_code(error e) noexcept {
    return {static_cast<int>(e), error_category()};
}

// The HTTP status that answers a refused publish: 400 (not UTF-8, bad topic name),
// 413 (too big), 503 (no room for another topic: the server's limit, not the request's).
inline unsigned status_for(std::error_code ec) noexcept {
    if (ec.category() != error_category()) return 0;
    if (ec.value() == static_cast<int>(error::too_many_topics)) return 503;
    if (ec.value() == static_cast<int>(error::idempotency_key_reused)) return 422;  // draft-ietf-httpapi-idempotency-key-header
    return ec == condition::limit_exceeded ? 413 : 400;
}

}  // namespace herald::hub

template <>
struct std::is_error_code_enum<herald::hub::error> : std::true_type {};

#endif
