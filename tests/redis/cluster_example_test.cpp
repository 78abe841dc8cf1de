// examples/live/live_server as nodes on one Redis (docs/cluster.md): what one node
// is given to publish, the other serves with the same id, and a client of one
// resumes on the other.
#include "../asio/support.hpp"
#include "drill.hpp"
#include "server.hpp"

#include <catch2/catch.hpp>

#include <regex>
#include <string>
#include <thread>
#include <vector>

using namespace herald;
using test_support::child_server;
using test_support::redis_server;
using testing::http_exchange;
namespace drill = test_support::drill;

namespace {

std::string post(const child_server& node, const std::string& data) {
    const auto res = http_exchange(node.endpoint(), "POST /api/publish?topic=news HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                                                 std::to_string(data.size()) + "\r\n\r\n" + data);
    return std::to_string(res.status) + " " + res.body;
}

// Publishes `data` on `node` as a publisher would while the node's link to Redis
// comes up (a publish waits only a short retry for it): again until 200. -> the id.
std::string post_until_taken(const child_server& node, const std::string& data) {
    std::string answer;
    for (int i = 0; i < 50 && answer.rfind("200 ", 0) != 0; ++i) {
        answer = post(node, data);
        if (answer.rfind("200 ", 0) != 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (answer.rfind("200 ", 0) != 0) return {};
    return answer.substr(answer.find("\"id\":\"") + 6, answer.rfind('"') - answer.find("\"id\":\"") - 6);
}

// The node's /api/stats once it says `in_sync` is `state` (or after 5 s).
std::string stats_when_in_sync(const child_server& node, bool state) {
    const std::string wanted = state ? "\"in_sync\":true" : "\"in_sync\":false";
    std::string stats;
    for (int i = 0; i < 100 && stats.find(wanted) == std::string::npos; ++i) {
        stats = http_exchange(node.endpoint(), "GET /api/stats HTTP/1.1\r\nHost: t\r\n\r\n").body;
        if (stats.find(wanted) == std::string::npos) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return stats;
}

// Redis, node a with one message ("one", id1) published, then node b, started
// after it: b's hub has never seen the topic.
struct late_node {
    redis_server redis;
    std::string at_redis = "127.0.0.1:" + redis.port();
    child_server a{HERALD_LIVE_SERVER, drill::node_args(at_redis, "a")};
    std::string id1 = post_until_taken(a, "one");
    child_server b{HERALD_LIVE_SERVER, drill::node_args(at_redis, "b")};
};

std::vector<std::string> ids_since(const child_server& node, const std::string& cursor) {
    const auto res = http_exchange(node.endpoint(), "GET /api/messages?topic=news&since=" + cursor + " HTTP/1.1\r\nHost: t\r\n\r\n");
    std::vector<std::string> out;
    static const std::regex id(R"re("id":"([^"]*)")re");
    for (auto it = std::sregex_iterator(res.body.begin(), res.body.end(), id); it != std::sregex_iterator(); ++it)
        out.push_back((*it)[1]);
    return out;
}

}  // namespace

TEST_CASE("live_server --redis: two nodes share one numbering, and a cursor from one resumes on the other",
          "[redis][cluster][examples]") {
    redis_server redis;
    const std::string at_redis = "127.0.0.1:" + redis.port();
    child_server a{HERALD_LIVE_SERVER, drill::node_args(at_redis, "a")};
    child_server b{HERALD_LIVE_SERVER, drill::node_args(at_redis, "b")};
    const std::string id1 = post_until_taken(a, "one");
    REQUIRE_FALSE(id1.empty());
    const std::string epoch = id1.substr(0, id1.rfind('-'));
    CHECK(id1 == epoch + "-1");
    CHECK(post_until_taken(b, "two") == epoch + "-2");
    CHECK(post(a, "three") == "200 {\"id\":\"" + epoch + "-3\"}");
    // Each node serves every message, with the same ids; a cursor of one resumes on the other.
    std::vector<std::string> on_a, on_b;
    for (int i = 0; i < 100 && (on_a.size() < 3 || on_b.size() < 2); ++i) {
        on_a = ids_since(a, epoch + "-0");
        on_b = ids_since(b, id1);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(on_a == std::vector<std::string>{epoch + "-1", epoch + "-2", epoch + "-3"});
    CHECK(on_b == std::vector<std::string>{epoch + "-2", epoch + "-3"});
}

TEST_CASE("live_server --redis: a poll without a cursor on a node new to the topic learns Redis's position, which "
          "another node resumes exactly", "[redis][cluster][examples]") {
    late_node nodes;
    auto& [redis, at_redis, a, id1, b] = nodes;
    REQUIRE_FALSE(id1.empty());
    std::string cursor;
    static const std::regex cursor_of(R"re("cursor":"([^"]*)")re");
    for (int i = 0; i < 100 && cursor != id1; ++i) {  // until b's link is up
        const auto res = http_exchange(b.endpoint(), "GET /api/messages?topic=news HTTP/1.1\r\nHost: t\r\n\r\n");
        std::smatch m;
        if (std::regex_search(res.body, m, cursor_of)) cursor = m[1];
        if (cursor != id1) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(cursor == id1);  // not b's own "<b's epoch>-0"
    REQUIRE(post(a, "two").rfind("200 ", 0) == 0);
    std::vector<std::string> on_a;
    for (int i = 0; i < 100 && on_a.empty(); ++i) on_a = ids_since(a, cursor);
    CHECK(on_a.size() == 1);
}

TEST_CASE("live_server --redis: /api/stats says whether the node is in sync with Redis", "[redis][cluster][examples]") {
    redis_server redis;
    child_server a{HERALD_LIVE_SERVER, drill::node_args("127.0.0.1:" + redis.port(), "a")};
    CHECK(stats_when_in_sync(a, true).find("\"in_sync\":true") != std::string::npos);
    redis.stop();
    CHECK(stats_when_in_sync(a, false).find("\"in_sync\":false") != std::string::npos);
}

TEST_CASE("live_server --redis: while Redis is away a resume it is needed for is told to come back, not lost: SSE "
          "retry:, a poll 503 with Retry-After, a WebSocket close 1013", "[redis][cluster][examples]") {
    late_node nodes;  // only Redis can place id1 for node b; then Redis goes
    auto& [redis, at_redis, a, id1, b] = nodes;
    REQUIRE_FALSE(id1.empty());
    REQUIRE(stats_when_in_sync(b, true).find("\"in_sync\":true") != std::string::npos);
    redis.stop();

    const std::string sse = drill::ask(b.port(), "GET /api/events?topic=news HTTP/1.1\r\nHost: t\r\nLast-Event-ID: " + id1 + "\r\n\r\n", 5);
    CHECK(sse.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(sse.find("\r\n\r\nretry: 1000\n\n") != std::string::npos);  // then the server closed: ask() read to the end
    CHECK(sse.find("history-lost") == std::string::npos);

    const auto poll = http_exchange(b.endpoint(), "GET /api/poll?topic=news&timeout=1&since=" + id1 + " HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(poll.status == 503);
    CHECK(poll.fields.find("Retry-After") == std::optional<std::string_view>("1"));

    const std::string ws = drill::ask(b.port(), "GET /api/ws?topic=news&since=" + id1 + " HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
                                      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                      "Sec-WebSocket-Version: 13\r\n\r\n", 3);
    REQUIRE(ws.rfind("HTTP/1.1 101", 0) == 0);
    const std::string frames = ws.substr(ws.find("\r\n\r\n") + 4);
    REQUIRE(frames.size() >= 4);
    CHECK(static_cast<unsigned char>(frames[0]) == 0x88);  // a close frame, the first thing sent: no lost signal
    CHECK((static_cast<unsigned char>(frames[2]) << 8 | static_cast<unsigned char>(frames[3])) == 1013);
}
