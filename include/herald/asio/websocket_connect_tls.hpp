// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_WEBSOCKET_CONNECT_TLS_HPP
#define HERALD_ASIO_WEBSOCKET_CONNECT_TLS_HPP

// A wss:// client in one call (target herald::tls):
//
//   auto context = tls::make_client_context("", ec);  // the system's authorities
//   websocket::stream<asio::ssl::stream<asio::ip::tcp::socket>> ws{{io, *context}, random};
//   websocket::async_connect(ws, "wss://example.com/chat", token);  // -> (ec)
//
// resolves, connects, runs the TLS handshake with the URI's host as SNI and as
// the name the certificate must carry (tls::verify_host; a context without
// verify_peer skips the check), then the WebSocket handshake. Errors: bad_uri
// (also for a ws:// URI: this stream speaks TLS), the resolver's, the socket's,
// the TLS handshake's (asio::ssl::error, OpenSSL's: a certificate that does not
// verify), or the WebSocket handshake's.

#include <herald/asio/tls.hpp>
#include <herald/asio/websocket_connect.hpp>

namespace herald::websocket {

namespace detail {

struct tls_connect {
    template <class Socket, class Self>
    static bool before_handshake(asio::ssl::stream<Socket>& tls, const uri& target, Self& self) {
        if (!tls::verify_host(tls, target.host)) {
            self.complete(asio::error::invalid_argument);
            return true;
        }
        tls.async_handshake(asio::ssl::stream_base::client, std::move(self));
        return true;
    }
};

}  // namespace detail

template <class Token>
auto async_connect(stream<asio::ssl::stream<asio::ip::tcp::socket>>& ws, std::string_view uri_text, Token&& token) {
    detail::connect_op<stream<asio::ssl::stream<asio::ip::tcp::socket>>, detail::tls_connect> op{&ws, {}, {}, {}, false};
    op.early = parse_uri(uri_text, op.target);
    if (!op.early && !op.target.secure) op.early = error::bad_uri;
    return asio::async_compose<Token, void(std::error_code)>(std::move(op), token, ws);
}

}  // namespace herald::websocket

#endif
