// The Redis half of docs/cluster.md's failure drill: three live_server nodes, a
// client on each transport and a publisher as in cluster_drill_test.cpp, while Redis
// itself fails, in turn:
// - kill -9 with AOF `appendfsync always`, restarted: same epoch, nothing lost;
// - kill -9 without persistence, restarted empty: exactly one lost signal, then
//   the ids of a new epoch;
// - kill -9 after a snapshot, restarted from it (its numbering went back): the
//   topic moves to a new epoch, one lost signal more, no id given twice.
#include "drill.hpp"
#include "server.hpp"

#include <catch2/catch.hpp>

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace herald;
using test_support::child_server;
using test_support::redis_call;
using test_support::redis_server;
namespace drill = test_support::drill;

namespace {

std::string new_directory() {
    std::string name = (std::filesystem::temp_directory_path() / "herald-redis-XXXXXX").string();
    if (!::mkdtemp(name.data())) throw std::runtime_error("mkdtemp");
    return name;
}

std::string topic_epoch(const redis_server& redis) { return redis_call(redis.port(), {"HGET", "herald:{drill}:meta", "epoch"}).text; }

}  // namespace

TEST_CASE("redis drill: Redis killed with AOF always loses nothing, restarted empty, one lost signal and a new epoch, "
          "rolled back to a snapshot, a new epoch", "[redis][cluster][drill]") {
    const std::string aof_dir = new_directory(), plain_dir = new_directory();
    const unsigned short port = test_support::free_port();
    const std::vector<std::string> aof{"--appendonly", "yes", "--appendfsync", "always", "--dir", aof_dir};
    const std::vector<std::string> plain{"--dir", plain_dir};
    std::optional<redis_server> redis;
    redis.emplace(port, aof);
    const std::string at_redis = "127.0.0.1:" + redis->port();
    auto nodes = drill::start_nodes(HERALD_LIVE_SERVER, at_redis, {"r0", "r1", "r2"});
    const auto ports = drill::ports_of(nodes);
    std::vector<std::unique_ptr<drill::client>> clients;
    for (std::size_t i = 0; i < 4; ++i)
        clients.push_back(std::make_unique<drill::client>(ports, static_cast<drill::transport>(i % 4), i, "drill"));
    const auto pause = [](int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };
    pause(500);
    drill::publisher publisher(ports, "drill");
    pause(1500);

    // 1. kill -9 with AOF always: Redis comes back with every message it answered.
    const std::string first_epoch = topic_epoch(*redis);
    REQUIRE_FALSE(first_epoch.empty());
    redis->kill();
    pause(300);
    redis.emplace(port, aof);
    pause(2500);
    CHECK(topic_epoch(*redis) == first_epoch);

    // 2. kill -9 without persistence: Redis comes back empty.
    redis->kill();
    pause(300);
    redis.emplace(port, plain);
    pause(2500);
    const std::string second_epoch = topic_epoch(*redis);
    CHECK(second_epoch != first_epoch);

    // 3. A snapshot, more messages, kill -9, and Redis restarted from the snapshot.
    REQUIRE(redis_call(redis->port(), {"SAVE"}).text == "OK");
    pause(1000);
    redis->kill();
    pause(300);
    redis.emplace(port, plain);
    pause(3000);
    publisher.finish();

    const std::string epoch = topic_epoch(*redis);
    CHECK(epoch != second_epoch);
    CHECK(epoch != first_epoch);
    const std::string last = epoch + "-" + redis_call(redis->port(), {"HGET", "herald:{drill}:meta", "seq"}).text;
    for (int i = 0; i < 1000; ++i) {
        bool all = true;
        for (auto& c : clients) all = all && drill::judge(c->got()).last == last;
        if (all) break;
        pause(10);
    }
    // No id was acknowledged twice; in the last epoch, every message stored was acknowledged.
    const auto acknowledged = publisher.acknowledged();
    CHECK(std::set<std::string>(acknowledged.begin(), acknowledged.end()).size() == acknowledged.size());
    std::vector<std::uint64_t> in_last;
    for (const auto& id : acknowledged)
        if (drill::epoch_of(id) == epoch) in_last.push_back(drill::seq_of(id));
    std::sort(in_last.begin(), in_last.end());
    INFO("epochs " << first_epoch << ", " << second_epoch << ", " << epoch << "; last id " << last << ", acknowledged "
                   << acknowledged.size() << ", failed attempts " << publisher.attempts_failed);
    REQUIRE_FALSE(in_last.empty());
    CHECK(in_last.front() == 1);
    CHECK(in_last.back() == drill::seq_of(last));
    CHECK(in_last.size() == drill::seq_of(last));
    for (std::size_t i = 0; i < clients.size(); ++i) {
        const auto got = clients[i]->got();
        const auto r = drill::judge(got);
        std::vector<std::string> lost;
        for (const auto& entry : got)
            if (entry.rfind("lost ", 0) == 0) lost.push_back(drill::epoch_of(entry.substr(5)));
        INFO("client " << i << " (" << drill::name_of(clients[i]->kind()) << ")" << ": " << got.size() << " entries, moved "
                       << clients[i]->moves << " times, " << r.broken_at);
        CHECK(r.contiguous);
        CHECK(drill::epoch_of(r.first) == first_epoch);
        CHECK(lost == std::vector<std::string>{second_epoch, epoch});  // once per epoch Redis lost, not for AOF
        CHECK(r.last == last);
    }
    for (auto& c : clients) c->stop = true;  // all at once: each may wait out a read
    clients.clear();
    nodes.clear();
    redis.reset();
    std::filesystem::remove_all(aof_dir);
    std::filesystem::remove_all(plain_dir);
}
