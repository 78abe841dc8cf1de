// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_REDIS_LINK_HPP
#define HERALD_ASIO_REDIS_LINK_HPP

// A node's link to Redis: two connections, one for commands (pipelined) and one
// for subscriptions, kept up for as long as the link runs.
//
//   auto redis = redis::link::make(io.get_executor(), {.host = "127.0.0.1", .port = "6379", .name = "node-a"});
//   redis->on_message([](const std::string& channel, const std::string& payload) { ... });
//   redis->on_state([](bool up) { ... });   // up: connected and subscribed
//   redis->subscribe("herald:topic:prices");
//   redis->start();
//
// How it works: when either connection is lost (an error, a command that timed
// out, or a probe that did not come back) both are closed, `on_state(false)` is
// told, and after a delay from timing::backoff (full jitter, 100 ms doubling to
// 5 s) both are made again; the link is up again (`on_state(true)`) once both are
// connected and every channel is subscribed again. What was published while it
// was down is the owner's to repair (the hub broker reads it from the streams).
// A dead subscriber connection says nothing (it only receives), so the link
// probes it: every probe_interval it PUBLISHes a number on its own channel
// ("herald:probe:<name>") over the command connection, and that number must have
// come back on the subscriber connection by the next probe.
//
// Threads: command() and subscribe() from any thread; on_message() is called on
// the subscriber connection's strand, on_state() on the link's, each in order.
// Set both before start().

#include <herald/asio/redis/connection.hpp>
#include <herald/timing/backoff.hpp>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace herald::redis {

struct link_options {
    std::string host = "127.0.0.1";
    std::string port = "6379";
    std::string name = "node";  // this node's name; its probes go to "herald:probe:<name>"
    connection_options connection{};
    timing::backoff_policy reconnect{std::chrono::milliseconds(100), std::chrono::seconds(5), 0, timing::jitter::full};
    std::chrono::milliseconds probe_interval{1000};  // 0: no probes
    std::uint64_t seed = 0;  // the backoff's jitter (time and randomness are inputs)
};

class link : public std::enable_shared_from_this<link> {
public:
    using message_handler = connection::message_handler;
    using state_handler = std::function<void(bool up)>;

    static std::shared_ptr<link> make(const asio::any_io_executor& ex, link_options options = {}) {
        return std::shared_ptr<link>(new link(ex, std::move(options)));
    }

    void on_message(message_handler f) { on_message_ = std::move(f); }
    void on_state(state_handler f) { on_state_ = std::move(f); }

    void start() {
        asio::post(strand_, [self = shared_from_this()] { self->connect(); });
    }

    // Closes both connections and stops reconnecting. Thread-safe.
    void stop() {
        asio::post(strand_, [self = shared_from_this()] {
            self->stopped_ = true;
            self->timer_.cancel();
            self->drop();
        });
    }

    bool up() const noexcept { return up_.load(std::memory_order_acquire); }

    // Drops both connections and makes them again (after the backoff): for an
    // owner that learned the server is not the one it needs (a replica answering
    // READONLY after a failover). Thread-safe.
    void reset() {
        asio::post(strand_, [self = shared_from_this()] {
            if (self->up()) self->lose(self->generation_);
        });
    }

    // A command on the command connection; error::not_connected at once while the
    // link is down (callers decide whether to retry).
    void command(const std::vector<std::string_view>& args, connection::reply_handler done) {
        std::shared_ptr<connection> c;
        {
            std::lock_guard lock(mutex_);
            if (up()) c = commands_;
        }
        if (!c) {
            return asio::post(strand_, [done = std::move(done)] { done(error::not_connected, {}); });
        }
        c->command(args, std::move(done));
    }
    void command(std::initializer_list<std::string_view> args, connection::reply_handler done) {
        command(std::vector<std::string_view>(args), std::move(done));
    }

    // The command connection while the link is up (for scripts), else null.
    std::shared_ptr<connection> commands() const {
        std::lock_guard lock(mutex_);
        return up() ? commands_ : nullptr;
    }

    // Subscribes to `channel` (PSUBSCRIBE `pattern`) now if up, and after every reconnect.
    void subscribe(std::string channel) { add_subscription("SUBSCRIBE", std::move(channel)); }
    void psubscribe(std::string pattern) { add_subscription("PSUBSCRIBE", std::move(pattern)); }

private:
    void add_subscription(std::string_view command, std::string name) {
        asio::post(strand_, [self = shared_from_this(), command, name = std::move(name)] {
            // Sent now when a pass over the channels has started (subscribe_all), else by the next pass.
            if (!self->channels_.emplace(command, name).second || !self->subscribing_) return;
            self->subscriber_->command({command, name}, [](std::error_code, reply) {});
        });
    }

    link(const asio::any_io_executor& ex, link_options options)
        : ex_(ex), strand_(asio::make_strand(ex)), timer_(strand_), options_(std::move(options)), backoff_(options_.reconnect),
          random_(options_.seed), probe_channel_("herald:probe:" + options_.name) {}

