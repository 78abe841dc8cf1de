#include <herald/longpoll/registry.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <set>

using namespace herald;
using longpoll::registry;
using namespace std::chrono_literals;

namespace {
const registry::time_point registry_t0{};
}

TEST_CASE("a wait returns at once when the cursor is behind or ahead and parks when current", "[longpoll]") {
    registry r;
    std::vector<registry::woken> woken;
    r.publish("news", woken);
    r.publish("news", woken);
    CHECK(woken.empty());
    CHECK(r.cursor("news") == 2);
    std::error_code ec;
    auto behind = r.wait("news", 1, registry_t0 + 30s, ec);
    CHECK(!ec);
    CHECK(!behind.parked);
    CHECK(!behind.reset);
    CHECK(behind.cursor == 2);
    auto ahead = r.wait("news", 7, registry_t0 + 30s, ec);
    CHECK(!ahead.parked);
    CHECK(ahead.reset);
    CHECK(ahead.cursor == 2);
    auto current = r.wait("news", 2, registry_t0 + 30s, ec);
    CHECK(current.parked);
    CHECK(r.waiting() == 1);
    CHECK(r.waiting("news") == 1);
    CHECK(r.parked(current.ticket));
}

TEST_CASE("publish wakes every waiter of its key and only those", "[longpoll]") {
    registry r;
    std::error_code ec;
    std::vector<longpoll::ticket> a, b;
    for (int i = 0; i < 5; ++i) a.push_back(r.wait("a", 0, registry_t0 + 10s, ec).ticket);
    for (int i = 0; i < 3; ++i) b.push_back(r.wait("b", 0, registry_t0 + 10s, ec).ticket);
    std::vector<registry::woken> woken;
    CHECK(r.publish("a", woken) == 1);
    REQUIRE(woken.size() == 5);
    for (auto& w : woken) {
        CHECK(w.cursor == 1);
        CHECK(std::find(a.begin(), a.end(), w.ticket) != a.end());
        CHECK(!r.parked(w.ticket));
    }
    CHECK(r.waiting() == 3);
    CHECK(r.waiting("a") == 0);
    for (auto t : b) CHECK(r.parked(t));
    woken.clear();
    r.publish("a", woken);
    CHECK(woken.empty());  // nobody waits on "a" any more: each waiter is woken once
}

TEST_CASE("expire takes out waiters in deadline order up to now", "[longpoll]") {
    registry r;
    std::error_code ec;
    auto late = r.wait("k", 0, registry_t0 + 30s, ec).ticket;
    auto early = r.wait("k", 0, registry_t0 + 10s, ec).ticket;
    auto middle = r.wait("j", 0, registry_t0 + 20s, ec).ticket;
    CHECK(r.next_deadline() == registry_t0 + 10s);
    std::vector<longpoll::ticket> expired;
    r.expire(registry_t0 + 9s, expired);
    CHECK(expired.empty());
    r.expire(registry_t0 + 20s, expired);
    REQUIRE(expired.size() == 2);
    CHECK(expired[0] == early);
    CHECK(expired[1] == middle);
    CHECK(r.parked(late));
    CHECK(r.next_deadline() == registry_t0 + 30s);
    CHECK(r.key_count() == 1);  // "j" was never published to: dropped with its last waiter
    r.expire(registry_t0 + 1h, expired);
    CHECK(r.next_deadline() == registry::time_point::max());
    CHECK(r.key_count() == 0);
}

