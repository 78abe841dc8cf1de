// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_LONGPOLL_HPP
#define HERALD_ASIO_LONGPOLL_HPP

// Long polling over async_serve: parks poll requests in a longpoll::registry and
// answers them when a message is published to their key or their timeout passes.
//
//   longpoll::service polls{io.get_executor()};
//   http::server server{ex, [&](const http::request& req, http::responder respond) {
//       if (http::target_path(req.target) == "/poll") return polls.handle(req, std::move(respond));
//       ...
//   }};
//   polls.publish("news", "hello");   // from any thread
//
// The wire format (query, JSON answer) is in longpoll/answer.hpp. Answers:
//   200  {"cursor":N,"reset":false,"messages":[...]}  messages after `since`, at once
//        if there are any, else when one is published; on timeout `messages` is []
//        and `cursor` is the client's own `since`
//   400  a malformed `since` or `timeout`, or a key longer than limits::max_key
//   503  too many parked polls (in total or on the key), with `Retry-After: 1`
// `timeout=0` answers at once: short polling is long polling that does not wait.
//
// How it works: one mutex guards the registry, the per-key message histories and
// the parked responders. Every deadline is in the registry, so one timer (on a
// strand of its own) serves them all, armed for the registry's next deadline and
// draining expire(now) when it fires; a wake on publish answers the waiters from
// the publishing thread (a responder posts to its own connection's strand). A
// client that hangs up while parked is unparked through responder::on_abandon.

#include <herald/asio/serve.hpp>
#include <herald/history.hpp>
#include <herald/longpoll/answer.hpp>
#include <herald/longpoll/registry.hpp>
#include <herald/utf8.hpp>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace herald::longpoll {

struct service_options {
    longpoll::limits limits;
    history_limits backlog;  // per key: what a poll with an old cursor can still get
    std::chrono::seconds default_timeout = std::chrono::seconds(25);
    std::chrono::seconds max_timeout = std::chrono::seconds(120);
    std::size_t max_answer_bytes = 256 * 1024;  // messages in one answer; the rest comes at the next poll
};

class service {
public:
    explicit service(asio::any_io_executor ex, const service_options& options = {})
        : impl_(std::make_shared<impl>(std::move(ex), options)) {}

    service(const service&) = delete;
    service& operator=(const service&) = delete;
    // Parked polls are answered with no messages, so their clients poll again.
    ~service() { impl_->shut_down(); }

    // Publishes `message` (UTF-8, else refused with 0) to `key` and wakes the polls
    // parked on it. Thread-safe. Returns the key's new cursor.
    std::uint64_t publish(std::string_view key, std::string message) { return impl_->publish(key, std::move(message)); }

    // Answers a poll request now or later (see the top of this file). Call it from
    // an async_serve handler.
    void handle(const http::request& req, http::responder respond) { impl_->handle(req, std::move(respond)); }

    std::size_t waiting() const { return impl_->waiting(); }
    std::uint64_t cursor(std::string_view key) const { return impl_->cursor(key); }

private:
    class impl : public std::enable_shared_from_this<impl> {
    public:
        impl(asio::any_io_executor ex, const service_options& options)
            : options_(options), registry_(options.limits), strand_(asio::make_strand(ex)), timer_(strand_) {}

        std::uint64_t publish(std::string_view key, std::string message) {
            if (!is_utf8(message)) return 0;  // a JSON answer carries UTF-8 only (RFC 8259 §8.1)
            auto bytes = std::make_shared<const std::string>(std::move(message));
            std::vector<registry::woken> woken;
            std::vector<std::pair<http::responder, std::shared_ptr<const std::string>>> answers;
            std::uint64_t cursor;
            {
                std::lock_guard lock(mutex_);
                cursor = registry_.publish(key, woken);
                auto& log = logs_.try_emplace(std::string(key), options_.backlog).first->second;
                log.append(std::move(bytes));
                // Waiters of one key almost always share their `since`: one body each.
                std::map<std::uint64_t, std::shared_ptr<const std::string>> bodies;
                for (const auto& w : woken) {
                    auto entry = take(w.ticket);
                    auto& body = bodies[entry.since];
                    if (!body) body = std::make_shared<const std::string>(answer_body(log, entry.since, cursor));
                    answers.emplace_back(std::move(entry.respond), body);
                }
                rearm_locked();
            }
            for (auto& [respond, body] : answers) respond(json_response(*body));
            return cursor;
        }

        void handle(const http::request& req, http::responder respond) {
            poll_query q;
            if (auto ec = parse_poll_query(req.target, q)) return respond(error_response(400, ec));
            const auto timeout = std::min<std::chrono::seconds>(
                q.timeout_seconds ? std::chrono::seconds(*q.timeout_seconds) : options_.default_timeout, options_.max_timeout);
            std::unique_lock lock(mutex_);
            std::error_code ec;
            const auto deadline = registry::clock::now() + timeout;
            const auto w = timeout.count() == 0 ? immediate(q) : registry_.wait(q.key, q.since, deadline, ec);
            if (ec) {
                lock.unlock();
                auto res = error_response(ec == error::key_too_long ? 400 : 503, ec);
                if (ec != error::key_too_long) res.fields.append("Retry-After", "1");
                return respond(std::move(res));
            }
            if (!w.parked) {
                const auto found = logs_.find(q.key);
                std::string body = found == logs_.end() ? answer_body(no_history(), q.since, w.cursor)
                                                        : answer_body(found->second, q.since, w.cursor);
                lock.unlock();
                return respond(json_response(body));
            }
            respond.on_abandon([weak = weak_from_this(), t = w.ticket] {
                if (auto self = weak.lock()) self->abandon(t);
            });
            if (parked_.size() <= w.ticket.index) parked_.resize(w.ticket.index + 1);
            parked_[w.ticket.index] = parked{std::move(respond), q.since};
            const bool sooner = deadline < armed_;
            if (sooner) armed_ = deadline;
            lock.unlock();
            if (sooner) asio::post(strand_, [self = shared_from_this()] { self->arm(); });
        }