    // Makes both connections and subscribes; up when all of it succeeded.
    void connect() {
        if (stopped_) return;
        const auto generation = ++generation_;
        auto commands = connection::make(ex_, options_.connection);
        auto subscriber = connection::make(ex_, options_.connection);
        {
            std::lock_guard lock(mutex_);
            commands_ = commands;
        }
        subscriber_ = subscriber;
        const auto lost = [weak = weak_from_this(), generation](std::error_code) {
            if (auto self = weak.lock())
                asio::post(self->strand_, [self, generation] { self->lose(generation); });
        };
        commands->on_lost(lost);
        subscriber->on_lost(lost);
        subscriber->on_message([weak = weak_from_this()](const std::string& channel, const std::string& payload) {
            auto self = weak.lock();
            if (!self) return;
            if (channel == self->probe_channel_) return self->probe_returned(payload);  // counts only upward
            if (self->on_message_) self->on_message_(channel, payload);
        });
        const auto step = [weak = weak_from_this(), generation](auto next) {
            return [weak, generation, next](std::error_code ec) {
                auto self = weak.lock();
                if (!self) return;
                asio::post(self->strand_, [self, generation, ec, next] {
                    if (generation != self->generation_) return;
                    if (ec) return self->lose(generation);
                    next(*self);
                });
            };
        };
        commands->async_connect(options_.host, options_.port, step([step](link& l) {
            l.subscriber_->async_connect(l.options_.host, l.options_.port, step([](link& l2) { l2.subscribe_all(); }));
        }));
    }

    // Subscribes the probe channel and every channel; up once the last is confirmed.
    void subscribe_all() {
        subscribing_ = true;
        const auto generation = generation_;
        auto left = std::make_shared<std::size_t>(channels_.size() + 1);
        const auto confirmed = [weak = weak_from_this(), generation, left](std::error_code ec, reply r) {
            auto self = weak.lock();
            if (!self) return;
            asio::post(self->strand_, [self, generation, left, failed = ec || r.is_error()] {
                if (generation != self->generation_) return;
                if (failed) return self->lose(generation);
                if (--*left == 0) self->went_up();
            });
        };
        subscriber_->command({"SUBSCRIBE", probe_channel_}, confirmed);
        for (const auto& [command, name] : channels_) subscriber_->command({command, name}, confirmed);
    }

    void went_up() {
        backoff_.reset();
        probe_seen_.store(probe_sent_);  // a probe lost with the old pair does not count
        up_.store(true, std::memory_order_release);
        if (on_state_) on_state_(true);
        if (options_.probe_interval.count() > 0) schedule_probe(generation_);
    }

    void schedule_probe(std::uint64_t generation) {
        timer_.expires_after(options_.probe_interval);
        timer_.async_wait([self = shared_from_this(), generation](std::error_code ec) {
            if (ec || generation != self->generation_ || self->stopped_) return;
            // The last probe must have come back by now: else the subscriber is deaf.
            if (self->probe_seen_.load() != self->probe_sent_) return self->lose(generation);
            const auto n = std::to_string(++self->probe_sent_);
            self->commands_->command({"PUBLISH", self->probe_channel_, n}, [](std::error_code, reply) {});
            self->schedule_probe(generation);
        });
    }

    // A probe came back. The highest number counts: an old connection's late probe
    // must not make the current one look deaf.
    void probe_returned(const std::string& payload) {
        std::uint64_t n = 0;
        for (const char c : payload) n = n * 10 + static_cast<std::uint64_t>(c - '0');
        std::uint64_t seen = probe_seen_.load();
        while (n > seen && !probe_seen_.compare_exchange_weak(seen, n)) {
        }
    }

    // Generation `generation` failed: down, and connect again after a backoff.
    void lose(std::uint64_t generation) {
        if (generation != generation_ || stopped_) return;
        ++generation_;  // callbacks of the lost pair are ignored from here on
        drop();
        const auto delay = backoff_.next(random_).value_or(options_.reconnect.cap);
        timer_.expires_after(delay);
        timer_.async_wait([self = shared_from_this()](std::error_code ec) {
            if (!ec) self->connect();
        });
    }

    void drop() {
        subscribing_ = false;
        const bool was_up = up_.exchange(false, std::memory_order_acq_rel);
        std::shared_ptr<connection> commands;
        {
            std::lock_guard lock(mutex_);
            commands.swap(commands_);
        }
        if (commands) commands->close();
        if (subscriber_) subscriber_->close();
        subscriber_.reset();
        if (was_up && on_state_) on_state_(false);
    }

    asio::any_io_executor ex_;
    asio::strand<asio::any_io_executor> strand_;
    asio::steady_timer timer_;  // the reconnect delay, then the probes
    link_options options_;
    timing::backoff backoff_;
    std::mt19937_64 random_;
    const std::string probe_channel_;
    std::set<std::pair<std::string_view, std::string>> channels_;  // (SUBSCRIBE or PSUBSCRIBE, name)
    mutable std::mutex mutex_;  // commands_, read by command() on any thread
    std::shared_ptr<connection> commands_;
    std::shared_ptr<connection> subscriber_;
    std::uint64_t generation_ = 0;
    std::uint64_t probe_sent_ = 0;
    std::atomic<std::uint64_t> probe_seen_{0};
    std::atomic<bool> up_{false};
    bool stopped_ = false;
    bool subscribing_ = false;  // subscribe_all() ran for the current pair
    message_handler on_message_;
    state_handler on_state_;
};

}  // namespace herald::redis

#endif
