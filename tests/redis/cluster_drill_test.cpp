// The failure drill of docs/cluster.md: three live_server nodes on one Redis, a
// publisher that moves to another node when one fails, and clients on all four
// transports (SSE, long and short polls, WebSocket) that move to another node with
// their last id when theirs goes. Through
// kill -9 of a node, CLIENT KILL TYPE pubsub, a node stopped for 2 s, DEBUG SLEEP 2
// and CLIENT PAUSE 1500 WRITE, every client must see every id from 1 to Redis's
// last, once each, in order, and the publisher's acknowledged ids must be 1..last.
#include "drill.hpp"
#include "server.hpp"

#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace herald;
using test_support::child_server;
using test_support::redis_call;
using test_support::redis_server;
namespace drill = test_support::drill;

TEST_CASE("cluster drill: clients moving between three nodes lose nothing and see nothing twice through node and Redis "
          "failures", "[redis][cluster][drill]") {
    redis_server redis;
    const std::string at_redis = "127.0.0.1:" + redis.port();
    auto nodes = drill::start_nodes(HERALD_LIVE_SERVER, at_redis, {"n0", "n1", "n2"});
    const auto ports = drill::ports_of(nodes);
    // Clients start with no cursor, on nodes that have not seen the topic.
    std::vector<std::unique_ptr<drill::client>> clients;
    for (std::size_t i = 0; i < 8; ++i)
        clients.push_back(std::make_unique<drill::client>(ports, static_cast<drill::transport>(i % 4), i, "drill"));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));

    drill::publisher publisher(ports, "drill");
    const auto pause = [](int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };
    pause(1000);
    ::kill(nodes[0]->pid(), SIGKILL);  // kill -9 of a node: its clients move
    pause(1500);
    redis_call(redis.port(), {"CLIENT", "KILL", "TYPE", "pubsub"});  // every node's subscription goes
    pause(1500);
    ::kill(nodes[1]->pid(), SIGSTOP);  // a node that stops answering for 2 s
    pause(2000);
    ::kill(nodes[1]->pid(), SIGCONT);
    pause(1500);
    redis_call(redis.port(), {"DEBUG", "SLEEP", "2"});  // Redis stalls
    pause(1500);
    redis_call(redis.port(), {"CLIENT", "PAUSE", "1500", "WRITE"});
    pause(2500);
    publisher.finish();

    // Every client catches up with Redis's last number; what each got is 1..last.
    const std::string epoch = redis_call(redis.port(), {"HGET", "herald:{drill}:meta", "epoch"}).text;
    const std::string last = epoch + "-" + redis_call(redis.port(), {"HGET", "herald:{drill}:meta", "seq"}).text;
    for (int i = 0; i < 1000; ++i) {
        bool all = true;
        for (auto& c : clients) all = all && drill::judge(c->got()).last == last;
        if (all) break;
        pause(10);
    }
    auto acknowledged = publisher.acknowledged();
    INFO("Redis's last id " << last << ", acknowledged " << acknowledged.size() << ", failed attempts "
                            << publisher.attempts_failed);
    // Every message stored was acknowledged, once: a retry was never stored twice.
    std::sort(acknowledged.begin(), acknowledged.end(),
              [](const std::string& a, const std::string& b) { return drill::seq_of(a) < drill::seq_of(b); });
    std::vector<std::string> all;
    for (std::uint64_t seq = 1; seq <= drill::seq_of(last); ++seq) all.push_back(epoch + "-" + std::to_string(seq));
    CHECK(acknowledged == all);
    for (std::size_t i = 0; i < clients.size(); ++i) {
        const auto r = drill::judge(clients[i]->got());
        INFO("client " << i << " (" << drill::name_of(clients[i]->kind()) << ")" << ": " << clients[i]->got().size()
                       << " ids, moved " << clients[i]->moves << " times, " << r.broken_at);
        CHECK(r.lost == 0);
        CHECK(r.contiguous);
        CHECK(r.first == epoch + "-1");  // from the start
        CHECK(r.last == last);
    }
    for (auto& c : clients) c->stop = true;  // all at once: each may wait out a read
    clients.clear();
}
