// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_REDIS_DETAIL_BROKER_STATE_HPP
#define HERALD_ASIO_REDIS_DETAIL_BROKER_STATE_HPP

// What redis::broker (asio/redis/broker.hpp) does, in the state its completions
// share: they hold it, never the broker, so a late answer finds the broker gone
// and does nothing.

#include <herald/asio/hub/service.hpp>
#include <herald/asio/redis/broker_options.hpp>
#include <herald/asio/redis/link.hpp>
#include <herald/asio/redis/script.hpp>
#include <herald/history.hpp>
#include <herald/redis/scripts.hpp>
#include <herald/redis/topic_memory.hpp>

#include <asio/steady_timer.hpp>

#include <atomic>
#include <charconv>
#include <chrono>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

namespace herald::redis {

namespace detail {

struct publish_call {
    std::string topic, data, key;
    std::chrono::steady_clock::time_point give_up;
    hub::broker::published_handler done;
};

struct broker_state : std::enable_shared_from_this<broker_state> {
    using entry = hub::history_source::entry;
    using answer = hub::history_source::answer;

    broker_state(const asio::any_io_executor& executor, std::shared_ptr<redis::link> l, broker_options o)
        : ex(executor), link(std::move(l)), options(std::move(o)), memory(options.max_topics), checker(executor),
          random(seed_of(options)), publish_script(std::string(scripts::publish)),
          range_script(std::string(scripts::range)), latest_script(std::string(scripts::latest)),
          reepoch_script(std::string(scripts::reepoch)) {}

    asio::any_io_executor ex;
    std::shared_ptr<redis::link> link;
    broker_options options;
    hub::service* hub = nullptr;
    std::shared_ptr<hub::detail::life> life = std::make_shared<hub::detail::life>();
    std::mutex mutex;  // memory, random, checker, stopped, repairs
    topic_memory memory;
    asio::steady_timer checker;
    std::mt19937_64 random;
    std::atomic<bool> in_sync{false};
    bool stopped = false;         // no more checks
    std::uint64_t repairs = 0;    // the newest repair pass: only it may say "in sync"
    script publish_script, range_script, latest_script, reepoch_script;

    // Idempotency keys must differ between nodes and between a node's lives:
    // the seed is mixed with the machine's randomness whatever it is.
    static std::uint64_t seed_of(const broker_options& o) {
        std::random_device device;
        return o.seed ^ (std::uint64_t{device()} << 32) ^ device();
    }

    std::string new_word() {
        std::lock_guard lock(mutex);
        return make_epoch(random());
    }
    std::string new_key() { return new_word() + new_word(); }

    // Runs `f` after `delay`, or `gone` when the broker is gone by then.
    template <class F, class Gone>
    void later(std::chrono::milliseconds delay, F f, Gone gone) {
        auto timer = std::make_shared<asio::steady_timer>(ex, delay);
        timer->async_wait([timer, self = shared_from_this(), f = std::move(f), gone = std::move(gone)](std::error_code) mutable {
            const hub::detail::living here(self->life);
            if (here.in) f();
            else gone();
        });
    }

    // Waits for Redis to come back (or stop being busy): `again` in a moment
    // while `give_up` is ahead, else `stop` (also when the broker is gone by then).
    template <class Again, class Stop>
    void retry_until(std::chrono::steady_clock::time_point give_up, Again again, Stop stop) {
        if (std::chrono::steady_clock::now() >= give_up) return stop();
        later(std::chrono::milliseconds(50), std::move(again), std::move(stop));
    }

    // An error reply worth another try: Redis loading, busy with a script, a
    // replica during a failover (READONLY: the link is made again, to the new
    // primary), out of memory for now.
    bool transient(const reply& r) {
        if (r.is_error("READONLY")) {
            link->reset();
            return true;
        }
        return r.is_error("LOADING") || r.is_error("BUSY") || r.is_error("MASTERDOWN") || r.is_error("TRYAGAIN") ||
               r.is_error("CLUSTERDOWN") || r.is_error("OOM");
    }

