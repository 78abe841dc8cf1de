// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_REDIS_BROKER_HPP
#define HERALD_ASIO_REDIS_BROKER_HPP

// The hub's broker on Redis: many server processes (nodes), one numbering. Every
// message of a topic gets its id "<epoch>-<seq>" from Redis, so a client's cursor
// from one node resumes exactly on any other.
//
//   auto link = redis::link::make(io.get_executor(), {.host = ..., .name = "node-a"});
//   redis::broker broker{io.get_executor(), link};
//   hub::service hub{make_epoch(random), limits, &broker};   // the broker is its history source
//   broker.join(hub);
//   link->start();
//
// How it works (docs/cluster.md has the guarantees):
// - publish runs one script (redis/scripts.hpp) that numbers, stores (stream with
//   an exact MAXLEN) and PUBLISHes the message atomically, under an idempotency
//   key that this broker's own retries reuse; the publisher is answered with the
//   global id once the script returned. While Redis is down a publish is retried
//   for retry_for, then refused (redis::error::not_connected): never given a local id.
// - every node, the publishing one included, takes each message from its
//   subscription (PSUBSCRIBE <prefix>:{*}) and apply()s it: the hub delivers in
//   sequence order, drops duplicates, turns an epoch change into the lost signal,
//   and asks this broker (its history source) for any gap: XRANGE on the stream.
// - when the link comes up again, and every check_interval, the latest message of
//   each topic known here is apply()d: any gap is repaired the same way. A cursor
//   the hub cannot place has the topic caught up from the stream first (catch_up).
// - a Redis whose numbering went back (an older snapshot) moves the topic to a
//   new epoch rather than give an id twice (the publish script checks too).

#include <herald/asio/redis/detail/broker_state.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace herald::redis {

class broker final : public hub::broker, public hub::history_source {
public:
    broker(const asio::any_io_executor& ex, std::shared_ptr<link> l, broker_options options = {})
        : state_(std::make_shared<state>(ex, std::move(l), std::move(options))) {}

    broker(const broker&) = delete;
    broker& operator=(const broker&) = delete;
    // Late answers find the broker gone and do nothing; the link is stopped.
    ~broker() {
        state_->life->end();
        stop();
    }

    // Joins `hub` (constructed with this broker as its history source): its
    // publishes go through Redis, and every message of every topic is applied to
    // it. Before link->start().
    void join(hub::service& hub) {
        state_->hub = &hub;
        hub.attach(this);
        state_->link->psubscribe(state_->options.prefix + ":{*}");
        // Weak: the link must not keep the broker's state (and so itself) alive.
        state_->link->on_message([weak = std::weak_ptr<state>(state_)](const std::string& channel, const std::string& payload) {
            if (auto s = weak.lock()) s->take(channel, payload);
        });
        state_->link->on_state([weak = std::weak_ptr<state>(state_)](bool up) {
            auto s = weak.lock();
            if (!s) return;
            s->in_sync = false;
            if (up) s->repair_all();
        });
    }

    // Stops the link and the periodic check, so that the executor can run out of
    // work (a server shutting down). Thread-safe.
    void stop() {
        state_->link->stop();
        std::lock_guard lock(state_->mutex);
        state_->stopped = true;
        state_->checker.cancel();
    }

    // The hub is going: nothing is applied to it from here on (waits for what runs).
    void detach(hub::service&) noexcept override { state_->life->end(); }

    // Whether the link is up and the topics were repaired since it came up.
    bool in_sync() const noexcept override { return state_->link->up() && state_->in_sync.load(); }

    // A publisher's idempotency key is kept in Redis for idempotency_ttl, apart
    // from the keys the broker makes for its own retries.
    void publish(hub::service&, std::string_view topic, std::string_view data, std::string_view idempotency_key,
                 published_handler done) override {
        std::error_code ec = hub::valid_topic_name(topic) ? hub::topic::check(data, state_->hub->limits().topic)
                                                          : std::error_code(hub::error::bad_topic_name);
        if (ec) return done(ec, nullptr);
        std::string key = idempotency_key.empty() ? state_->new_key() : "c:" + std::string(idempotency_key);
        auto call = std::make_shared<detail::publish_call>(detail::publish_call{std::string(topic), std::string(data), std::move(key),
                                                                std::chrono::steady_clock::now() + state_->options.retry_for,
                                                                std::move(done)});
        state_->run_publish(call);
    }

    void fetch(std::string_view topic, std::string_view epoch, hub::seq_range range,
               std::function<void(std::vector<entry>, answer)> done) override {
        state_->fetch(std::string(topic), std::string(epoch), range, std::move(done),
                      std::chrono::steady_clock::now() + state_->options.retry_for);
    }

    // Redis's epoch and last number of `topic` (for a fresh subscriber's ready id).
    // Asked once, not retried: only the first try is sure to run before any publish
    // this node issues after it; ("", 0) when the link is down.
    void latest(std::string_view topic, std::function<void(std::string, std::uint64_t)> done) override {
        state_->latest(std::string(topic), [done = std::move(done)](std::string epoch, std::uint64_t seq, answer) {
            done(std::move(epoch), seq);
        }, std::chrono::steady_clock::now());
    }

    // Applies what Redis has of `topic` beyond what the hub has (at most the last
    // max_messages of the hub's history), then `done`: a cursor from a client of
    // another node is then one the hub can place. not_now: Redis did not answer
    // within retry_for.
    void catch_up(std::string_view topic, std::function<void(answer)> done) override {
        state_->catch_up(std::string(topic), std::move(done), std::chrono::steady_clock::now() + state_->options.retry_for);
    }

private:
    using state = detail::broker_state;
    std::shared_ptr<state> state_;
};

}  // namespace herald::redis

#endif
