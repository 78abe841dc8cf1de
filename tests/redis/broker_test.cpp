// The hub's Redis broker: two nodes (a hub, a link and a broker each) in one
// process, on a real redis-server.
#include "server.hpp"

#include <herald/asio/redis/broker.hpp>

#include <catch2/catch.hpp>

#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace herald;
using test_support::redis_call;
using test_support::redis_server;

using test_support::eventually;

namespace {

// What a subscriber got: "id=data" per message, "lost <id>" per lost signal.
struct recorder final : hub::subscriber {
    std::string_view transport() const noexcept override { return "test"; }
    std::size_t deliver(const hub::message_ptr& m) override {
        std::lock_guard lock(mutex);
        got.push_back(m->id + "=" + m->data);
        return m->data.size();
    }
    void lost(std::string_view, std::string_view id) override {
        std::lock_guard lock(mutex);
        got.push_back("lost " + std::string(id));
    }
    void ready(std::string_view, std::string_view id) override {
        std::lock_guard lock(mutex);
        ready_id = id;
    }
    bool ended() const override { return false; }
    std::string ready_at() {
        std::lock_guard lock(mutex);
        return ready_id;
    }
    std::vector<std::string> seen() {
        std::lock_guard lock(mutex);
        return got;
    }
    std::mutex mutex;
    std::vector<std::string> got;
    std::string ready_id;
};

// One node: its own io_context thread, link, broker and hub.
struct node {
    node(const std::string& port, const std::string& name) {
        redis::link_options lo;
        lo.port = port;
        lo.name = name;
        lo.reconnect = {std::chrono::milliseconds(20), std::chrono::milliseconds(200), 0, timing::jitter::full};
        lo.probe_interval = std::chrono::milliseconds(0);  // no probes: a late one on a loaded machine reconnects
        link = redis::link::make(io.get_executor(), lo);
        redis::broker_options bo;
        bo.retry_for = std::chrono::milliseconds(2000);
        bo.check_interval = std::chrono::milliseconds(100);
        bo.seed = std::hash<std::string>{}(name);
        broker = std::make_unique<redis::broker>(io.get_executor(), link, bo);
        hub = std::make_unique<hub::service>(name, hub::hub_limits{}, broker.get());
        broker->join(*hub);
        link->start();
        runner = std::thread([this] { io.run(); });
    }
    ~node() {
        hub.reset();
        broker.reset();
        work.reset();
        io.stop();
        runner.join();
    }

    // Publishes and waits for the answer: the id, or "error: ...".
    std::string publish(const std::string& topic, const std::string& data, const std::string& key = {}) {
        std::promise<std::string> answer;
        hub->publish(topic, data, key, [&](std::error_code ec, hub::message_ptr m) {
            answer.set_value(m ? m->id : "error: " + ec.message());
        });
        return answer.get_future().get();
    }

    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
    std::shared_ptr<redis::link> link;
    std::unique_ptr<redis::broker> broker;
    std::unique_ptr<hub::service> hub;
    std::thread runner;
};

// The epoch Redis gave topic `t`.
std::string epoch_of(const redis_server& server, const std::string& t) {
    return redis_call(server.port(), {"HGET", "herald:{" + t + "}:meta", "epoch"}).text;
}

}  // namespace

TEST_CASE("redis broker: one numbering on every node, delivered everywhere, and a cursor resumes on another node",
          "[redis][broker]") {
    redis_server server;
    node a{server.port(), "a"}, b{server.port(), "b"};
    REQUIRE(eventually([&] { return a.broker->in_sync() && b.broker->in_sync(); }));
    auto on_a = std::make_shared<recorder>(), on_b = std::make_shared<recorder>();
    REQUIRE_FALSE(a.hub->subscribe("t", std::nullopt, on_a));
    REQUIRE_FALSE(b.hub->subscribe("t", std::nullopt, on_b));
    // A fresh subscriber starts at its ready id: what is numbered after it. Until
    // it has one, a publish on another node has no order with its subscribe.
    REQUIRE(eventually([&] { return !on_a->ready_at().empty() && !on_b->ready_at().empty(); }));
    const std::string first = a.publish("t", "one");
    const std::string epoch = epoch_of(server, "t");
    CHECK(first == epoch + "-1");
    CHECK(b.publish("t", "two") == epoch + "-2");
    CHECK(a.publish("t", "three") == epoch + "-3");
    const std::vector<std::string> all{epoch + "-1=one", epoch + "-2=two", epoch + "-3=three"};
    CHECK(eventually([&] { return on_a->seen() == all && on_b->seen() == all; }));
    // A client of node a at -1 resumes on node b: exactly what it missed.
    auto moved = std::make_shared<recorder>();
    REQUIRE_FALSE(b.hub->subscribe("t", first, moved));
    CHECK(eventually([&] { return moved->seen() == std::vector<std::string>(all.begin() + 1, all.end()); }));
    // Refused before Redis: not UTF-8.
    CHECK(a.publish("t", "\xff").rfind("error: ", 0) == 0);
}

