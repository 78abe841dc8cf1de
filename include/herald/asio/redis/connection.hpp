// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_REDIS_CONNECTION_HPP
#define HERALD_ASIO_REDIS_CONNECTION_HPP

// One connection to Redis over Asio: commands pipelined (each written as soon as it
// is issued, answers matched in order), or, once subscribed, pushed messages.
//
//   auto redis = redis::connection::make(io.get_executor());
//   redis->async_connect("127.0.0.1", "6379", [](std::error_code ec) { ... });
//   redis->command({"INCR", "hits"}, [](std::error_code ec, redis::reply r) { ... });
//
// How it works: everything runs on a strand of the given executor; command() may
// be called from any thread (it formats there and posts). Written commands wait in
// a FIFO for their answers. Every command has a deadline (command_timeout): one
// timer, armed only when none is, checks the oldest; an answer that does not come
// in time means the connection is dead, and it is closed — every waiting command
// fails with error::timed_out, and on_lost() is told (Redis answers in order, so
// nothing later can come either). The operations hold the connection alive
// (shared ownership), so it lives until it is closed and its handlers have run.
// Replacing a lost connection is the owner's job (redis::link does it).
//
// Subscriber mode (RESP2): after SUBSCRIBE the server pushes ["message", channel,
// payload]; those go to on_message(), everything else answers a command in order
// (the subscribe confirmations and PING's ["pong", ""] included).