    void run_publish(const std::shared_ptr<publish_call>& call) {
        const auto c = link->commands();
        if (!c) return retry_publish(call, error::not_connected);
        const auto keys = scripts::keys_of(options.prefix, call->topic);
        topic_memory::seen_t seen;
        {
            std::lock_guard lock(mutex);
            seen = memory.seen(call->topic).value_or(topic_memory::seen_t{});
        }
        publish_script.run(c, {keys.meta, keys.log, keys.done(call->key)},
                           {call->data, std::to_string(options.stream_length), new_word(), keys.channel,
                            std::to_string(options.idempotency_ttl.count()), seen.epoch, std::to_string(seen.seq)},
                           [self = shared_from_this(), call](std::error_code ec, reply r) {
                               // Retried with the same key: stored once, whatever happened to the first try.
                               if (ec) return self->retry_publish(call, ec);
                               if (r.is_error()) {
                                   if (self->transient(r)) return self->retry_publish(call, error::refused);
                                   if (r.is_error("KEYREUSED")) return call->done(hub::error::idempotency_key_reused, nullptr);
                                   return call->done(error::refused, nullptr);
                               }
                               const auto id = r.type == reply::kind::string ? split_position(r.text) : std::nullopt;
                               if (!id || id->seq == 0) return call->done(error::bad_reply, nullptr);
                               self->note(call->topic, id->epoch, id->seq);
                               call->done({}, hub::make_message(call->topic, id->epoch, id->seq, call->data));
                           });
    }

    void retry_publish(const std::shared_ptr<publish_call>& call, std::error_code why) {
        retry_until(call->give_up, [self = shared_from_this(), call] { self->run_publish(call); },
                    [call, why] { call->done(why, nullptr); });
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
        if (note(topic, epoch, seq) == topic_memory::verdict::retired) return;  // old news
        apply(topic, epoch, seq, std::string_view(payload).substr(second + 1));
    }

    void apply(std::string_view topic, std::string_view epoch, std::uint64_t seq, std::string_view data) {
        const hub::detail::living here(life);
        if (!here.in || !hub || seq == 0) return;
        std::error_code ignored;  // checked when it was published
        hub->apply(topic, epoch, seq, data, ignored);
    }

    topic_memory::verdict note(std::string_view topic, std::string_view epoch, std::uint64_t seq) {
        std::lock_guard lock(mutex);
        return memory.note(topic, epoch, seq);
    }

    // Applies each known topic's latest message: the hub fetches any gap.
    void repair_all() {
        const auto c = link->commands();
        std::vector<std::pair<std::string, topic_memory::seen_t>> topics;
        std::uint64_t pass = 0;
        {
            std::lock_guard lock(mutex);
            topics = memory.all();
            pass = ++repairs;
        }
        auto left = std::make_shared<std::size_t>(topics.size() + 1);
        const auto one_done = [self = shared_from_this(), left, pass] {
            if (--*left != 0) return;
            std::lock_guard lock(self->mutex);
            if (pass == self->repairs) self->in_sync = self->link->up();
        };
        if (c) {
            for (auto& [topic, seen] : topics) repair(c, topic, seen, one_done);
        }
        one_done();
        schedule_check();
    }

