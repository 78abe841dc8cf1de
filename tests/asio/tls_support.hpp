// TLS contexts for the loopback tests, from the self-signed certificates of
// tests/support/certificates.hpp.
#ifndef HERALD_TESTS_ASIO_TLS_SUPPORT_HPP
#define HERALD_TESTS_ASIO_TLS_SUPPORT_HPP

#include "../support/certificates.hpp"

#include <herald/asio/tls.hpp>

#include <catch2/catch.hpp>

#include <memory>

namespace herald::testing {

// A server's context presenting `c`.
inline std::shared_ptr<asio::ssl::context> tls_server_context(
    const test_support::certificate& c = test_support::localhost_certificate()) {
    std::error_code ec;
    auto ctx = tls::make_server_context({c.cert, c.key}, ec);
    REQUIRE_FALSE(ec);
    return ctx;
}

// A client's context that trusts `c` (its own authority).
inline std::shared_ptr<asio::ssl::context> tls_client_context(
    const test_support::certificate& c = test_support::localhost_certificate()) {
    std::error_code ec;
    auto ctx = tls::make_client_context(c.cert, ec);
    REQUIRE_FALSE(ec);
    return ctx;
}

}  // namespace herald::testing

#endif
