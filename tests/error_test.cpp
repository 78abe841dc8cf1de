#include <herald/error.hpp>
#include <herald/http/error.hpp>
#include <herald/longpoll/error.hpp>
#include <herald/websocket/error.hpp>
#include <herald/hub/error.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <string>

using namespace herald;

TEST_CASE("every http error has a distinct message and a condition", "[error]") {
    std::set<std::string> messages;
    const int last = static_cast<int>(http::error::invalid_target);  // the last enumerator
    for (int value = 1; value <= last; ++value) {
        const std::error_code ec = static_cast<http::error>(value);
        INFO("value " << value);
        CHECK(ec.message() != "unknown herald.http error");
        CHECK(messages.insert(ec.message()).second);
        const bool grouped = ec == condition::protocol_violation || ec == condition::limit_exceeded ||
                             ec == condition::invalid_state;
        CHECK(grouped);
    }
    CHECK(std::string(http::error_category().name()) == "herald.http");
}

TEST_CASE("http errors map to the status a server answers with", "[error]") {
    CHECK(http::status_for(http::error::bad_field) == 400);
    CHECK(http::status_for(http::error::unknown_method) == 501);
    CHECK(http::status_for(http::error::target_too_long) == 414);
    CHECK(http::status_for(http::error::header_too_large) == 431);
    CHECK(http::status_for(http::error::too_many_fields) == 431);
    CHECK(http::status_for(http::error::body_too_large) == 413);
    CHECK(http::status_for(http::error::version_not_supported) == 505);
    CHECK(http::status_for(http::error::partial_message) == 0);
    CHECK(http::status_for(http::error::invalid_state) == 0);
    CHECK(http::status_for(std::make_error_code(std::errc::connection_reset)) == 0);
}

TEST_CASE("conditions group errors across modules", "[error]") {
    CHECK(std::error_code(http::error::body_too_large) == condition::limit_exceeded);
    CHECK(std::error_code(http::error::bad_chunk) == condition::protocol_violation);
    CHECK(std::error_code(http::error::invalid_field_value) == condition::invalid_state);
    CHECK(std::error_code(http::error::bad_chunk) != condition::limit_exceeded);
    CHECK(std::make_error_code(std::errc::invalid_argument) != condition::invalid_state);
    std::set<std::string> messages;
    for (auto c : {condition::protocol_violation, condition::limit_exceeded, condition::handshake_failed,
                   condition::invalid_state})
        CHECK(messages.insert(make_error_condition(c).message()).second);
}

TEST_CASE("every longpoll error has a distinct message and a condition", "[error]") {
    std::set<std::string> messages;
    const int last = static_cast<int>(longpoll::error::bad_status);
    for (int value = 1; value <= last; ++value) {
        const std::error_code ec = static_cast<longpoll::error>(value);
        INFO("value " << value);
        CHECK(ec.message() != "unknown herald.longpoll error");
        CHECK(messages.insert(ec.message()).second);
        CHECK((ec == condition::protocol_violation || ec == condition::limit_exceeded));
    }
    CHECK(std::error_code(longpoll::error::too_many_waiters) == condition::limit_exceeded);
}

TEST_CASE("every websocket error has a distinct message a condition and the right answer", "[error]") {
    std::set<std::string> messages;
    const int last = static_cast<int>(websocket::error::needs_tls);
    for (int value = 1; value <= last; ++value) {
        const std::error_code ec = static_cast<websocket::error>(value);
        INFO("value " << value);
        CHECK(ec.message() != "unknown herald.websocket error");
        CHECK(messages.insert(ec.message()).second);
        const bool remote_frame = ec == condition::protocol_violation || ec == condition::limit_exceeded;
        // Every framing or payload error has a close code, and only those.
        CHECK((websocket::close_code_for(ec) != 0) == remote_frame);
        CHECK((websocket::handshake_status_for(ec) != 0) == (ec == condition::handshake_failed && value <= static_cast<int>(websocket::error::origin_refused)));
    }
    CHECK(websocket::close_code_for(websocket::error::invalid_utf8) == 1007);
    CHECK(websocket::close_code_for(websocket::error::message_too_big) == 1009);
    CHECK(websocket::close_code_for(websocket::error::bad_masking) == 1002);
    CHECK(websocket::close_code_for(std::make_error_code(std::errc::connection_reset)) == 0);
    for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999})
        CHECK(websocket::is_sendable_close_code(static_cast<std::uint16_t>(code)));
    for (int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000})
        CHECK_FALSE(websocket::is_sendable_close_code(static_cast<std::uint16_t>(code)));
}

TEST_CASE("every hub error has a distinct message and a condition", "[error]") {
    std::set<std::string> messages;
    for (int value = 1; value <= static_cast<int>(hub::error::idempotency_key_reused); ++value) {
        const std::error_code ec = static_cast<hub::error>(value);
        CHECK(ec.message() != "unknown herald.hub error");
        CHECK(messages.insert(ec.message()).second);
        CHECK((ec == condition::protocol_violation || ec == condition::limit_exceeded || ec == condition::invalid_state));
        CHECK(hub::status_for(ec) != 0);
    }
}