    template <class Done>
    void repair(const std::shared_ptr<connection>& c, const std::string& topic, const topic_memory::seen_t& seen,
                Done done) {
        const auto keys = scripts::keys_of(options.prefix, topic);
        latest_script.run(c, {keys.meta, keys.log}, {},
                          [self = shared_from_this(), c, topic, seen, keys, done](std::error_code ec, reply r) {
                              if (ec || r.elements.size() != 4) return done();
                              const std::string& epoch = r.elements[0].text;
                              std::uint64_t seq = 0, last = 0;
                              const auto& s = r.elements[1].text;
                              std::from_chars(s.data(), s.data() + s.size(), seq);
                              const auto& id = r.elements[2].text;
                              std::from_chars(id.data(), id.data() + id.size(), last);  // "<seq>-0"
                              if (epoch == seen.epoch && seq < seen.seq) {  // numbering went back: a rollback
                                  self->reepoch_script.run(c, {keys.meta, keys.log},
                                                           {seen.epoch, std::to_string(seen.seq), self->new_word()},
                                                           [done](std::error_code, reply) { done(); });
                                  return;
                              }
                              // The stream's last entry, under its own number (its data is that message's).
                              if (last != 0 && self->note(topic, epoch, last) != topic_memory::verdict::retired)
                                  self->apply(topic, epoch, last, r.elements[3].text);
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

    // Fetches `range` in chunks (one XRANGE must not outlast the command timeout),
    // waiting for Redis while it is down or busy until give_up (then not_now, with
    // what came so far) rather than giving the range up.
    void fetch(std::string topic, std::string epoch, hub::seq_range range, std::function<void(std::vector<entry>, answer)> done,
               std::chrono::steady_clock::time_point give_up, std::vector<entry> got = {}) {
        const auto c = link->commands();
        auto retry = [self = shared_from_this(), topic, epoch, range, done, give_up, got] {
            self->retry_until(give_up, [self, topic, epoch, range, done, give_up, got] {
                self->fetch(topic, epoch, range, done, give_up, got);
            }, [done, got] { done(got, answer::not_now); });
        };
        if (!c) return retry();
        const auto keys = scripts::keys_of(options.prefix, topic);
        range_script.run(c, {keys.meta, keys.log},
                         {epoch, std::to_string(range.first), std::to_string(range.last), std::to_string(fetch_chunk)},
                         [self = shared_from_this(), topic, epoch, range, done, give_up, got, retry](std::error_code ec,
                                                                                                     reply r) mutable {
                             if (ec || r.is_error()) return retry();
                             std::uint64_t next = range.first;
                             for (const auto& e : r.elements) {  // [id, [d, data]]
                                 const reply* id = e.at(0);
                                 const reply* fields = e.at(1);
                                 if (!id || !fields || !fields->at(1)) continue;
                                 entry out;
                                 std::from_chars(id->text.data(), id->text.data() + id->text.size(), out.seq);
                                 out.data = fields->at(1)->text;
                                 next = out.seq + 1;
                                 got.push_back(std::move(out));
                             }
                             if (r.elements.size() < fetch_chunk || next > range.last) return done(std::move(got), answer::answered);
                             self->fetch(std::move(topic), std::move(epoch), {next, range.last}, std::move(done), give_up,
                                         std::move(got));
                         });
    }
    static constexpr std::size_t fetch_chunk = 512;

    // The topic's epoch and last number in Redis, waiting for Redis until give_up;
    // done("", 0, ...) when Redis has no such topic (answered) or did not answer
    // (not_now). The topic is
    // then one this node knows (repaired and checked). One plain command, not a
    // script: a script may be loaded first, and this must run before any publish
    // this node issues after it (a fresh subscriber gets those).
    void latest(std::string topic, std::function<void(std::string, std::uint64_t, answer)> done,
                std::chrono::steady_clock::time_point give_up) {
        const auto c = link->commands();
        auto retry = [self = shared_from_this(), topic, done, give_up] {
            self->retry_until(give_up, [self, topic, done, give_up] { self->latest(topic, done, give_up); },
                              [done] { done({}, 0, answer::not_now); });
        };
        if (!c) return retry();
        const auto keys = scripts::keys_of(options.prefix, topic);
        c->command({"HMGET", keys.meta, "epoch", "seq"}, [self = shared_from_this(), topic, done, retry](std::error_code ec, reply r) {
            if (ec || r.is_error()) return retry();
            if (r.elements.size() != 2 || r.elements[0].type != reply::kind::string) return done({}, 0, answer::answered);  // no such topic
            std::uint64_t seq = 0;
            std::from_chars(r.elements[1].text.data(), r.elements[1].text.data() + r.elements[1].text.size(), seq);
            if (seq != 0 && self->note(topic, r.elements[0].text, seq) == topic_memory::verdict::retired)
                return done({}, 0, answer::answered);
            done(r.elements[0].text, seq, answer::answered);
        });
    }

    void catch_up(std::string topic, std::function<void(answer)> done, std::chrono::steady_clock::time_point give_up) {
        latest(topic, [self = shared_from_this(), topic, done, give_up](std::string epoch, std::uint64_t seq, answer a) {
            const std::uint64_t from = epoch.empty() ? 0 : self->first_missing(topic, epoch, seq);
            if (from == 0 || from > seq) return done(a);
            self->fetch(topic, epoch, {from, seq}, [self, topic, epoch, done](std::vector<entry> got, answer fetched) {
                for (const auto& e : got)
                    if (self->note(topic, epoch, e.seq) != topic_memory::verdict::retired) self->apply(topic, epoch, e.seq, e.data);
                done(fetched);
            }, give_up);
        }, give_up);
    }

    // The first message of `epoch` up to `seq` that the hub lacks, no further
    // back than its history keeps; 0 when the hub is gone.
    std::uint64_t first_missing(const std::string& topic, const std::string& epoch, std::uint64_t seq) {
        const hub::detail::living here(life);
        if (!here.in || !hub) return 0;
        std::error_code ignored;
        std::uint64_t from = 1;
        const std::string newest = hub->poll(topic, std::nullopt, ignored).newest;  // split_position views it
        if (const auto at = split_position(newest); at && at->epoch == epoch) from = at->seq + 1;
        const std::uint64_t keep = hub->limits().topic.max_messages;
        if (seq >= keep && from < seq - keep + 1) from = seq - keep + 1;
        return from;
    }
};


}  // namespace detail
}  // namespace herald::redis

#endif