        std::size_t waiting() const {
            std::lock_guard lock(mutex_);
            return registry_.waiting();
        }

        std::uint64_t cursor(std::string_view key) const {
            std::lock_guard lock(mutex_);
            return registry_.cursor(key);
        }

        void shut_down() {
            answer_expired(registry::time_point::max());
            asio::post(strand_, [self = shared_from_this()] { self->timer_.cancel(); });
        }

    private:
        struct parked {
            http::responder respond;
            std::uint64_t since = 0;
        };

        // A poll with timeout=0 is never parked: it answers with what there is.
        registry::wait_result immediate(const poll_query& q) const {
            const std::uint64_t cursor = registry_.cursor(q.key);
            return {false, q.since > cursor, cursor, {}};
        }

        parked take(ticket t) {
            parked entry = std::move(*parked_[t.index]);
            parked_[t.index].reset();
            return entry;
        }

        void abandon(ticket t) {
            std::optional<parked> entry;
            {
                std::lock_guard lock(mutex_);
                if (!registry_.cancel(t)) return;
                entry = take(t);
                rearm_locked();
            }
            // The responder is dropped unanswered outside the lock; its 500 goes
            // nowhere, since the connection is gone.
        }

        // When the earliest deadline moved (its waiter was woken or left), the timer
        // follows, so it never holds the executor for a poll that is gone.
        void rearm_locked() {
            if (registry_.next_deadline() == armed_) return;
            armed_ = registry_.next_deadline();
            asio::post(strand_, [self = shared_from_this()] { self->arm(); });
        }

        // Runs on strand_: sets the timer for the registry's next deadline.
        void arm() {
            registry::time_point next;
            {
                std::lock_guard lock(mutex_);
                next = registry_.next_deadline();
                armed_ = next;
            }
            if (next == registry::time_point::max()) {
                timer_.cancel();  // nothing parked: hold no work on the executor
                return;
            }
            timer_.expires_at(next);
            timer_.async_wait([weak = weak_from_this()](std::error_code ec) {
                if (ec) return;  // re-armed or cancelled
                if (auto self = weak.lock()) self->expire();
            });
        }

        void expire() {
            answer_expired(registry::clock::now());
            arm();
        }

        // Answers every poll whose deadline is at or before `now` with no messages;
        // the cursor stays where the client had it.
        void answer_expired(registry::time_point now) {
            std::vector<std::pair<http::responder, std::uint64_t>> answers;
            {
                std::lock_guard lock(mutex_);
                std::vector<ticket> expired;
                registry_.expire(now, expired);
                for (const auto& t : expired) {
                    auto entry = take(t);
                    answers.emplace_back(std::move(entry.respond), entry.since);
                }
            }
            for (auto& [respond, since] : answers) respond(json_response(answer_body(no_history(), since, since)));
        }

        static const history& no_history() {
            static const history empty;
            return empty;
        }

        // The answer for a client at `since`, with the messages up to `cursor`, but
        // no more than max_answer_bytes of them (at least one): the cursor then
        // names the last message included, and the client's next poll, answered at
        // once, gets the rest. A bound here keeps every answer within what a client
        // accepts, however much the backlog holds.
        std::string answer_body(const history& log, std::uint64_t since, std::uint64_t cursor) const {
            std::vector<std::string_view> messages;
            auto found = log.after(since);
            const bool reset = found.state != history::status::ok;
            if (reset) found.first = 0;  // what is still kept
            std::size_t size = 0;
            for (std::size_t i = found.first; i < log.size() && log[i].seq <= cursor; ++i) {
                size += json_string_size(*log[i].bytes) + 1;
                if (!messages.empty() && size > options_.max_answer_bytes) {
                    cursor = log[i - 1].seq;
                    break;
                }
                messages.push_back(*log[i].bytes);
            }
            std::string body;
            encode_answer(cursor, reset && since != cursor, messages, body);
            return body;
        }

        static http::response json_response(std::string body) {
            http::response res{200, "application/json", std::move(body)};
            res.fields.append("Cache-Control", "no-store");
            return res;
        }

        static http::response error_response(unsigned status, std::error_code ec) {
            return http::response{status, "text/plain; charset=utf-8", ec.message() + "\n"};
        }

        service_options options_;
        mutable std::mutex mutex_;
        registry registry_;
        std::unordered_map<std::string, history> logs_;
        std::vector<std::optional<parked>> parked_;
        registry::time_point armed_ = registry::time_point::max();
        asio::strand<asio::any_io_executor> strand_;
        asio::steady_timer timer_;
    };

    std::shared_ptr<impl> impl_;
};

}  // namespace herald::longpoll

#endif
