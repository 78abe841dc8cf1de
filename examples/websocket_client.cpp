// A WebSocket client: connects to a ws:// URI, sends each line of standard input
// (and --send once after every connect), prints every message it receives on a
// line of its own, and reconnects with exponential backoff and full jitter when
// the connection drops or cannot be made.
//
//   websocket_client [--url ws://127.0.0.1:9001/] [--send TEXT] [--count N]
//                    [--attempts N] [--base-ms 250] [--cap-ms 10000]
//
// Exits after N messages received (0: never), or after N failed attempts in a row
// (0: retry for ever). Lines are sent one at a time and leave the queue once
// written; lines typed while disconnected, or in flight when the connection
// dropped, wait (up to 1,000) for the next connect. The backoff starts again only
// after a connection that stayed up 2 s. Progress goes to standard error.
#include "common.hpp"

#include <herald/asio/websocket.hpp>
#include <herald/asio/websocket_connect.hpp>
#include <herald/timing/backoff.hpp>

#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <cstdio>
#include <deque>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <thread>

using namespace herald;
namespace ws = herald::websocket;

namespace {

class client {
    using stream_type = ws::stream<asio::ip::tcp::socket>;

public:
    client(asio::io_context& io, const example::options& opts)
        : io_(io), url_(opts.get("url", "ws://127.0.0.1:9001/")), greeting_(opts.get("send", "")),
          count_(opts.number("count", 0)), retry_(policy(opts)), timer_(io) {}

    void start() { connect(); }

    // A line from standard input (posted here by the reader thread).
    void send(std::string line) {
        if (pending_.size() >= 1000) pending_.erase(pending_.begin() + (writing_ ? 1 : 0));  // bounded: the oldest waiting goes
        pending_.push_back(std::move(line));
        drain();
    }

    int status() const { return status_; }

private:
    static timing::backoff_policy policy(const example::options& opts) {
        timing::backoff_policy p;
        p.base = std::chrono::milliseconds(opts.number("base-ms", 250));
        p.cap = std::chrono::milliseconds(opts.number("cap-ms", 10000));
        p.max_attempts = static_cast<std::uint32_t>(opts.number("attempts", 0));
        p.jitter = timing::jitter::full;  // spreads a crowd of clients after a server restart
        return p;
    }

    void connect() {
        // A fresh stream per attempt: a closed WebSocket is not reopened (RFC 6455 §7).
        ws_ = std::make_shared<stream_type>(asio::ip::tcp::socket{io_}, [this] { return static_cast<std::uint32_t>(random_()); });
        ws::async_connect(*ws_, url_, [this, conn = ws_](std::error_code ec) {
            if (ec) return retry("cannot connect", ec);
            std::fprintf(stderr, "websocket_client: connected to %s\n", url_.c_str());
            connected_ = true;
            connected_at_ = std::chrono::steady_clock::now();
            ++generation_;
            writing_ = false;  // a write still owed by the old connection is sent again
            if (!greeting_.empty()) conn->async_write(ws::opcode::text, greeting_, [conn](std::error_code) {});
            drain();
            read(conn);
        });
    }

    void read(const std::shared_ptr<stream_type>& conn) {
        conn->async_read(message_, [this, conn](std::error_code ec, ws::opcode type) {
            if (ec) {
                connected_ = false;
                // Only a connection that stayed up a while resets the backoff: a server
                // that accepts and at once closes is retried ever more slowly.
                if (std::chrono::steady_clock::now() - connected_at_ >= std::chrono::seconds(2)) retry_.reset();
                if (ec == ws::error::closed) std::fprintf(stderr, "websocket_client: server closed (%u)\n", conn->protocol().close_code());
                return retry("disconnected", ec);
            }
            if (type == ws::opcode::text) {
                message_ += '\n';
                std::fwrite(message_.data(), 1, message_.size(), stdout);  // text may hold NUL
            } else {
                std::printf("[binary, %zu bytes]\n", message_.size());
            }
            std::fflush(stdout);
            if (count_ != 0 && ++received_ >= count_) {
                stopping_ = true;
                // The read below ends with the server's answer, or when the stream's
                // close_timeout (5 s) cuts a server that never answers.
                conn->async_close(1000, "done", [](std::error_code) {});
            }
            read(conn);
        });
    }

    // One line at a time, and a line leaves the queue only once written: a line in
    // flight when the connection drops is sent again on the next one (at least once).
    void drain() {
        if (!connected_ || writing_ || pending_.empty()) return;
        writing_ = true;
        auto text = std::make_shared<std::string>(pending_.front());
        ws_->async_write(ws::opcode::text, *text, [this, text, generation = generation_](std::error_code ec) {
            if (generation != generation_) return;  // from a connection since replaced
            writing_ = false;
            if (ec) return;  // kept; the next connection sends it
            pending_.pop_front();
            drain();
        });
    }

    void retry(const char* what, std::error_code ec) {
        if (stopping_) return;
        const auto delay = retry_.next(random_);
        if (!delay) {
            std::fprintf(stderr, "websocket_client: %s: %s; giving up\n", what, ec.message().c_str());
            status_ = 1;
            return io_.stop();
        }
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*delay).count();
        std::fprintf(stderr, "websocket_client: %s: %s; retrying in %lld ms\n", what, ec.message().c_str(),
                     static_cast<long long>(ms));
        timer_.expires_after(*delay);
        timer_.async_wait([this](std::error_code) { connect(); });
    }

    asio::io_context& io_;
    std::string url_;
    std::string greeting_;
    long count_;
    long received_ = 0;
    timing::backoff retry_;
    asio::steady_timer timer_;
    std::mt19937_64 random_{std::random_device{}()};  // mask keys, nonces and jitter (RFC 6455 §10.3)
    std::shared_ptr<stream_type> ws_;
    std::string message_;
    std::deque<std::string> pending_;
    std::chrono::steady_clock::time_point connected_at_{};
    std::uint64_t generation_ = 0;
    bool writing_ = false;
    bool connected_ = false;
    bool stopping_ = false;
    int status_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
    const example::options opts(argc, argv,
                                "websocket_client [--url ws://127.0.0.1:9001/] [--send TEXT] [--count N]\n"
                                "                 [--attempts N] [--base-ms 250] [--cap-ms 10000]",
                                {"url", "send", "count", "attempts", "base-ms", "cap-ms"});
    asio::io_context io;
    client c{io, opts};
    c.start();
    // Standard input may be a terminal, a pipe or a file; a plain thread reads any of them.
    std::thread([&io, &c] {
        for (std::string line; std::getline(std::cin, line);) asio::post(io, [&c, line] { c.send(line); });
    }).detach();
    io.run();
    std::fflush(stdout);
    std::_Exit(c.status());  // the stdin reader may still be blocked in getline
}
