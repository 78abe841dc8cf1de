// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_WEBSOCKET_CONNECT_HPP
#define HERALD_ASIO_WEBSOCKET_CONNECT_HPP

// A client WebSocket from a URI in one call:
//
//   websocket::stream<asio::ip::tcp::socket> ws{asio::ip::tcp::socket{io}, random};
//   websocket::async_connect(ws, "ws://127.0.0.1:9001/chat", token);  // -> (ec)
//
// parses the URI (websocket/uri.hpp), resolves the host, connects to the first
// address that answers (asio::async_connect tries each in turn) and runs the
// opening handshake with the URI's Host field and target. Errors: bad_uri,
// needs_tls for wss:// (this stream has no TLS), the resolver's or the socket's,
// or the handshake's (not_switching, bad_accept, ...). websocket_connect_tls.hpp
// does the same for wss:// on a stream over asio::ssl::stream.

#include <herald/asio/detail/post_complete.hpp>
#include <herald/asio/websocket.hpp>
#include <herald/websocket/uri.hpp>

#include <asio/compose.hpp>
#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>

#include <memory>
#include <string>

namespace herald::websocket {

namespace detail {

// Nothing between the TCP connect and the WebSocket handshake: ws://.
struct plain_connect {
    template <class NextLayer, class Self>
    static bool before_handshake(NextLayer&, const uri&, Self&) {
        return false;
    }
};

// Resolve, connect, then Secure::before_handshake (TLS: its handshake, which
// completes with (ec); false when there is none), then the WebSocket handshake.
template <class Stream, class Secure = plain_connect>
struct connect_op {
    Stream* ws;
    uri target;
    std::error_code early;  // a URI refused before any I/O
    std::unique_ptr<asio::ip::tcp::resolver> resolver;
    bool secured = false;   // the step before the WebSocket handshake is done

    template <class Self>
    void operator()(Self& self) {
        if (early) return asio_detail::post_complete(self, ws->get_executor(), early);
        resolver = std::make_unique<asio::ip::tcp::resolver>(ws->get_executor());
        resolver->async_resolve(target.host, std::to_string(target.port), std::move(self));
    }

    template <class Self>
    void operator()(Self& self, std::error_code ec, const asio::ip::tcp::resolver::results_type& found) {
        if (ec) return self.complete(ec);
        asio::async_connect(ws->next_layer().lowest_layer(), found, std::move(self));
    }

    template <class Self>
    void operator()(Self& self, std::error_code ec, const asio::ip::tcp::endpoint&) {
        if (ec) return self.complete(ec);
        if (Secure::before_handshake(ws->next_layer(), target, self)) return;  // completes with (ec)
        secured = true;
        ws->async_handshake(target.host_field, target.target, std::move(self));
    }

    template <class Self>
    void operator()(Self& self, std::error_code ec) {
        if (ec || secured) return self.complete(ec);
        secured = true;
        ws->async_handshake(target.host_field, target.target, std::move(self));
    }
};

}  // namespace detail

template <class Token>
auto async_connect(stream<asio::ip::tcp::socket>& ws, std::string_view uri_text, Token&& token) {
    detail::connect_op<stream<asio::ip::tcp::socket>> op{&ws, {}, {}, {}, false};
    op.early = parse_uri(uri_text, op.target);
    if (!op.early && op.target.secure) op.early = error::needs_tls;
    return asio::async_compose<Token, void(std::error_code)>(std::move(op), token, ws);
}

}  // namespace herald::websocket

#endif
