// A WebSocket echo server: every text and binary message comes back as it was
// sent, on any path. The target of herald's interop tests and load benchmarks.
// Plain HTTP requests (no upgrade) get a short page saying what this is.
//
//   websocket_echo_server [--host 127.0.0.1] [--port 9001] [--threads 1]
#include "common.hpp"

#include <herald/asio/server.hpp>
#include <herald/asio/websocket.hpp>

#include <memory>

using namespace herald;
namespace ws = herald::websocket;

namespace {

// The executor's concrete type, not asio::any_io_executor: no type-erased executor
// is copied on each I/O completion (docs/benchmarks.md has what that saves).
using server_type = http::basic_server<asio::io_context::executor_type>;
using socket_type = server_type::socket_type;

// One echo session: read a message, write it back, again, until the peer closes.
class session : public std::enable_shared_from_this<session> {
public:
    session(socket_type socket, flat_buffer buffered) : ws_(std::move(socket), options(), std::move(buffered)) {}

    void start(const http::request& req) {
        ws_.async_accept(req, [self = shared_from_this()](std::error_code ec) {
            if (!ec) self->read();
        });
    }

private:
    static ws::stream_options options() {
        ws::stream_options o;
        o.limits.max_message = 64 * 1024 * 1024;
        o.limits.max_frame = 64 * 1024 * 1024;
        o.max_queued_bytes = 128 * 1024 * 1024;
        return o;
    }

    void read() {
        ws_.async_read(message_, [self = shared_from_this()](std::error_code ec, ws::opcode type) {
            if (ec) return;  // closed by the peer (answered), a protocol error (answered), or gone
            auto copy = std::make_shared<std::string>(std::move(self->message_));
            self->ws_.async_write(type, *copy, [self, copy](std::error_code) {});
            self->read();
        });
    }

    ws::stream<socket_type> ws_;
    std::string message_;
};

}  // namespace

int main(int argc, char** argv) {
    const example::options opts(argc, argv, "websocket_echo_server [--host 127.0.0.1] [--port 9001] [--threads 1]",
                                {"host", "port", "threads"});
    example::raise_descriptor_limit();
    asio::io_context io{static_cast<int>(opts.number("threads", 1))};
    server_type server{io.get_executor(), [](const http::request& req, http::responder respond) {
                            if (!ws::is_upgrade(req))
                                return respond({200, "text/plain; charset=utf-8", "herald WebSocket echo server\n"});
                            respond.hand_off<server_type::connection_type>([](std::shared_ptr<server_type::connection_type> conn) {
                                auto s = std::make_shared<session>(std::move(conn->next_layer()), conn->take_buffered());
                                s->start(conn->request());
                            });
                        }};
    return example::run(io, server, opts, "websocket echo", [] {}, 9001);
}
