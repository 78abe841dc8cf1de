// examples/live/live_server as nodes on one Redis (docs/cluster.md): what one node
// is given to publish, the other serves with the same id, and a client of one
// resumes on the other.
#include "../asio/support.hpp"
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

namespace {

asio::ip::tcp::endpoint at(const child_server& node) { return {asio::ip::make_address("127.0.0.1"), node.port()}; }

std::string post(const child_server& node, const std::string& data) {
    const auto res = http_exchange(at(node), "POST /api/publish?topic=news HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                                                 std::to_string(data.size()) + "\r\n\r\n" + data);
    return std::to_string(res.status) + " " + res.body;
}

std::vector<std::string> ids_since(const child_server& node, const std::string& cursor) {
    const auto res = http_exchange(at(node), "GET /api/messages?topic=news&since=" + cursor + " HTTP/1.1\r\nHost: t\r\n\r\n");
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
    child_server a{HERALD_LIVE_SERVER, {"--redis", at_redis, "--node", "a", "--ticker-ms", "0", "--quiet", "1"}};
    child_server b{HERALD_LIVE_SERVER, {"--redis", at_redis, "--node", "b", "--ticker-ms", "0", "--quiet", "1"}};
    // Publishes wait for the node's link to Redis (a short retry), so the first may
    // come before it is up: retried here as a publisher would.
    std::string first;
    for (int i = 0; i < 50 && first.rfind("200 ", 0) != 0; ++i) {
        first = post(a, "one");
        if (first.rfind("200 ", 0) != 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    REQUIRE(first.rfind("200 ", 0) == 0);
    const std::string id1 = first.substr(first.find("\"id\":\"") + 6, first.rfind('"') - first.find("\"id\":\"") - 6);
    const std::string epoch = id1.substr(0, id1.rfind('-'));
    CHECK(id1 == epoch + "-1");
    std::string second;
    for (int i = 0; i < 50 && second.rfind("200 ", 0) != 0; ++i) {
        second = post(b, "two");
        if (second.rfind("200 ", 0) != 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    CHECK(second == "200 {\"id\":\"" + epoch + "-2\"}");
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
    redis_server redis;
    const std::string at_redis = "127.0.0.1:" + redis.port();
    child_server a{HERALD_LIVE_SERVER, {"--redis", at_redis, "--node", "a", "--ticker-ms", "0", "--quiet", "1"}};
    std::string first;
    for (int i = 0; i < 50 && first.rfind("200 ", 0) != 0; ++i) {
        first = post(a, "one");
        if (first.rfind("200 ", 0) != 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    REQUIRE(first.rfind("200 ", 0) == 0);
    const std::string id1 = first.substr(first.find("\"id\":\"") + 6, first.rfind('"') - first.find("\"id\":\"") - 6);
    // Node b starts after the message: its hub has never seen the topic.
    child_server b{HERALD_LIVE_SERVER, {"--redis", at_redis, "--node", "b", "--ticker-ms", "0", "--quiet", "1"}};
    std::string cursor;
    static const std::regex cursor_of(R"re("cursor":"([^"]*)")re");
    for (int i = 0; i < 100 && cursor != id1; ++i) {  // until b's link is up
        const auto res = http_exchange(at(b), "GET /api/messages?topic=news HTTP/1.1\r\nHost: t\r\n\r\n");
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
    child_server a{HERALD_LIVE_SERVER, {"--redis", "127.0.0.1:" + redis.port(), "--node", "a", "--ticker-ms", "0", "--quiet", "1"}};
    const auto stats = [&] { return http_exchange(at(a), "GET /api/stats HTTP/1.1\r\nHost: t\r\n\r\n").body; };
    std::string now;
    for (int i = 0; i < 100 && now.find("\"in_sync\":true") == std::string::npos; ++i) {
        now = stats();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(now.find("\"in_sync\":true") != std::string::npos);
    redis.stop();
    for (int i = 0; i < 100 && now.find("\"in_sync\":false") == std::string::npos; ++i) {
        now = stats();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(now.find("\"in_sync\":false") != std::string::npos);
}
