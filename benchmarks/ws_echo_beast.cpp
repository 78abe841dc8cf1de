// A Boost.Beast WebSocket echo server for the end-to-end load benchmark
// (ws_load.cpp): one thread, every message written back with its type, written
// the way Beast's own asynchronous examples are (one read, then one write, per
// session). Beast is Debian's libboost-dev 1.74.
//
//   herald_bench_ws_echo_beast --port P [--cert FILE --key FILE]
//
// --cert and --key serve wss:// through beast::ssl_stream (OpenSSL), the way Beast's
// own TLS example does, with TLS 1.2 at least like herald's.
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

namespace {

// Plain: beast::tcp_stream; TLS: beast::ssl_stream over it, its handshake first.
template <class Next>
class session : public std::enable_shared_from_this<session<Next>> {
public:
    template <class... Context>
    explicit session(tcp::socket socket, Context&... context) : ws_(std::move(socket), context...) {}

    void start() {
        ws_.set_option(beast::websocket::stream_base::timeout::suggested(beast::role_type::server));
        ws_.read_message_max(64 * 1024 * 1024);
        ws_.auto_fragment(false);  // one frame per message, as the other servers send
        if constexpr (std::is_same_v<Next, beast::tcp_stream>) {
            accept();
        } else {
            ws_.next_layer().async_handshake(net::ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
                if (!ec) self->accept();
            });
        }
    }

private:
    void accept() {
        ws_.async_accept([self = this->shared_from_this()](beast::error_code ec) {
            if (!ec) self->read();
        });
    }

    void read() {
        ws_.async_read(buffer_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return;
            self->ws_.text(self->ws_.got_text());
            self->ws_.async_write(self->buffer_.data(), [self](beast::error_code ec2, std::size_t) {
                if (ec2) return;
                self->buffer_.consume(self->buffer_.size());
                self->read();
            });
        });
    }

    beast::websocket::stream<Next> ws_;
    beast::flat_buffer buffer_;
};

void accept(tcp::acceptor& acceptor, net::ssl::context* tls) {
    acceptor.async_accept([&acceptor, tls](beast::error_code ec, tcp::socket socket) {
        if (!ec) {
            socket.set_option(tcp::no_delay(true));
            if (tls) std::make_shared<session<beast::ssl_stream<beast::tcp_stream>>>(std::move(socket), *tls)->start();
            else std::make_shared<session<beast::tcp_stream>>(std::move(socket))->start();
        }
        accept(acceptor, tls);
    });
}

}  // namespace

int main(int argc, char** argv) {
    unsigned short port = 9002;
    std::string cert, key;
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], "--port") == 0) port = static_cast<unsigned short>(std::atoi(argv[i + 1]));
        if (std::strcmp(argv[i], "--cert") == 0) cert = argv[i + 1];
        if (std::strcmp(argv[i], "--key") == 0) key = argv[i + 1];
    }
    net::io_context io{1};
    net::ssl::context tls{net::ssl::context::tls_server};
    if (!cert.empty()) {
        SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
        tls.use_certificate_chain_file(cert);
        tls.use_private_key_file(key, net::ssl::context::pem);
    }
    tcp::acceptor acceptor{io, {net::ip::make_address("127.0.0.1"), port}};
    accept(acceptor, cert.empty() ? nullptr : &tls);
    std::printf("beast echo on %s://127.0.0.1:%u/\n", cert.empty() ? "http" : "https", acceptor.local_endpoint().port());
    std::fflush(stdout);
    io.run();
}
