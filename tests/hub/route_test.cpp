// The hub's route decisions and wire encodings, without sockets.
#include <herald/hub/route.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace herald;
using kind = hub::route::kind;

namespace {
http::request get(std::string target, std::string method = "GET") {
    http::request req;
    req.method = std::move(method);
    req.target = std::move(target);
    return req;
}

http::request upgrade(std::string target) {
    auto req = get(std::move(target));
    req.fields.append("Upgrade", "websocket");
    req.fields.append("Connection", "Upgrade");
    return req;
}
}  // namespace

TEST_CASE("route: each path and method gets its decision", "[hub][route]") {
    const hub::route_config config;
    CHECK(hub::decide(get("/other"), config).what == kind::not_ours);
    CHECK(hub::decide(get("/api/unknown"), config).what == kind::not_ours);
    CHECK(hub::decide(get("/api/unknown", "DELETE"), config).what == kind::not_ours);

    auto r = hub::decide(get("/api/messages?topic=a%3Ab&since=e-4"), config);
    CHECK(r.what == kind::poll);
    CHECK(r.topic == "a:b");
    CHECK(r.cursor == "e-4");
    CHECK(r.timeout.count() == 0);  // short polling: never parked

    r = hub::decide(get("/api/poll?since=e-1&timeout=7"), config);
    CHECK(r.what == kind::poll);
    CHECK(r.topic == "live");
    CHECK(r.timeout == std::chrono::seconds(7));
    CHECK(hub::decide(get("/api/poll?timeout=9999"), config).timeout == config.max_poll);
    CHECK(hub::decide(get("/api/poll?timeout=-1"), config).timeout == config.default_poll);
    CHECK(hub::decide(get("/api/poll?timeout=x"), config).timeout == config.default_poll);

    auto events = get("/api/events?topic=t&since=e-1");
    events.fields.append("Last-Event-ID", "e-9");  // WHATWG HTML §9.2.4: the header wins over ?since
    r = hub::decide(events, config);
    CHECK(r.what == kind::events);
    CHECK(r.cursor == "e-9");

    r = hub::decide(upgrade("/api/ws?topic=t&since=e-2"), config);
    CHECK(r.what == kind::websocket);
    CHECK(r.cursor == "e-2");
    CHECK(r.may_publish);

    CHECK(hub::decide(get("/api/publish?topic=t", "POST"), config).what == kind::publish);
    CHECK(hub::decide(get("/api/stats"), config).what == kind::stats);
    CHECK(hub::decide(get("/api/stats", "HEAD"), config).what == kind::stats);
}

TEST_CASE("route: a publish's Idempotency-Key is passed on, quoted or not, and a bad one is refused", "[hub][route]") {
    const hub::route_config config;
    const auto with_key = [&](std::string value) {
        auto req = get("/api/publish?topic=t", "POST");
        req.fields.append("Idempotency-Key", value);
        return hub::decide(req, config);
    };
    CHECK(hub::decide(get("/api/publish?topic=t", "POST"), config).idempotency_key.empty());
    CHECK(with_key("8e03978e-40d5").idempotency_key == "8e03978e-40d5");
    CHECK(with_key("\"8e03978e-40d5\"").idempotency_key == "8e03978e-40d5");  // the draft's sf-string
    for (const std::string& bad : std::vector<std::string>{"", "\"\"", "a b", "a\"b", std::string(129, 'k'), "caf\xc3\xa9"}) {
        const auto r = with_key(bad);
        INFO(bad);
        CHECK(r.what == kind::respond);
        CHECK(r.response.status == 400);
    }
    CHECK(with_key(std::string(128, 'k')).what == kind::publish);
}

