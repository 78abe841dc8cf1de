// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ERROR_HPP
#define HERALD_ERROR_HPP

// The error model (DESIGN.md "Errors"): every module has its own `enum class error`
// with a category; this header holds what they share, the `condition` that groups
// them so callers can ask "was this a limit?" without knowing the module.

#include <herald/config.hpp>

#include <string>
#include <system_error>

namespace herald {

enum class condition {
    protocol_violation = 1,  // the peer broke the protocol (a remote error)
    limit_exceeded,          // the peer sent more than a configured limit allows
    handshake_failed,        // an upgrade or opening handshake was refused
    invalid_state,           // the caller misused the API (a local error)
};

namespace detail {

class condition_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "herald"; }
    std::string message(int value) const override {
        switch (static_cast<condition>(value)) {
        case condition::protocol_violation: return "the peer violated the protocol";
        case condition::limit_exceeded: return "a configured limit was exceeded";
        case condition::handshake_failed: return "the handshake failed";
        case condition::invalid_state: return "the operation is not valid in this state";
        }
        return "unknown herald condition";
    }
};

}  // namespace detail

HERALD_VISIBLE inline const std::error_category& condition_category() noexcept {
    static const detail::condition_category_impl instance;
    return instance;
}

inline std::error_condition make_error_condition(condition c) noexcept {
    return {static_cast<int>(c), condition_category()};
}

namespace detail {

// The category of a module's `enum class error`. The module defines, next to its
// enum, `describe(e)` (the message; nullptr when unknown) and `condition_of(e)`,
// which this finds by argument-dependent lookup; its error_category() returns a
// static enum_category<error>{"herald.<module>"}.
template <class Enum>
class enum_category final : public std::error_category {
public:
    explicit enum_category(const char* category_name) noexcept : name_(category_name) {}

    const char* name() const noexcept override { return name_; }

    std::string message(int value) const override {
        if (const char* text = describe(static_cast<Enum>(value))) return text;
        return std::string("unknown ") + name_ + " error";
    }

    std::error_condition default_error_condition(int value) const noexcept override {
        return condition_of(static_cast<Enum>(value));
    }

private:
    const char* name_;
};

}  // namespace detail

}  // namespace herald

template <>
struct std::is_error_condition_enum<herald::condition> : std::true_type {};

#endif
