// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_TLS_HPP
#define HERALD_ASIO_TLS_HPP

// TLS for herald's servers and clients through asio::ssl and OpenSSL (target
// herald::tls): https, and wss for WebSocket (docs/tls.md).
//
//   std::error_code ec;
//   auto context = tls::make_server_context({"cert.pem", "key.pem"}, ec);
//   http::basic_server<E, asio::strand<E>, tls::server_transport> server{ex, handler, {}, tls::server_transport{context}};
//
// Server: make_server_context() loads a certificate chain and its key, refuses
// anything older than TLS 1.2, and answers ALPN with http/1.1 (RFC 7301) when the
// client offers it. server_transport is what basic_server runs on each accepted
// socket before serving it: the handshake, cut after handshake_timeout (a client
// that opens a connection and never finishes its handshake holds it no longer).
// Client: make_client_context() verifies the server's certificate against the
// system's authorities (or a file of them); connect with verify_host() set on the
// stream, which checks the name and sends it as SNI (RFC 6066 §3).

#include <herald/asio/detail/stream_ops.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl.hpp>
#include <asio/steady_timer.hpp>

#include <openssl/ssl.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

namespace herald::tls {

static_assert(SSL_RECEIVED_SHUTDOWN == asio_detail::ssl_received_shutdown, "stream_ops.hpp's send_close_notify");

struct server_settings {
    std::string certificate_chain_file;  // PEM: the server's certificate, then its intermediates
    std::string private_key_file;        // PEM
    // SNI (RFC 6066 §3): called in the handshake with the name the client asked for
    // ("" when it sent none); a context it returns (from make_server_context) serves
    // that connection with its certificate, null keeps this one. For one listener
    // with several names' certificates.
    std::function<std::shared_ptr<asio::ssl::context>(std::string_view server_name)> select_by_name{};
};

namespace detail {

// ALPN (RFC 7301 §3.2): http/1.1 if the client offers it; otherwise no protocol
// is agreed and the handshake goes on (a client that offers only h2 still gets
// HTTP/1.1, as it would from a server without ALPN).
inline int select_http11(SSL*, const unsigned char** out, unsigned char* out_size, const unsigned char* in,
                         unsigned int in_size, void*) {
    static constexpr unsigned char http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    unsigned char* chosen = nullptr;
    if (SSL_select_next_proto(&chosen, out_size, http11, sizeof http11, in, in_size) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

// The SNI callback's state, owned by the SSL_CTX: freed with it (OpenSSL's ex_data).
struct sni_selector {
    std::function<std::shared_ptr<asio::ssl::context>(std::string_view)> select;
};

inline int sni_index() {
    static const int index = SSL_CTX_get_ex_new_index(
        0, nullptr, nullptr, nullptr, [](void*, void* p, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<sni_selector*>(p); });
    return index;
}

inline int select_certificate(SSL* ssl, int*, void* arg) {
    const auto* selector = static_cast<const sni_selector*>(arg);
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    // SSL_set_SSL_CTX takes a reference of its own: the chosen context outlives the call.
    if (auto chosen = selector->select(name ? name : "")) SSL_set_SSL_CTX(ssl, chosen->native_handle());
    return SSL_TLSEXT_ERR_OK;
}

inline void minimum_tls12(asio::ssl::context& ctx) {
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_compression);
}

}  // namespace detail

// A server's context: TLS 1.2 at least, the chain and key of `settings`, ALPN
// http/1.1. Null with `ec` set when a file cannot be read or the key does not
// match the certificate.
inline std::shared_ptr<asio::ssl::context> make_server_context(const server_settings& settings, std::error_code& ec) {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    detail::minimum_tls12(*ctx);
    ctx->use_certificate_chain_file(settings.certificate_chain_file, ec);
    if (!ec) ctx->use_private_key_file(settings.private_key_file, asio::ssl::context::pem, ec);
    if (ec) return nullptr;
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
        ec = std::make_error_code(std::errc::invalid_argument);
        return nullptr;
    }
    SSL_CTX_set_alpn_select_cb(ctx->native_handle(), detail::select_http11, nullptr);
    if (settings.select_by_name) {
        auto* selector = new detail::sni_selector{settings.select_by_name};
        SSL_CTX_set_ex_data(ctx->native_handle(), detail::sni_index(), selector);  // freed with the context
        SSL_CTX_set_tlsext_servername_callback(ctx->native_handle(), detail::select_certificate);
        SSL_CTX_set_tlsext_servername_arg(ctx->native_handle(), selector);
    }
    return ctx;
}

// A client's context: TLS 1.2 at least, the server's certificate verified against
// `ca_file` (PEM), or the system's authorities when it is empty.
inline std::shared_ptr<asio::ssl::context> make_client_context(const std::string& ca_file, std::error_code& ec) {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    detail::minimum_tls12(*ctx);
    ctx->set_verify_mode(asio::ssl::verify_peer, ec);
    if (!ec) {
        if (ca_file.empty()) ctx->set_default_verify_paths(ec);
        else ctx->load_verify_file(ca_file, ec);
    }
    if (ec) return nullptr;
    return ctx;
}

// Before a client's handshake: the name the certificate must carry (RFC 6125;
// an IP address is matched against the certificate's IP entries) and, for a
// name, SNI. Returns false when OpenSSL refuses the name.
template <class Socket>
bool verify_host(asio::ssl::stream<Socket>& stream, const std::string& host) {
    stream.set_verify_callback(asio::ssl::host_name_verification(host));
    std::error_code ignored;
    asio::ip::make_address(host, ignored);
    if (!ignored) return true;  // RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not permitted" in SNI
    return SSL_set_tlsext_host_name(stream.native_handle(), host.c_str()) == 1;
}

// A client's connections over TLS (http::basic_client_connection's Transport, and
// so sse::basic_client's and longpoll::basic_client's): each a new TLS stream, its
// handshake after the TCP connect with the host verified (verify_host).
class client_transport {
public:
    using stream_type = asio::ssl::stream<asio::ip::tcp::socket>;
    static constexpr bool secure = true;
    static constexpr auto client_side = asio::ssl::stream_base::client;