TEST_CASE("route: OPTIONS on the routes is the CORS preflight: 204 with what may be asked and sent", "[hub][route]") {
    const hub::route_config config;
    auto r = hub::decide(get("/api/publish?topic=t", "OPTIONS"), config);
    REQUIRE(r.what == kind::respond);
    CHECK(r.response.status == 204);
    CHECK(r.response.fields.find("Allow") == std::optional<std::string_view>("POST, OPTIONS"));
    CHECK(r.response.fields.find("Access-Control-Allow-Methods") == std::optional<std::string_view>("POST, OPTIONS"));
    CHECK(r.response.fields.find("Access-Control-Allow-Headers")->find("Idempotency-Key") != std::string_view::npos);
    r = hub::decide(get("/api/events?topic=t", "OPTIONS"), config);
    CHECK(r.response.status == 204);
    CHECK(r.response.fields.find("Allow") == std::optional<std::string_view>("GET, HEAD, OPTIONS"));
    CHECK(hub::decide(get("/elsewhere", "OPTIONS"), config).what == kind::not_ours);
}

TEST_CASE("idempotency memory: a key's first answer per topic, another body refused, the oldest forgotten past capacity",
          "[hub][idempotency]") {
    hub::idempotency_memory keys(2);
    std::error_code ec;
    CHECK_FALSE(keys.retry("t", "k1", "data", ec));
    keys.remember("t", "k1", "e-1", "data");
    auto again = keys.retry("t", "k1", "data", ec);
    REQUIRE(again);
    REQUIRE(*again);
    CHECK((*again)->id == "e-1");
    CHECK((*again)->seq == 1);
    CHECK((*again)->data == "data");
    CHECK_FALSE(ec);
    CHECK_FALSE(keys.retry("u", "k1", "data", ec));  // keys are per topic
    keys.remember("t", "k1", "e-9", "data");          // the first answer stays
    CHECK((*keys.retry("t", "k1", "data", ec))->id == "e-1");
    again = keys.retry("t", "k1", "other data", ec);  // the key reused with another body
    REQUIRE(again);
    CHECK_FALSE(*again);
    CHECK(ec == hub::error::idempotency_key_reused);
    CHECK(hub::status_for(ec) == 422);
    keys.remember("u", "k1", "e-2", "x");
    keys.remember("t", "k3", "e-3", "x");
    ec = {};
    CHECK_FALSE(keys.retry("t", "k1", "data", ec));  // forgotten: the oldest of three
    CHECK(keys.size() == 2);
}

TEST_CASE("route: refusals carry their status and the fields the protocol asks for", "[hub][route]") {
    const hub::route_config config;
    auto r = hub::decide(get("/api/publish"), config);
    CHECK(r.what == kind::respond);
    CHECK(r.response.status == 405);
    CHECK(r.response.fields.value_or("Allow", "") == "POST");
    r = hub::decide(get("/api/events", "POST"), config);
    CHECK(r.response.status == 405);
    CHECK(r.response.fields.value_or("Allow", "") == "GET");
    r = hub::decide(get("/api/ws"), config);  // no upgrade
    CHECK(r.response.status == 426);
    CHECK(r.response.fields.value_or("Upgrade", "") == "websocket");
    for (const char* target : {"/api/events?topic=has%20space", "/api/ws?topic="}) {
        INFO(target);
        r = hub::decide(upgrade(target), config);
        CHECK(r.what == kind::respond);
        CHECK(r.response.status == 400);  // before any stream starts
    }
}

TEST_CASE("route: authorize is asked what each request needs, and its status is the answer", "[hub][route]") {
    hub::route_config config;
    std::vector<std::string> asked;
    config.authorize = [&](const http::request& req, hub::access what, std::string_view topic) -> unsigned {
        asked.push_back(std::to_string(static_cast<int>(what)) + ":" + std::string(topic));
        if (what == hub::access::stats) return 401;
        if (what == hub::access::publish) return req.fields.contains("X-Admin") ? 0 : 403;
        return 0;
    };
    auto r = hub::decide(get("/api/stats"), config);
    CHECK(r.response.status == 401);
    CHECK(r.response.body == "credentials required\n");
    CHECK(hub::decide(get("/api/publish?topic=t", "POST"), config).response.status == 403);
    auto admin = get("/api/publish?topic=t", "POST");
    admin.fields.append("X-Admin", "1");
    CHECK(hub::decide(admin, config).what == kind::publish);
    r = hub::decide(upgrade("/api/ws?topic=t"), config);
    CHECK(r.what == kind::websocket);
    CHECK_FALSE(r.may_publish);  // reads, and gets an error frame for each text frame
    CHECK(asked == std::vector<std::string>{"2:", "1:t", "1:t", "0:t", "1:t"});
}