TEST_CASE("redis broker: a message the subscription missed is fetched from the stream, in order", "[redis][broker]") {
    redis_server server;
    node a{server.port(), "a"}, b{server.port(), "b"};
    REQUIRE(eventually([&] { return a.broker->in_sync() && b.broker->in_sync(); }));
    auto on_b = std::make_shared<recorder>();
    REQUIRE_FALSE(b.hub->subscribe("t", std::nullopt, on_b));
    REQUIRE(eventually([&] { return !on_b->ready_at().empty(); }));  // then a publish on node a comes after it
    const std::string epoch = a.publish("t", "one").substr(0, epoch_of(server, "t").size());
    // Message 2 is numbered and stored, but its PUBLISH goes where no node listens
    // (as if the subscription had dropped it).
    redis_call(server.port(), {"EVAL", std::string(redis::scripts::publish), "3", "herald:{t}:meta", "herald:{t}:log",
                               "herald:{t}:done:x", "two", "100", "unused", "nowhere", "60"});
    a.publish("t", "three");
    const std::vector<std::string> all{epoch + "-1=one", epoch + "-2=two", epoch + "-3=three"};
    CHECK(eventually([&] { return on_b->seen() == all; }));
    // A lost last message is found by the periodic check.
    redis_call(server.port(), {"EVAL", std::string(redis::scripts::publish), "3", "herald:{t}:meta", "herald:{t}:log",
                               "herald:{t}:done:y", "four", "100", "unused", "nowhere", "60"});
    CHECK(eventually([&] { return on_b->seen().size() == 4 && on_b->seen().back() == epoch + "-4=four"; }));
}

TEST_CASE("redis broker: a retried publish with the same key is stored once", "[redis][broker]") {
    redis_server server;
    const auto run = [&](const std::string& data) {
        return redis_call(server.port(), {"EVAL", std::string(redis::scripts::publish), "3", "herald:{t}:meta",
                                          "herald:{t}:log", "herald:{t}:done:k1", data, "100", "e1", "herald:{t}", "60"})
            .text;
    };
    CHECK(run("once") == "e1-1");
    CHECK(run("once") == "e1-1");  // the retry: the first answer, nothing stored
    CHECK(run("twice").rfind("KEYREUSED", 0) == 0);  // the key again with another body
    CHECK(redis_call(server.port(), {"XLEN", "herald:{t}:log"}).integer == 1);
}

TEST_CASE("redis broker: a publisher's retry with its Idempotency-Key on another node is answered with the first id",
          "[redis][broker]") {
    redis_server server;
    node a{server.port(), "a"}, b{server.port(), "b"};
    REQUIRE(eventually([&] { return a.broker->in_sync() && b.broker->in_sync(); }));
    const std::string first = a.publish("t", "once", "key-1");
    REQUIRE(first.find("error") == std::string::npos);
    CHECK(b.publish("t", "once", "key-1") == first);                      // stored once
    CHECK(b.publish("t", "not once", "key-1") == "error: " + std::error_code(hub::error::idempotency_key_reused).message());
    CHECK(b.publish("u", "once", "key-1").find("error") == std::string::npos);  // keys are per topic
    const std::string other = b.publish("t", "twice", "key-2");
    CHECK(other != first);
    CHECK(redis_call(server.port(), {"XLEN", "herald:{t}:log"}).integer == 2);
    CHECK(redis_call(server.port(), {"HGET", "herald:{t}:meta", "seq"}).text == "2");
}

TEST_CASE("redis broker: Redis losing its data is one lost signal, then the new epoch's ids", "[redis][broker]") {
    redis_server server;
    node a{server.port(), "a"};
    REQUIRE(eventually([&] { return a.broker->in_sync(); }));
    auto sub = std::make_shared<recorder>();
    REQUIRE_FALSE(a.hub->subscribe("t", std::nullopt, sub));
    const std::string old_id = a.publish("t", "before");
    redis_call(server.port(), {"FLUSHALL"});  // a restart without persistence
    const std::string new_id = a.publish("t", "after");
    const std::string fresh = epoch_of(server, "t");
    CHECK(new_id == fresh + "-1");
    CHECK(eventually([&] { return sub->seen().size() == 3; }));
    // The lost signal's id is where the new epoch starts: "<new epoch>-0".
    CHECK(sub->seen() == std::vector<std::string>{old_id + "=before", "lost " + fresh + "-0", fresh + "-1=after"});
}

TEST_CASE("redis broker: a Redis whose numbering went back moves the topic to a new epoch", "[redis][broker]") {
    redis_server server;
    node a{server.port(), "a"};
    REQUIRE(eventually([&] { return a.broker->in_sync(); }));
    for (const char* m : {"1", "2", "3"}) a.publish("t", m);
    const std::string before = epoch_of(server, "t");
    redis_call(server.port(), {"HSET", "herald:{t}:meta", "seq", "1"});  // as a rollback to an older snapshot
    // Published before any check could run: the publish script itself sees the
    // numbering below what this node saw, and moves the topic on.
    const std::string next = a.publish("t", "4");
    CHECK(next.substr(0, next.rfind('-')) != before);
    CHECK(next == epoch_of(server, "t") + "-1");  // no id given twice
}