TEST_CASE("cancel takes out one waiter and refuses a stale ticket", "[longpoll]") {
    registry r;
    std::error_code ec;
    auto t1 = r.wait("k", 0, registry_t0 + 10s, ec).ticket;
    auto t2 = r.wait("k", 0, registry_t0 + 10s, ec).ticket;
    auto t3 = r.wait("k", 0, registry_t0 + 10s, ec).ticket;
    CHECK(r.cancel(t2));  // from the middle of the key's list
    CHECK(!r.cancel(t2));
    CHECK(r.waiting("k") == 2);
    auto reused = r.wait("k", 0, registry_t0 + 10s, ec).ticket;  // takes t2's slot
    CHECK(reused.index == t2.index);
    CHECK(!r.parked(t2));  // the old ticket does not name the new occupant
    CHECK(!r.cancel(t2));
    CHECK(r.parked(reused));
    std::vector<registry::woken> woken;
    r.publish("k", woken);
    CHECK(woken.size() == 3);
    CHECK(!r.cancel(t1));
    CHECK(!r.cancel(t3));
    std::vector<longpoll::ticket> expired;
    r.expire(registry_t0 + 1h, expired);
    CHECK(expired.empty());  // nothing left in the deadline index
}

TEST_CASE("limits on waiters in total and per key answer a clear error", "[longpoll]") {
    longpoll::limits limits;
    limits.max_waiters = 4;
    limits.max_waiters_per_key = 3;
    limits.max_key = 8;
    registry r(limits);
    std::error_code ec;
    for (int i = 0; i < 3; ++i) CHECK(r.wait("a", 0, registry_t0 + 1s, ec).parked);
    r.wait("a", 0, registry_t0 + 1s, ec);
    CHECK(ec == longpoll::error::too_many_waiters_for_key);
    CHECK(ec == condition::limit_exceeded);
    CHECK(r.wait("b", 0, registry_t0 + 1s, ec).parked);
    r.wait("c", 0, registry_t0 + 1s, ec);
    CHECK(ec == longpoll::error::too_many_waiters);
    CHECK(r.key_count() == 2);  // the refused poll on "c" left no key behind
    r.wait("123456789", 0, registry_t0 + 1s, ec);
    CHECK(ec == longpoll::error::key_too_long);
    CHECK(r.waiting() == 4);
}

TEST_CASE("a random mix of waits publishes cancels and expiries keeps the registry consistent", "[longpoll]") {
    registry r;
    std::mt19937 rng(7);
    std::map<std::pair<std::uint32_t, std::uint32_t>, registry::time_point> live;  // ticket -> deadline
    std::vector<longpoll::ticket> tickets;
    const char* keys[] = {"a", "b", "c"};
    auto now = registry_t0;
    std::error_code ec;
    for (int step = 0; step < 20000; ++step) {
        const int what = static_cast<int>(rng() % 10);
        const char* key = keys[rng() % 3];
        if (what < 5) {
            const auto deadline = now + std::chrono::seconds(rng() % 50);
            auto w = r.wait(key, r.cursor(key), deadline, ec);
            REQUIRE(w.parked);
            CHECK(live.emplace(std::pair{w.ticket.index, w.ticket.generation}, deadline).second);
            tickets.push_back(w.ticket);
        } else if (what < 7) {
            std::vector<registry::woken> woken;
            r.publish(key, woken);
            for (auto& w : woken) CHECK(live.erase({w.ticket.index, w.ticket.generation}) == 1);
        } else if (what < 9 && !tickets.empty()) {
            auto t = tickets[rng() % tickets.size()];
            CHECK(r.cancel(t) == (live.erase({t.index, t.generation}) == 1));
        } else {
            now += std::chrono::seconds(rng() % 5);
            std::vector<longpoll::ticket> expired;
            r.expire(now, expired);
            auto previous = registry::time_point::min();
            for (auto& t : expired) {  // all due, earliest first
                const auto found = live.find({t.index, t.generation});
                REQUIRE(found != live.end());
                CHECK(found->second <= now);
                CHECK(found->second >= previous);
                previous = found->second;
                live.erase(found);
            }
            for (const auto& [t, deadline] : live) CHECK(deadline > now);  // none due left behind
        }
        REQUIRE(r.waiting() == live.size());
        auto earliest = registry::time_point::max();
        for (const auto& [t, deadline] : live) earliest = std::min(earliest, deadline);
        REQUIRE(r.next_deadline() == earliest);
    }
}
