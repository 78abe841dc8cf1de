// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_LONGPOLL_HPP
#define HERALD_ASIO_LONGPOLL_HPP

// Long polling on its own: one handler for `GET /poll?topic=T&since=C&timeout=S`
// and a publish, over the hub's stream core. It is a preset — a hub::service and
// its poll transport (asio/hub/poll.hpp) — so its ids, history, resume and wire
// format are the hub's, and the same topics can be followed over SSE or WebSocket
// through hub().
//
//   longpoll::service polls{io.get_executor()};
//   http::server server{ex, [&](const http::request& req, http::responder respond) {
//       if (http::target_path(req.target) == "/poll") return polls.handle(req, std::move(respond));
//       ...
//   }};
//   polls.publish("news", "hello");   // from any thread -> its cursor
//
// The wire format is in longpoll/answer.hpp. Answers:
//   200  {"cursor":C,"reset":false,"messages":[...]}  messages after `since`, at once
//        if there are any, else when one is published; on timeout `messages` is []
//        and `cursor` is the client's own `since`; without `since`, at once with
//        the newest cursor ("now"); `reset:true` when `since` cannot be resumed (a
//        cursor of an earlier life of the server, or evicted), with the newest cursor
//   400  a malformed `since` or `timeout`, or a bad topic name
//   503  too many parked polls (in total or on the topic), with `Retry-After: 1`
// `timeout=0` answers at once: short polling is long polling that does not wait.

#include <herald/asio/hub/poll.hpp>
#include <herald/asio/hub/service.hpp>
#include <herald/history.hpp>
#include <herald/longpoll/answer.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <string_view>

namespace herald::longpoll {

struct service_options {
    longpoll::limits limits;  // parked polls, in total and per topic
    history_limits backlog;   // per topic: what a poll with an old cursor can still get
    std::size_t max_topics = 1024;
    std::size_t max_message_bytes = 64 * 1024;
    std::chrono::seconds default_timeout = std::chrono::seconds(25);
    std::chrono::seconds max_timeout = std::chrono::seconds(120);
    std::size_t max_answer_bytes = 256 * 1024;  // messages in one answer; the rest comes at the next poll
    std::string default_topic = "default";      // a poll or publish without ?topic=
};

class service {
public:
    // `epoch` names this life of the service in its cursors, so a client of an
    // earlier life is told `reset` rather than resumed; empty: drawn at random.
    explicit service(const asio::any_io_executor& ex, const service_options& options = {}, std::string epoch = {})
        : options_(options), hub_(epoch.empty() ? make_epoch(random_word()) : std::move(epoch), hub_limits(options)),
          parking_(std::make_shared<hub::poll_parking>(hub_, ex, options.limits)) {}

    service(const service&) = delete;
    service& operator=(const service&) = delete;
    // Parked polls are answered with no messages, so their clients poll again.
    ~service() { parking_->close(); }

    // Publishes `message` to `topic` (empty: the default topic) and answers the
    // polls parked on it. Thread-safe. -> its cursor, or "" and why it was refused
    // (not UTF-8, too big, a bad topic name: hub::error).
    std::string publish(std::string_view topic, std::string_view message, std::error_code& ec) {
        const auto m = hub_.publish(topic.empty() ? std::string_view(options_.default_topic) : topic, message, ec);
        return m ? m->id : std::string();
    }
    std::string publish(std::string_view topic, std::string_view message) {
        std::error_code ignored;
        return publish(topic, message, ignored);
    }

    // Answers a poll request now or later (see the top of this file). Call it from
    // an async_serve handler.
    void handle(const http::request& req, http::responder respond) {
        poll_query q;
        if (auto ec = parse_poll_query(req.target, q)) return respond({400, "text/plain; charset=utf-8", ec.message() + "\n"});
        hub::route r;
        r.what = hub::route::kind::poll;
        r.topic = q.topic.value_or(options_.default_topic);
        if (q.since && !q.since->empty()) r.cursor = std::move(q.since);
        r.timeout = std::min<std::chrono::seconds>(
            q.timeout_seconds ? std::chrono::seconds(*q.timeout_seconds) : options_.default_timeout, options_.max_timeout);
        r.max_answer_bytes = options_.max_answer_bytes;
        parking_->poll(r, std::move(respond));
    }

    std::size_t waiting() const { return parking_->waiting(); }

    // The newest cursor of `topic` (empty: the default topic).
    std::string cursor(std::string_view topic) {
        std::error_code ec;
        return hub_.poll(topic.empty() ? std::string_view(options_.default_topic) : topic, std::nullopt, ec).newest;
    }

    // The stream core underneath: follow the same topics over SSE or WebSocket.
    hub::service& hub() noexcept { return hub_; }

private:
    static hub::hub_limits hub_limits(const service_options& o) {
        hub::hub_limits l;
        l.max_topics = o.max_topics;
        l.topic.max_messages = o.backlog.max_entries;
        l.topic.max_bytes = o.backlog.max_bytes;
        l.topic.max_message_bytes = o.max_message_bytes;
        return l;
    }

    static std::uint64_t random_word() {
        std::random_device random;
        return (std::uint64_t{random()} << 32) ^ random();
    }

    service_options options_;
    hub::service hub_;
    std::shared_ptr<hub::poll_parking> parking_;
};

}  // namespace herald::longpoll

#endif