    explicit client_transport(std::shared_ptr<asio::ssl::context> context) : context_(std::move(context)) {}

    stream_type make_stream(const asio::any_io_executor& ex) const { return stream_type(ex, *context_); }
    std::error_code prepare(stream_type& stream, const std::string& host) const {
        return verify_host(stream, host) ? std::error_code{} : std::error_code{asio::error::invalid_argument};
    }

private:
    std::shared_ptr<asio::ssl::context> context_;
};

// What http::basic_server runs on each accepted socket: the server side of the
// TLS handshake, cut after handshake_timeout, then the connection is served over
// the TLS stream.
class server_transport {
public:
    template <class Socket>
    using stream_type = asio::ssl::stream<Socket>;

    explicit server_transport(std::shared_ptr<asio::ssl::context> context,
                              std::chrono::milliseconds handshake_timeout = std::chrono::seconds(10))
        : context_(std::move(context)), timeout_(handshake_timeout) {}

    // Calls done(ec, stream) on the socket's executor once the handshake ended.
    template <class Socket, class Done>
    void start(Socket socket, Done done) const {
        auto stream = std::make_shared<asio::ssl::stream<Socket>>(std::move(socket), *context_);
        auto timer = std::make_shared<asio::steady_timer>(stream->get_executor(), timeout_);
        // A client that never finishes its handshake: its socket is closed, and the
        // handshake completes with the error.
        timer->async_wait([stream](std::error_code ec) {
            std::error_code ignored;
            if (!ec) stream->lowest_layer().close(ignored);
        });
        stream->async_handshake(asio::ssl::stream_base::server,
                                [stream, timer, done = std::move(done)](std::error_code ec) mutable {
                                    timer->cancel();
                                    done(ec, std::move(*stream));
                                });
    }

private:
    std::shared_ptr<asio::ssl::context> context_;
    std::chrono::milliseconds timeout_;
};

}  // namespace herald::tls

#endif
