// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_HUB_ROUTE_HPP
#define HERALD_HUB_ROUTE_HPP

// The hub's HTTP routes as decisions, sans-I/O: what a request asks for, whether it
// may, and what to answer. The Asio routes (asio/hub/routes.hpp) only carry out the
// decision. Under a prefix ("/api" by default; `topic` defaults to "live"):
//
//   GET  /messages?topic=T&since=C             short poll: what came after C, at once
//   GET  /poll?topic=T&since=C&timeout=S       long poll: at once if anything came
//                                              after C, else parked for up to S seconds
//   GET  /events?topic=T  (Last-Event-ID or ?since=C)   SSE
//   GET  /ws?topic=T&since=C                   WebSocket; text frames are publishes
//   OPTIONS any of them                        204: what may be asked (the CORS preflight)
//   POST /publish?topic=T                      the body is published -> {"id":C};
//                                              with Idempotency-Key: K, a retry is not
//                                              stored twice (hub/idempotency.hpp)
//   GET  /stats                                the hub's counters as JSON
//
// Refusals carry their status: 405 with Allow for another method, 426 for /ws
// without an upgrade, 400 for a bad topic name on a stream (before any stream
// starts), and whatever status authorize() returns.

#include <herald/http/message.hpp>
#include <herald/hub/error.hpp>
#include <herald/hub/idempotency.hpp>
#include <herald/hub/topic.hpp>
#include <herald/websocket/handshake.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace herald::hub {

// What a request asks to do, for route_config::authorize.
enum class access {
    read,     // short or long poll, SSE, WebSocket subscription
    publish,  // POST /publish, or text frames on a WebSocket
    stats,    // GET /stats
};

struct route_config {
    std::string prefix = "/api";
    std::string default_topic = "live";
    std::chrono::seconds default_poll{25};
    std::chrono::seconds max_poll{60};
    // A poll answer carries messages up to this many bytes of JSON (at least one);
    // its cursor then names the last one included, and the next poll gets the rest.
    std::size_t max_answer_bytes = 256 * 1024;
    // Who may do what: 0 lets `req` have `access` to `topic` (empty for stats), an
    // HTTP status refuses it with that status (401 without credentials, 403 with
    // the wrong ones, 429 ...). Unset: everyone may do everything. Browsers cannot
    // set fields on a WebSocket or an EventSource, so a token in the query string
    // (or a cookie) is what those bring. A WebSocket is asked for `read` at the
    // upgrade and for `publish` once there too: a socket that may not publish gets
    // an error frame for each text frame it sends.
    std::function<unsigned(const http::request& req, hub::access, std::string_view topic)> authorize{};
};

struct route {
    enum class kind {
        not_ours,   // not under the prefix, or not one of its paths: the caller's
        respond,    // answer `response` now
        publish,    // publish the request's body to `topic`
        stats,      // answer the hub's counters
        poll,       // short (timeout 0) or long poll of `topic` from `cursor`
        events,     // an SSE stream of `topic` from `cursor`
        websocket,  // a WebSocket on `topic` from `cursor`
    };
    kind what = kind::not_ours;
    std::string topic;
    std::optional<std::string> cursor;
    std::chrono::seconds timeout{0};
    std::size_t max_answer_bytes = 0;  // poll: route_config::max_answer_bytes (0: no bound)
    bool may_publish = false;          // websocket: text frames are published
    std::string idempotency_key;       // publish: the Idempotency-Key header's key, or empty
    http::response response;   // respond
};

namespace detail {

inline http::response text_response(unsigned status, std::string_view text) {
    return {status, "text/plain; charset=utf-8", std::string(text) + "\n"};
}

inline http::response not_allowed(std::string_view allow) {
    auto res = text_response(405, "method not allowed");
    res.fields.append("Allow", allow);
    return res;
}

// OPTIONS (RFC 9110 §9.3.7), which a browser sends first for a request of another
// origin with fields beyond the simple ones (a publish's Idempotency-Key; Fetch
// §4.8, the CORS preflight): what may be asked and sent. Whether that origin may
// read the answer is route_options::response_fields' Access-Control-Allow-Origin,
// added to this answer as to every other.
inline http::response preflight(std::string_view allow) {
    http::response res{204};
    res.fields.append("Allow", allow);
    res.fields.append("Access-Control-Allow-Methods", allow);
    res.fields.append("Access-Control-Allow-Headers", "Content-Type, Idempotency-Key, Last-Event-ID");
    res.fields.append("Access-Control-Max-Age", "600");
    return res;
}

// `timeout=S` within [0, max_poll]; the default when absent or not a number.
inline std::chrono::seconds poll_timeout(const http::request& req, const route_config& config) {
    const auto text = http::query_value(req.target, "timeout");
    if (!text) return config.default_poll;
    long seconds = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), seconds);
    if (ec != std::errc{} || end != text->data() + text->size() || seconds < 0) return config.default_poll;
    return std::min(std::chrono::seconds(seconds), config.max_poll);
}

}  // namespace detail

