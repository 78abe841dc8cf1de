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
//   each topic known here is apply()d, which repairs any gap the same way (a
//   message lost with the subscription, a last message nobody followed up). A
//   Redis whose numbering went back (a rollback to an older snapshot) moves that
//   topic to a new epoch instead of giving an id twice.

#include <herald/asio/hub/service.hpp>
#include <herald/asio/redis/link.hpp>
#include <herald/asio/redis/script.hpp>
#include <herald/history.hpp>
#include <herald/redis/scripts.hpp>

#include <asio/steady_timer.hpp>

#include <charconv>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>

namespace herald::redis {

struct broker_options {
    std::string prefix = "herald";            // keys and channels: <prefix>:{<topic>}...
    std::size_t stream_length = 10'000;       // messages each topic's stream keeps, for gaps and resumes
    std::chrono::seconds idempotency_ttl{300};
    std::chrono::milliseconds retry_for{1000};        // how long a publish waits for Redis to come back
    std::chrono::milliseconds check_interval{5000};   // each known topic's latest message, compared
    std::size_t max_topics = 10'000;          // topics repaired and checked (the hub's own cap applies too)
    // New topics' epochs and idempotency keys; 0: from std::random_device. Nodes must
    // not share a seed: their idempotency keys would collide (a publish would be
    // answered with another node's id and not stored).
    std::uint64_t seed = 0;
};

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
    bool in_sync() const noexcept { return state_->link->up() && state_->in_sync.load(); }

    void publish(hub::service&, std::string_view topic, std::string_view data, published_handler done) override {
        std::error_code ec = hub::valid_topic_name(topic) ? hub::topic::check(data, state_->hub->limits().topic)
                                                          : std::error_code(hub::error::bad_topic_name);
        if (ec) return done(ec, nullptr);
        auto call = std::make_shared<publish_call>(publish_call{std::string(topic), std::string(data), state_->new_key(),
                                                                std::chrono::steady_clock::now() + state_->options.retry_for,
                                                                std::move(done)});
        state_->run_publish(call);
    }

    void fetch(std::string_view topic, std::string_view epoch, hub::seq_range range,
               std::function<void(std::vector<entry>)> done) override {
        state_->fetch(std::string(topic), std::string(epoch), range, std::move(done),
                      std::chrono::steady_clock::now() + state_->options.retry_for);
    }