TEST_CASE("decide_poll: answered at once unless there is nothing to say yet", "[hub][route]") {
    hub::topic t{"t", "e"};
    std::error_code ec;
    t.publish("one", ec);
    t.publish("two", ec);
    const auto step = [&](std::optional<std::string_view> cursor, int timeout) {
        return hub::decide_poll(t.resume(cursor), cursor, t.last_id(), std::chrono::seconds(timeout));
    };
    auto s = step("e-1", 30);
    REQUIRE(s.body);
    CHECK(*s.body == R"({"cursor":"e-2","reset":false,"messages":[{"id":"e-2","topic":"t","data":"two"}]})");
    s = step("e-2", 30);  // up to date: parked
    CHECK_FALSE(s.body);
    CHECK(s.cursor == "e-2");
    s = step("e-2", 0);  // a short poll is never parked
    CHECK(*s.body == R"({"cursor":"e-2","reset":false,"messages":[]})");
    s = step(std::nullopt, 30);  // no cursor: where now is
    CHECK(*s.body == R"({"cursor":"e-2","reset":false,"messages":[]})");
    s = step("old-1", 30);  // another epoch
    CHECK(*s.body == R"({"cursor":"e-2","reset":true,"messages":[]})");
}

TEST_CASE("decide_poll: a poll behind what is kept waits for the source, even a short one, and keeps its cursor", "[hub][route]") {
    hub::topic_limits limits;
    limits.max_messages = 2;
    limits.backed = true;
    hub::topic t{"t", "e", limits};
    std::error_code ec;
    for (int i = 0; i < 5; ++i) t.publish("m", ec);  // keeps 4, 5
    for (int timeout : {0, 30}) {
        INFO("timeout " << timeout);
        const auto s = hub::decide_poll(t.resume("e-1"), "e-1", t.last_id(), std::chrono::seconds(timeout));
        CHECK_FALSE(s.body);       // not "now" with nothing: 2 and 3 would be skipped silently
        CHECK(s.cursor == "e-1");  // a timed-out answer gives the client its own cursor back
    }
}

TEST_CASE("wire: the signals and answers every transport carries", "[hub][wire]") {
    CHECK(hub::lost_payload("t", "e-5") == R"({"type":"lost","topic":"t","id":"e-5"})");
    CHECK(hub::ready_payload("t", "e-0") == R"({"type":"ready","topic":"t","id":"e-0"})");
    CHECK(*hub::sse_lost("t", "e-5") == "event: history-lost\nid: e-5\ndata: {\"type\":\"lost\",\"topic\":\"t\",\"id\":\"e-5\"}\n\n");
    CHECK(*hub::sse_ready("t", "e-0") == "event: ready\nid: e-0\ndata: {\"type\":\"ready\",\"topic\":\"t\",\"id\":\"e-0\"}\n\n");
    CHECK(hub::error_payload("no \"way\"") == R"({"type":"error","text":"no \"way\""})");
    CHECK(hub::published_payload("e-1") == R"({"id":"e-1"})");
    const auto m = hub::make_message("t", "e", 3, "a\nb");
    CHECK(m->sse == "id: e-3\ndata: a\ndata: b\n\n");
    CHECK(m->json == R"({"id":"e-3","topic":"t","data":"a\nb"})");
    const auto res = hub::poll_response(hub::poll_body("e-3", false, {m}));
    CHECK(res.fields.value_or("Cache-Control", "") == "no-store");
    CHECK(res.body == R"({"cursor":"e-3","reset":false,"messages":[{"id":"e-3","topic":"t","data":"a\nb"}]})");
}