#include <herald/redis/error.hpp>
#include <herald/redis/protocol.hpp>
#include <herald/redis/reply.hpp>

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace herald::redis {

struct connection_options {
    std::chrono::milliseconds connect_timeout{2000};
    std::chrono::milliseconds command_timeout{2000};  // no answer by then: the connection is dead
    std::size_t max_pending = 100'000;                 // commands waiting for an answer
    std::size_t read_size = 16 * 1024;
};

class connection : public std::enable_shared_from_this<connection> {
public:
    using clock = std::chrono::steady_clock;
    using reply_handler = std::function<void(std::error_code, reply)>;
    using message_handler = std::function<void(const std::string& channel, const std::string& payload)>;
    using lost_handler = std::function<void(std::error_code)>;

    static std::shared_ptr<connection> make(const asio::any_io_executor& ex, connection_options options = {}) {
        return std::shared_ptr<connection>(new connection(ex, options));
    }

    asio::strand<asio::any_io_executor> get_executor() const { return strand_; }

    // Resolves `host` and connects; `done(ec)` on the strand. Call once. Commands
    // issued before it completes wait and go out when it does.
    void async_connect(std::string host, std::string port, std::function<void(std::error_code)> done) {
        asio::post(strand_, [self = shared_from_this(), host = std::move(host), port = std::move(port),
                             done = std::move(done)]() mutable { self->start_connect(host, port, std::move(done)); });
    }

    // Sends the command `args` (name first); `done(ec, reply)` once, on the strand:
    // {} with Redis's reply (which may be an error reply), or why none came.
    // Thread-safe; the handlers run in the order the commands were issued.
    void command(std::initializer_list<std::string_view> args, reply_handler done) {
        command(std::vector<std::string_view>(args), std::move(done));
    }
    void command(const std::vector<std::string_view>& args, reply_handler done) {
        std::string bytes;
        append_command(std::span<const std::string_view>(args), bytes);
        asio::post(strand_, [self = shared_from_this(), bytes = std::move(bytes), done = std::move(done)]() mutable {
            self->issue(std::move(bytes), std::move(done));
        });
    }

    // Where pushed messages go (subscriber mode). Set before subscribing; on the strand.
    void on_message(message_handler f) { on_message_ = std::move(f); }
    // Told once, on the strand, when a connected connection fails (not after close()).
    void on_lost(lost_handler f) { on_lost_ = std::move(f); }

    // Closes the connection: waiting commands fail with error::closed. Thread-safe.
    void close() {
        asio::post(strand_, [self = shared_from_this()] { self->end(error::closed); });
    }

private:
    enum class state { idle, connecting, open, ended };
    struct waiting {
        reply_handler done;
        clock::time_point deadline;
    };

    connection(const asio::any_io_executor& ex, connection_options options)
        : strand_(asio::make_strand(ex)), resolver_(strand_), socket_(strand_), timer_(strand_), options_(options),
          in_(options.read_size) {}

    void start_connect(const std::string& host, const std::string& port, std::function<void(std::error_code)> done) {
        if (state_ != state::idle) return done(state_ == state::ended ? failure_ : error::not_connected);
        state_ = state::connecting;
        connected_ = std::move(done);
        timer_.expires_after(options_.connect_timeout);
        timer_.async_wait([self = shared_from_this()](std::error_code ec) {
            if (!ec && self->state_ == state::connecting) self->end(error::timed_out);
        });
        resolver_.async_resolve(host, port, [self = shared_from_this()](std::error_code ec, asio::ip::tcp::resolver::results_type found) {
            if (self->state_ != state::connecting) return;
            if (ec) return self->end(ec);
            asio::async_connect(self->socket_, found, [self](std::error_code cec, const asio::ip::tcp::endpoint&) {
                if (self->state_ != state::connecting) return;
                if (cec) return self->end(cec);
                self->opened();
            });
        });
    }

    void opened() {
        state_ = state::open;
        timer_.cancel();
        std::error_code ignored;
        socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
        read();
        write();
        arm();
        if (auto done = std::exchange(connected_, nullptr)) done({});
    }

    void issue(std::string bytes, reply_handler done) {
        if (state_ == state::ended) return done(failure_, {});
        if (waiting_.size() >= options_.max_pending) return done(error::too_many_pending, {});
        out_.append(bytes);
        waiting_.push_back({std::move(done), clock::now() + options_.command_timeout});
        if (state_ != state::open) return;
        write();
        arm();
    }

    void write() {
        if (writing_ || out_.empty() || state_ != state::open) return;
        writing_ = true;
        sending_.swap(out_);
        asio::async_write(socket_, asio::buffer(sending_), [self = shared_from_this()](std::error_code ec, std::size_t) {
            self->writing_ = false;
            self->sending_.clear();
            if (ec) return self->end(error::connection_lost);
            self->write();
        });
    }

    void read() {
        socket_.async_read_some(asio::buffer(in_), [self = shared_from_this()](std::error_code ec, std::size_t n) {
            if (self->state_ != state::open) return;
            if (ec) return self->end(error::connection_lost);
            if (auto bad = self->reader_.feed({self->in_.data(), n})) return self->end(bad);
            std::error_code parse;
            while (auto r = self->reader_.next(parse)) {
                self->take(std::move(*r));
                if (self->state_ != state::open) return;  // a handler closed it
            }
            if (parse) return self->end(parse);
            self->read();
        });
    }

    // A reply: a pushed message, or the answer to the oldest waiting command.
    void take(reply r) {
        const reply* kind = r.at(0);
        if (kind && kind->type == reply::kind::string && on_message_) {
            if (kind->text == "message" && r.elements.size() == 3) return on_message_(r.elements[1].text, r.elements[2].text);
            if (kind->text == "pmessage" && r.elements.size() == 4) return on_message_(r.elements[2].text, r.elements[3].text);
        }
        if (waiting_.empty()) return end(error::bad_reply);  // an answer nobody asked for: out of step
        auto done = std::move(waiting_.front().done);
        waiting_.pop_front();
        done({}, std::move(r));
    }

    // The oldest command's deadline, watched by one timer armed only when none is.
    void arm() {
        if (armed_ || waiting_.empty() || state_ != state::open) return;
        armed_ = true;
        timer_.expires_at(waiting_.front().deadline);
        timer_.async_wait([self = shared_from_this()](std::error_code) {
            self->armed_ = false;
            if (self->state_ != state::open || self->waiting_.empty()) return;
            if (clock::now() >= self->waiting_.front().deadline) return self->end(error::timed_out);
            self->arm();
        });
    }

    // Ends the connection for good: every waiting command fails with `why`.
    void end(std::error_code why) {
        if (state_ == state::ended) return;
        const bool was_open = state_ == state::open;
        state_ = state::ended;
        failure_ = why;
        std::error_code ignored;
        resolver_.cancel();
        socket_.close(ignored);
        timer_.cancel();
        auto failed = std::move(waiting_);
        waiting_.clear();
        for (auto& w : failed) w.done(why, {});
        if (auto done = std::exchange(connected_, nullptr)) done(why);
        if (was_open && why != error::closed && on_lost_) on_lost_(why);
        on_message_ = nullptr;  // what the owner captured is let go of
        on_lost_ = nullptr;
    }

    asio::strand<asio::any_io_executor> strand_;
    asio::ip::tcp::resolver resolver_;
    asio::ip::tcp::socket socket_;
    asio::steady_timer timer_;  // the connect deadline, then the oldest command's
    connection_options options_;
    reader reader_;
    std::vector<char> in_;
    std::string out_;      // formatted, not yet written
    std::string sending_;  // being written
    bool writing_ = false;
    bool armed_ = false;
    std::deque<waiting> waiting_;
    state state_ = state::idle;
    std::error_code failure_ = error::not_connected;
    std::function<void(std::error_code)> connected_;
    message_handler on_message_;
    lost_handler on_lost_;
};

}  // namespace herald::redis

#endif