// Asks config.authorize; 0 when allowed.
inline unsigned refusal(const http::request& req, access what, std::string_view topic, const route_config& config) {
    return config.authorize ? config.authorize(req, what, topic) : 0;
}

// What to do with `req` (see the top).
inline route decide(const http::request& req, const route_config& config) {
    route r;
    const std::string_view path = http::target_path(req.target);
    if (path.substr(0, config.prefix.size()) != config.prefix) return r;
    const std::string_view name = path.substr(config.prefix.size());
    const bool stream = name == "/events" || name == "/ws";
    const bool read = stream || name == "/messages" || name == "/poll";
    if (name != "/publish" && name != "/stats" && !read) return r;
    const auto answer = [&](http::response res) {
        r.what = route::kind::respond;
        r.response = std::move(res);
        return r;
    };
    const bool get = req.method == "GET" || req.method == "HEAD";
    if (req.method == "OPTIONS") return answer(detail::preflight(name == "/publish" ? "POST, OPTIONS" : "GET, HEAD, OPTIONS"));
    if (name == "/publish" && req.method != "POST") return answer(detail::not_allowed("POST"));
    if (name != "/publish" && !get) return answer(detail::not_allowed("GET"));
    r.topic = name == "/stats" ? std::string() : http::query_value(req.target, "topic").value_or(config.default_topic);
    const access needs = name == "/publish" ? access::publish : name == "/stats" ? access::stats : access::read;
    if (const unsigned status = refusal(req, needs, r.topic, config))
        return answer(detail::text_response(status, status == 401 ? "credentials required" : "not allowed"));
    if (stream && !valid_topic_name(r.topic)) return answer(detail::text_response(400, std::error_code(error::bad_topic_name).message()));
    if (name == "/publish") {
        r.what = route::kind::publish;
        if (const auto value = req.fields.find("Idempotency-Key")) {
            const auto key = parse_idempotency_key(*value);
            if (!key) return answer(detail::text_response(400, "bad Idempotency-Key: 1 to 128 visible ASCII characters"));
            r.idempotency_key = std::string(*key);
        }
    }
    else if (name == "/stats") r.what = route::kind::stats;
    else if (name == "/messages" || name == "/poll") r.what = route::kind::poll;
    else r.what = name == "/events" ? route::kind::events : route::kind::websocket;
    if (name == "/poll") r.timeout = detail::poll_timeout(req, config);
    if (r.what == route::kind::poll) r.max_answer_bytes = config.max_answer_bytes;
    if (read) r.cursor = http::query_value(req.target, "since");
    if (name == "/events") {
        // WHATWG HTML §9.2.4: a reconnecting EventSource sends the last id it saw.
        if (const auto id = req.fields.find("Last-Event-ID")) r.cursor = std::string(*id);
    }
    if (name == "/ws") {
        if (!websocket::is_upgrade(req)) {
            auto res = detail::text_response(426, "WebSocket upgrade expected");
            res.fields.append("Upgrade", "websocket");
            res.fields.append("Connection", "Upgrade");
            return answer(std::move(res));
        }
        r.may_publish = refusal(req, access::publish, r.topic, config) == 0;
    }
    return r;
}

// A poll: answer now with `body`, or park until a message (or the timeout).
struct poll_step {
    std::optional<std::string> body;  // answer now
    std::string cursor;               // where the client is: what a timed-out poll answers
};

// What a poll with `timeout` does, given what resume(cursor) found on its topic.
// Answered at once: a short poll, something to send, a lost cursor, or a client
// without a cursor (it learns where "now" is); parked otherwise. An answer carries
// at most `max_bytes` of messages (0: no bound; at least one message).
inline poll_step decide_poll(const topic::resume_result& found, std::optional<std::string_view> cursor,
                             std::string_view newest, std::chrono::seconds timeout, std::size_t max_bytes = 0) {
    poll_step step;
    const bool resumed = found.state == topic::outcome::resumed;
    std::vector<message_ptr> messages;
    std::size_t bytes = 0;
    for (std::size_t i = 0; resumed && i < found.messages.size(); ++i) {
        bytes += found.messages[i]->json.size() + 1;
        if (max_bytes != 0 && !messages.empty() && bytes > max_bytes) break;
        messages.push_back(found.messages[i]);
    }
    const bool behind = found.state == topic::outcome::behind;
    // A poll behind what is kept waits for the source whatever its timeout, and
    // keeps its own cursor meanwhile (what a timed-out answer gives back).
    step.cursor = !messages.empty() ? messages.back()->id : resumed || behind ? std::string(*cursor) : std::string(newest);
    const bool lost = found.state == topic::outcome::lost;
    if (!behind && (lost || found.state == topic::outcome::fresh || timeout.count() == 0 || !messages.empty()))
        step.body = poll_body(step.cursor, lost, messages);
    return step;
}

// A poll answer: JSON, never cached (a cached poll would replay an old cursor).
inline http::response poll_response(std::string body) {
    http::response res{200, "application/json", std::move(body)};
    res.fields.append("Cache-Control", "no-store");
    return res;
}

}  // namespace herald::hub

#endif