private:
    struct publish_call {
        std::string topic, data, key;
        std::chrono::steady_clock::time_point give_up;
        published_handler done;
    };

    struct state : std::enable_shared_from_this<state> {
        state(const asio::any_io_executor& executor, std::shared_ptr<redis::link> l, broker_options o)
            : ex(executor), link(std::move(l)), options(std::move(o)), checker(executor), random(seed_of(options)),
              publish_script(std::string(scripts::publish)), range_script(std::string(scripts::range)),
              latest_script(std::string(scripts::latest)), reepoch_script(std::string(scripts::reepoch)) {}

        asio::any_io_executor ex;
        std::shared_ptr<redis::link> link;
        broker_options options;
        hub::service* hub = nullptr;
        std::shared_ptr<hub::detail::life> life = std::make_shared<hub::detail::life>();
        std::mutex mutex;  // known, random, checker
        std::map<std::string, std::pair<std::string, std::uint64_t>, std::less<>> known;  // topic -> (epoch, last seq seen)
        asio::steady_timer checker;
        std::mt19937_64 random;
        std::atomic<bool> in_sync{false};
        bool stopped = false;  // under mutex: no more checks
        script publish_script, range_script, latest_script, reepoch_script;

        static std::uint64_t seed_of(const broker_options& o) {
            if (o.seed != 0) return o.seed;
            std::random_device device;
            return (std::uint64_t{device()} << 32) ^ device();
        }

        std::string new_key() {
            std::lock_guard lock(mutex);
            return make_epoch(random()) + make_epoch(random());
        }

        // Runs `f` after `delay` unless the broker is gone by then.
        template <class F>
        void later(std::chrono::milliseconds delay, F f) {
            auto timer = std::make_shared<asio::steady_timer>(ex, delay);
            timer->async_wait([timer, self = shared_from_this(), f = std::move(f)](std::error_code) mutable {
                const hub::detail::living here(self->life);
                if (here.in) f();
            });
        }

        void run_publish(const std::shared_ptr<publish_call>& call) {
            const auto c = link->commands();
            if (!c) return retry_publish(call, error::not_connected);
            const auto keys = scripts::keys_of(options.prefix, call->topic);
            std::string epoch;
            {
                std::lock_guard lock(mutex);
                epoch = make_epoch(random());
            }
            publish_script.run(c, {keys.meta, keys.log, keys.done(call->key)},
                               {call->data, std::to_string(options.stream_length), epoch, keys.channel,
                                std::to_string(options.idempotency_ttl.count())},
                               [self = shared_from_this(), call](std::error_code ec, reply r) {
                                   if (ec) return self->retry_publish(call, ec);  // the same key: not stored twice
                                   const auto id = r.type == reply::kind::string ? split_position(r.text) : std::nullopt;
                                   if (!id || id->seq == 0) return call->done(error::bad_reply, nullptr);
                                   self->note(call->topic, std::string(id->epoch), id->seq);
                                   call->done({}, hub::make_message(call->topic, id->epoch, id->seq, call->data));
                               });
        }

        void retry_publish(const std::shared_ptr<publish_call>& call, std::error_code why) {
            if (std::chrono::steady_clock::now() >= call->give_up) return call->done(why, nullptr);
            later(std::chrono::milliseconds(50), [self = shared_from_this(), call] { self->run_publish(call); });
        }

        // A message from the subscription: "<epoch>\n<seq>\n<data>" on <prefix>:{T}.
        void take(const std::string& channel, const std::string& payload) {
            const auto topic = scripts::topic_of(channel);
            const auto first = payload.find('\n');
            const auto second = first == std::string::npos ? first : payload.find('\n', first + 1);
            if (topic.empty() || second == std::string::npos) return;  // not one of ours
            std::uint64_t seq = 0;
            std::from_chars(payload.data() + first + 1, payload.data() + second, seq);
            const std::string_view epoch(payload.data(), first);
            note(topic, std::string(epoch), seq);
            apply(topic, epoch, seq, std::string_view(payload).substr(second + 1));
        }

        void apply(std::string_view topic, std::string_view epoch, std::uint64_t seq, std::string_view data) {
            const hub::detail::living here(life);
            if (!here.in || !hub || seq == 0) return;
            std::error_code ignored;  // checked when it was published
            hub->apply(topic, epoch, seq, data, ignored);
        }

        // Remembers the newest (epoch, seq) seen of `topic`, for repairs and rollbacks.
        void note(std::string_view topic, std::string epoch, std::uint64_t seq) {
            std::lock_guard lock(mutex);
            auto it = known.find(topic);
            if (it == known.end()) {
                if (known.size() >= options.max_topics) return;
                known.emplace(std::string(topic), std::pair(std::move(epoch), seq));
            } else if (it->second.first != epoch || seq > it->second.second) {
                it->second = {std::move(epoch), seq};
            }
        }

        // Applies each known topic's latest message: the hub fetches any gap.
        void repair_all() {
            const auto c = link->commands();
            std::vector<std::pair<std::string, std::pair<std::string, std::uint64_t>>> topics;
            {
                std::lock_guard lock(mutex);
                topics.assign(known.begin(), known.end());
            }
            auto left = std::make_shared<std::size_t>(topics.size() + 1);
            const auto one_done = [self = shared_from_this(), left] {
                if (--*left == 0) self->in_sync = self->link->up();
            };
            if (c) {
                for (auto& [topic, seen] : topics) repair(c, topic, seen, one_done);
            }
            one_done();
            schedule_check();
        }

        template <class Done>
        void repair(const std::shared_ptr<connection>& c, const std::string& topic, const std::pair<std::string, std::uint64_t>& seen,
                    Done done) {
            const auto keys = scripts::keys_of(options.prefix, topic);
            latest_script.run(c, {keys.meta, keys.log}, {},
                              [self = shared_from_this(), c, topic, seen, keys, done](std::error_code ec, reply r) {
                                  if (ec || r.elements.size() != 3) return done();
                                  const std::string& epoch = r.elements[0].text;
                                  std::uint64_t seq = 0;
                                  const auto& s = r.elements[1].text;
                                  std::from_chars(s.data(), s.data() + s.size(), seq);
                                  if (epoch == seen.first && seq < seen.second) {  // numbering went back: a rollback
                                      std::string fresh;
                                      {
                                          std::lock_guard lock(self->mutex);
                                          fresh = make_epoch(self->random());
                                      }
                                      self->reepoch_script.run(c, {keys.meta, keys.log}, {seen.first, std::to_string(seen.second), fresh},
                                                               [done](std::error_code, reply) { done(); });
                                      return;
                                  }
                                  self->note(topic, epoch, seq);
                                  self->apply(topic, epoch, seq, r.elements[2].text);
                                  done();
                              });
        }

        void schedule_check() {
            std::lock_guard lock(mutex);
            if (stopped) return;
            checker.expires_after(options.check_interval);
            checker.async_wait([weak = weak_from_this()](std::error_code ec) {
                auto self = weak.lock();
                if (ec || !self || !self->link->up()) return;
                self->repair_all();
            });
        }

        void fetch(std::string topic, std::string epoch, hub::seq_range range, std::function<void(std::vector<entry>)> done,
                   std::chrono::steady_clock::time_point give_up) {
            const auto c = link->commands();
            auto retry = [self = shared_from_this(), topic, epoch, range, done, give_up]() mutable {
                // Redis is down: wait for it rather than give the range up (a false lost signal).
                if (std::chrono::steady_clock::now() >= give_up) return done({});
                self->later(std::chrono::milliseconds(50), [self, topic, epoch, range, done, give_up]() mutable {
                    self->fetch(std::move(topic), std::move(epoch), range, std::move(done), give_up);
                });
            };
            if (!c) return retry();
            const auto keys = scripts::keys_of(options.prefix, topic);
            range_script.run(c, {keys.meta, keys.log}, {epoch, std::to_string(range.first), std::to_string(range.last)},
                             [done, retry](std::error_code ec, reply r) mutable {
                                 if (ec) return retry();
                                 std::vector<entry> got;
                                 for (const auto& e : r.elements) {  // [id, [d, data]]
                                     const reply* id = e.at(0);
                                     const reply* fields = e.at(1);
                                     if (!id || !fields || !fields->at(1)) continue;
                                     entry out;
                                     std::from_chars(id->text.data(), id->text.data() + id->text.size(), out.seq);
                                     out.data = fields->at(1)->text;
                                     got.push_back(std::move(out));
                                 }
                                 done(std::move(got));
                             });
        }
    };

    std::shared_ptr<state> state_;
};

}  // namespace herald::redis

#endif
