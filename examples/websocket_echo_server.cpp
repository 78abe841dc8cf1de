// A WebSocket echo server: every text and binary message comes back as it was
// sent, on any path. The target of herald's interop tests and load benchmarks.
// Plain HTTP requests (no upgrade) get a short page saying what this is;
// GET /hello gets "Hello world!" (HTTP keep-alive benchmarks).
//
//   websocket_echo_server [--host 127.0.0.1] [--port 9001] [--threads 1] [--memory-budget-mib 256]
//                         [--deflate off|on|takeover] [--deflate-window 15] [--small-read-buffer 0]
//                         [--cert FILE --key FILE]
//
// --cert and --key (PEM: the certificate chain, then its key) serve wss:// and
// https:// instead (TLS 1.2 at least; docs/tls.md); the first line printed then
// says https://.
//
// --deflate on accepts permessage-deflate (RFC 7692) with herald's defaults: each
// message compressed afresh both ways, so no connection keeps zlib memory between
// messages; `takeover` lets both sides keep their context (better ratios, about
// 300 KiB of zlib state per connection); --deflate-window limits both windows.
//
// --small-read-buffer N keeps an N-byte read buffer per connection while its
// messages are small (websocket::stream_options::small_read_buffer): one syscall
// less per message, N bytes more per connection.
//
// Each connection may send messages up to 16 MiB (herald's default, the conformance
// suite's largest) and have 16 MiB of echoes waiting while it does not read; all
// connections together may hold --memory-budget-mib of messages being received and
// echoes waiting (herald/memory_budget.hpp). Past it a message is refused with
// close 1009, an echo with close 1008.
#include "common.hpp"

#include <herald/asio/server.hpp>
#include <herald/asio/websocket.hpp>
#include <herald/buffer.hpp>
#include <herald/memory_budget.hpp>

#include <memory>

using namespace herald;
namespace ws = herald::websocket;

namespace {

// The executor's concrete type, not asio::any_io_executor: no type-erased executor
// is copied on each I/O completion (docs/benchmarks.md has what that saves).
using executor_type = asio::io_context::executor_type;

// One echo session: read a message, write it back, again, until the peer closes.
// `Stream`: a socket, or TLS over one.
template <class Stream>
class session : public std::enable_shared_from_this<session<Stream>> {
public:
    session(Stream stream, flat_buffer buffered, const ws::stream_options& options)
        : ws_(std::move(stream), options, std::move(buffered)) {}

    void start(const http::request& req) {
        ws_.async_accept(req, [self = this->shared_from_this()](std::error_code ec) {
            if (!ec) self->read();
        });
    }

private:
    // Every message is handed over as it is parsed, with no operation and no copy
    // of its own (async_read_each, as uWebSockets' message handler), and echoed
    // with send(): written at once when nothing waits before it, else queued in
    // the stream's output (the echoes to one read's messages go out together). A
    // client that does not read its echoes fills its queue or the budget.
    void read() {
        ws_.async_read_each(
            [self = this->shared_from_this()](ws::opcode type, std::string_view message) {
                const std::error_code refused = self->ws_.send(type, message);
                // Tested first: each comparison below looks up an error category.
                if (refused && (refused == ws::error::send_queue_full || refused == budget_error::exhausted))
                    self->ws_.async_close(1008, "not reading", [self](std::error_code) {});
                // Read on: to the next message, or to the end of the close handshake.
            },
            [self = this->shared_from_this()](std::error_code) {
                // Closed by the peer (answered), a protocol error (answered), or gone.
            });
    }

    ws::stream<Stream> ws_;
};

ws::stream_options stream_options(memory_budget& budget, const example::options& opts) {
    ws::stream_options o;  // herald's per-connection limits, sized for many connections,
    o.max_queued_bytes = 16 * 1024 * 1024;  // but room for the echo of one largest message
    o.limits.budget = &budget;
    o.small_read_buffer = static_cast<std::size_t>(opts.number("small-read-buffer", 0));
    const std::string deflate = opts.get("deflate", "off");
    auto& d = o.handshake.deflate;
    d.enabled = deflate != "off";
    d.server_no_context_takeover = d.client_no_context_takeover = deflate != "takeover";
    d.server_max_window_bits = d.client_max_window_bits = static_cast<int>(opts.number("deflate-window", 15));
    return o;
}

}  // namespace

// Serves on a Server (plain or TLS; `transport` is its Transport, if any).
template <class Server, class... Transport>
int serve(asio::io_context& io, const example::options& opts, memory_budget& budget, const ws::stream_options& options,
          Transport... transport) {
    using connection_type = typename Server::connection_type;
    http::server_options server_options;
    server_options.budget = &budget;
    Server server{io.get_executor(), [&options](const http::request& req, http::responder respond) {
                      if (!ws::is_upgrade(req)) {
                          // GET /hello: what HTTP keep-alive benchmarks ask for (wrk), answered
                          // as benchmarks/uws/echo_server.cpp answers it.
                          if (req.path() == "/hello") return respond({200, "text/plain", "Hello world!\n"});
                          return respond({200, "text/plain; charset=utf-8", "herald WebSocket echo server\n"});
                      }
                      respond.hand_off<connection_type>([&options](std::shared_ptr<connection_type> conn) {
                          auto s = std::make_shared<session<typename Server::stream_type>>(std::move(conn->next_layer()),
                                                                                           conn->take_buffered(), options);
                          s->start(conn->request());
                      });
                  },
                  server_options, transport...};
    return example::run(io, server, opts, "websocket echo", [] {}, 9001);
}

int main(int argc, char** argv) {
    const example::options opts(argc, argv,
                                "websocket_echo_server [--host 127.0.0.1] [--port 9001] [--threads 1] [--memory-budget-mib 256]\n"
                                "                      [--deflate off|on|takeover] [--deflate-window 15] [--small-read-buffer 0]\n"
                                "                      [--cert FILE --key FILE]",
                                {"host", "port", "threads", "memory-budget-mib", "deflate", "deflate-window", "small-read-buffer", "cert",
                                 "key"});
    example::raise_descriptor_limit();
    asio::io_context io{example::io_concurrency_hint(opts)};
    memory_budget budget{static_cast<std::size_t>(opts.number("memory-budget-mib", 256)) << 20};
    const ws::stream_options options = stream_options(budget, opts);
    auto serve_on = [&]<class Server>(std::type_identity<Server>, auto... transport) {
        return serve<Server>(io, opts, budget, options, transport...);
    };
    return example::serve_on_threads<executor_type>(opts, "websocket_echo_server", serve_on);
}