TEST_CASE("redis broker: while Redis is down a publish is refused after a short retry, never given a local id",
          "[redis][broker]") {
    auto server = std::make_unique<redis_server>();
    const std::string port = server->port();
    node a{port, "a"};
    REQUIRE(eventually([&] { return a.broker->in_sync(); }));
    server.reset();
    REQUIRE(eventually([&] { return !a.link->up(); }));
    const auto start = std::chrono::steady_clock::now();
    const std::string refused = a.publish("t", "lost?");
    CHECK(refused == "error: " + std::error_code(redis::error::not_connected).message());
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(1500));  // retried, then refused
    CHECK_FALSE(a.broker->in_sync());
    std::error_code sync_ec;
    CHECK_FALSE(a.hub->publish("t", "x", sync_ec));  // the answer-at-once form is refused with a broker that waits
    CHECK(sync_ec == hub::error::asynchronous_broker);
}

TEST_CASE("redis broker: a client from another node resumes on a node that had not seen its topic, on a subscription "
          "and on a poll", "[redis][broker]") {
    redis_server server;
    node a{server.port(), "a"};
    REQUIRE(eventually([&] { return a.broker->in_sync(); }));
    const std::string first = a.publish("t", "one");
    a.publish("t", "two");
    a.publish("t", "three");
    const std::string epoch = first.substr(0, first.rfind('-'));
    // Node c starts after all of it: its hub has never seen topic t nor its epoch.
    node c{server.port(), "c"};
    REQUIRE(eventually([&] { return c.broker->in_sync(); }));
    auto moved = std::make_shared<recorder>();
    REQUIRE_FALSE(c.hub->subscribe("t", first, moved));
    const std::vector<std::string> rest{epoch + "-2=two", epoch + "-3=three"};
    CHECK(eventually([&] { return moved->seen() == rest; }));
    // A poll's cursor the same way (a node that has caught up answers it at once).
    node d{server.port(), "d"};
    REQUIRE(eventually([&] { return d.broker->in_sync(); }));
    std::error_code ec;
    const auto before = d.hub->poll("t", first, ec);
    CHECK(before.found.state == hub::topic::outcome::lost);  // what a poll sees before catching up
    std::promise<void> caught;
    d.hub->catch_up("t", [&](hub::history_source::answer) { caught.set_value(); });
    caught.get_future().get();
    const auto after = d.hub->poll("t", first, ec);
    REQUIRE(after.found.state == hub::topic::outcome::resumed);
    REQUIRE(after.found.messages.size() == 2);
    CHECK(after.found.messages[1]->id == epoch + "-3");
}

TEST_CASE("redis broker: a fresh subscriber on a node that had not seen its topic gets what comes next, no lost signal",
          "[redis][broker]") {
    redis_server server;
    node a{server.port(), "a"};
    REQUIRE(eventually([&] { return a.broker->in_sync(); }));
    const std::string first = a.publish("t", "one");
    a.publish("t", "two");
    const std::string epoch = first.substr(0, first.rfind('-'));
    node c{server.port(), "c"};  // after both: its hub has never seen topic t
    REQUIRE(eventually([&] { return c.broker->in_sync(); }));
    auto fresh = std::make_shared<recorder>();
    REQUIRE_FALSE(c.hub->subscribe("t", std::nullopt, fresh));
    // Its ready id is Redis's position, not one of node c's own: a client that
    // moves to another node with it resumes there exactly.
    REQUIRE(eventually([&] { return !fresh->ready_at().empty(); }));
    CHECK(fresh->ready_at() == epoch + "-2");
    a.publish("t", "three");
    c.publish("t", "four");
    const std::vector<std::string> next{epoch + "-3=three", epoch + "-4=four"};
    CHECK(eventually([&] { return fresh->seen() == next; }));
    auto moved = std::make_shared<recorder>();
    REQUIRE_FALSE(a.hub->subscribe("t", fresh->ready_at(), moved));
    CHECK(eventually([&] { return moved->seen() == next; }));
    // A topic Redis has never had: the node's own ready id, then the first message.
    auto first_ever = std::make_shared<recorder>();
    REQUIRE_FALSE(c.hub->subscribe("new", std::nullopt, first_ever));
    REQUIRE(eventually([&] { return !first_ever->ready_at().empty(); }));
    CHECK(first_ever->ready_at() == "c-0");
    const std::string id = a.publish("new", "hello");
    CHECK(eventually([&] { return first_ever->seen() == std::vector<std::string>{id + "=hello"}; }));
    // Published on the same node the moment subscribe() returns, to a topic Redis
    // has never had: the publish may come back before Redis's answer to "where is
    // now" does; it is still delivered.
    for (int i = 0; i < 5; ++i) {
        const std::string topic = "at-once-" + std::to_string(i);
        auto at_once = std::make_shared<recorder>();
        REQUIRE_FALSE(c.hub->subscribe(topic, std::nullopt, at_once));
        const std::string published = c.publish(topic, "now");
        CHECK(eventually([&] { return at_once->seen() == std::vector<std::string>{published + "=now"}; }));
    }
}
