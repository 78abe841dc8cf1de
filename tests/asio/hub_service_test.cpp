// The hub service under threads: deliveries outside its locks, in order, once each;
// ids from outside; a history source that answers later, spliced with live messages.
#include <herald/asio/hub.hpp>

#include <asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace herald;

namespace {

// Records what it is given as "<id>", "lost <id>" or "ready <id>". The hub calls it
// from one thread at a time; the lock is for the test's thread reading it meanwhile.
struct recording_subscriber : hub::subscriber {
    std::string_view transport() const noexcept override { return "test"; }
    std::size_t deliver(const hub::message_ptr& m) override {
        add(m->id);
        return m->json.size();
    }
    void lost(std::string_view, std::string_view id) override { add("lost " + std::string(id)); }
    void ready(std::string_view, std::string_view id) override { add("ready " + std::string(id)); }
    bool unavailable(std::string_view, std::string_view id) override {
        add("unavailable " + std::string(id));
        return true;
    }
    bool ended() const override { return false; }
    std::vector<std::string> got() const {
        std::lock_guard lock(mutex);
        return seen;
    }
    void add(std::string text) {
        std::lock_guard lock(mutex);
        seen.push_back(std::move(text));
    }
    mutable std::mutex mutex;
    std::vector<std::string> seen;
};

// Waits up to 5 s for `s` to have been given `n` things.
std::vector<std::string> await(const recording_subscriber& s, std::size_t n) {
    for (int i = 0; i < 1000 && s.got().size() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return s.got();
}

// The ids "<epoch>-<from>" .. "<epoch>-<to>".
std::vector<std::string> run(const std::string& epoch, std::uint64_t from, std::uint64_t to) {
    std::vector<std::string> out;
    for (std::uint64_t i = from; i <= to; ++i) out.push_back(epoch + "-" + std::to_string(i));
    return out;
}

// A history source that keeps everything and answers on a thread of its own, after
// a random delay, or at once inside fetch() now and then.
class slow_source : public hub::history_source {
public:
    slow_source() : thread_([this] { serve(); }) {}
    ~slow_source() override { stop(); }
    // Answers nothing more: before the hub it answers to goes away.
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        wake_.notify_one();
        if (thread_.joinable()) thread_.join();
    }
    void keep(std::uint64_t seq, std::string data) {
        std::lock_guard lock(mutex_);
        if (kept_.size() < seq) kept_.resize(seq);
        kept_[seq - 1] = std::move(data);
    }
    void fetch(std::string_view, std::string_view, hub::seq_range range, std::function<void(std::vector<entry>, answer)> done) override {
        ++fetches;
        std::unique_lock lock(mutex_);
        if (random_() % 4 == 0) {
            auto got = entries(range);
            lock.unlock();
            return done(std::move(got), answer::answered);
        }
        asked_.push_back({range, std::move(done)});
        lock.unlock();
        wake_.notify_one();
    }
    std::atomic<int> fetches{0};

    // Stops `source` when it goes out of scope: declared after the hub, before it goes.
    struct stop_first {
        slow_source& source;
        ~stop_first() { source.stop(); }
    };

private:
    std::vector<entry> entries(hub::seq_range range) const {
        std::vector<entry> out;
        for (auto i = range.first; i <= range.last && i <= kept_.size(); ++i) out.push_back({i, kept_[i - 1]});
        return out;
    }
    void serve() {
        std::unique_lock lock(mutex_);
        for (;;) {
            wake_.wait(lock, [&] { return stop_ || !asked_.empty(); });
            if (stop_) return;
            auto [range, done] = std::move(asked_.front());
            asked_.pop_front();
            const auto delay = std::chrono::microseconds(random_() % 2000);
            auto got = entries(range);
            lock.unlock();
            std::this_thread::sleep_for(delay);
            done(std::move(got), answer::answered);
            lock.lock();
        }
    }
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::pair<hub::seq_range, std::function<void(std::vector<entry>, answer)>>> asked_;
    std::vector<std::string> kept_;
    std::mt19937 random_{11};
    bool stop_ = false;
    std::thread thread_;
};

// A history source that keeps its requests until the test answers them.
struct manual_source : hub::history_source {
    void fetch(std::string_view, std::string_view epoch, hub::seq_range range, std::function<void(std::vector<entry>, answer)> done) override {
        asked.push_back({std::string(epoch), range, std::move(done)});
    }
    void catch_up(std::string_view, std::function<void(answer)> done) override { catch_ups.push_back(std::move(done)); }
    struct request {
        std::string epoch;
        hub::seq_range range;
        std::function<void(std::vector<entry>, answer)> done;
    };
    std::vector<request> asked;
    std::vector<std::function<void(answer)>> catch_ups;
};

}  // namespace

TEST_CASE("hub service: a subscriber may publish and unsubscribe from inside its delivery", "[asio][hub][service]") {
    hub::service hub{"e"};
    struct echo : recording_subscriber {
        hub::service* hub = nullptr;
        std::size_t deliver(const hub::message_ptr& m) override {
            add(m->id);
            std::error_code ec;
            if (m->data == "ping") hub->publish("t", "pong", ec);  // same topic: queued behind, no deadlock
            if (m->data == "bye") hub->unsubscribe(this);
            return 1;
        }
    };
    auto s = std::make_shared<echo>();
    s->hub = &hub;
    auto other = std::make_shared<recording_subscriber>();
    REQUIRE_FALSE(hub.subscribe("t", std::nullopt, s));
    REQUIRE_FALSE(hub.subscribe("t", std::nullopt, other));
    std::error_code ec;
    hub.publish("t", "ping", ec);
    hub.publish("t", "bye", ec);
    hub.publish("t", "after", ec);
    CHECK(s->got() == std::vector<std::string>{"ready e-0", "e-1", "e-2", "e-3"});
    CHECK(other->got() == std::vector<std::string>{"ready e-0", "e-1", "e-2", "e-3", "e-4"});
    CHECK(hub.stats().subscribers["test"] == 1);
}

TEST_CASE("hub service: 4 threads publishing to 1,000 subscribers on 4 topics: each message once, in order", "[asio][hub][service]") {
    hub::service hub{"e"};
    constexpr int topics = 4, per_topic = 250, publishers = 4, each = 200;
    std::vector<std::shared_ptr<recording_subscriber>> subs;
    for (int i = 0; i < topics * per_topic; ++i) {
        subs.push_back(std::make_shared<recording_subscriber>());
        REQUIRE_FALSE(hub.subscribe("t" + std::to_string(i % topics), "e-0", subs.back()));
    }
    std::vector<std::thread> threads;
    std::atomic<int> refused{0};
    for (int p = 0; p < publishers; ++p)
        threads.emplace_back([&, p] {
            for (int i = 0; i < each; ++i) {
                std::error_code ec;
                if (!hub.publish("t" + std::to_string((p + i) % topics), std::to_string(p), ec)) ++refused;
            }
        });
    for (auto& t : threads) t.join();
    CHECK(refused == 0);
    const auto want = run("e", 1, publishers * each / topics);
    for (std::size_t i = 0; i < subs.size(); ++i) {
        INFO("subscriber " << i);
        REQUIRE(subs[i]->got() == want);
    }
    CHECK(hub.stats().messages_out == std::uint64_t(publishers * each * per_topic));
}

TEST_CASE("hub service: ids assigned outside: a duplicate is dropped, a gap fetched, an epoch change is lost", "[asio][hub][service]") {
    slow_source source;
    hub::service hub{"local", {}, &source};
    const slow_source::stop_first stopping{source};
    auto s = std::make_shared<recording_subscriber>();
    REQUIRE_FALSE(hub.subscribe("t", std::nullopt, s));
    std::error_code ec;
    for (std::uint64_t i = 1; i <= 5; ++i) source.keep(i, "m" + std::to_string(i));
    hub.apply("t", "r", 1, "m1", ec);
    hub.apply("t", "r", 1, "m1", ec);  // twice: dropped
    hub.apply("t", "r", 5, "m5", ec);  // 2..4 fetched from the source
    CHECK(await(*s, 6) == std::vector<std::string>{"ready local-0", "r-1", "r-2", "r-3", "r-4", "r-5"});
    hub.apply("t", "r2", 1, "new life", ec);
    const auto got = await(*s, 8);
    REQUIRE(got.size() == 8);
    CHECK(got[6] == "lost r2-0");
    CHECK(got[7] == "r2-1");

    hub::service alone{"local"};  // no source: a gap is given up at once, and said so
    auto a = std::make_shared<recording_subscriber>();
    REQUIRE_FALSE(alone.subscribe("t", std::nullopt, a));
    alone.apply("t", "r", 1, "m1", ec);
    alone.apply("t", "r", 4, "m4", ec);
    CHECK(a->got() == std::vector<std::string>{"ready local-0", "r-1", "lost r-3", "r-4"});
}

TEST_CASE("hub service: a source that answers later is spliced with live messages: every id once, in order", "[asio][hub][service]") {
    slow_source source;
    hub::hub_limits limits;
    limits.topic.max_messages = 16;  // most resumes are older than what the hub keeps
    hub::service hub{"e", limits, &source};
    const slow_source::stop_first stopping{source};
    constexpr std::uint64_t total = 3000;
    std::mutex numbering;
    std::uint64_t next = 0;
    // Two publishers number through a stand-in broker and apply out of order now and then.
    const auto publisher = [&] {
        for (;;) {
            std::uint64_t seq;
            {
                std::lock_guard lock(numbering);
                if (next == total) return;
                seq = ++next;
                source.keep(seq, "m" + std::to_string(seq));
            }
            std::error_code ec;
            hub.apply("t", "e", seq, "m" + std::to_string(seq), ec);
        }
    };
    std::vector<std::pair<std::uint64_t, std::shared_ptr<recording_subscriber>>> subs;
    std::thread a(publisher), b(publisher);
    std::mt19937 random(3);
    for (int i = 0; i < 60; ++i) {
        std::error_code ec;
        const std::string id = hub.poll("t", std::nullopt, ec).newest;  // what the hub has applied
        const auto newest = split_position(id);
        const std::uint64_t at = newest && newest->epoch == "e" ? newest->seq : 0;
        const std::uint64_t cursor = at == 0 ? 0 : random() % (at + 1);
        subs.emplace_back(cursor, std::make_shared<recording_subscriber>());
        REQUIRE_FALSE(hub.subscribe("t", "e-" + std::to_string(cursor), subs.back().second));
        std::this_thread::sleep_for(std::chrono::microseconds(random() % 500));
    }
    a.join();
    b.join();
    CHECK(source.fetches > 0);
    for (auto& [cursor, s] : subs) {
        INFO("from e-" << cursor);
        REQUIRE(await(*s, total - cursor) == run("e", cursor + 1, total));
    }
}

TEST_CASE("hub service: a subscriber the hub lets go of is destroyed on its own executor", "[asio][hub][service]") {
    asio::io_context io;
    struct owned : recording_subscriber {
        asio::any_io_executor ex;
        std::thread::id* died_on = nullptr;
        ~owned() override { *died_on = std::this_thread::get_id(); }
        asio::any_io_executor executor() const override { return ex; }
    };
    std::thread::id died_on;
    hub::service hub{"e"};
    {
        auto s = std::make_shared<owned>();
        s->ex = io.get_executor();
        s->died_on = &died_on;
        REQUIRE_FALSE(hub.subscribe("t", std::nullopt, s));
        std::thread([&hub, raw = s.get()] { hub.unsubscribe(raw); }).join();
    }
    CHECK(died_on == std::thread::id());  // not on the unsubscribing thread
    std::thread runner([&] { io.run(); });
    const auto runner_id = runner.get_id();
    runner.join();
    CHECK(died_on == runner_id);
}

TEST_CASE("hub service: a gap answered after an epoch change does not turn the topic back", "[asio][hub][service]") {
    manual_source source;
    hub::service hub{"local", {}, &source};
    auto s = std::make_shared<recording_subscriber>();
    REQUIRE_FALSE(hub.subscribe("t", std::nullopt, s));
    std::error_code ec;
    hub.apply("t", "r", 1, "m1", ec);
    hub.apply("t", "r", 3, "m3", ec);  // 2 is asked for
    REQUIRE(source.asked.size() == 1);
    CHECK(source.asked[0].range == hub::seq_range{2, 2});
    hub.apply("t", "r2", 1, "new life", ec);  // Redis lost the topic meanwhile
    source.asked[0].done({{2, "m2"}}, hub::history_source::answer::answered);  // the old answer comes in late
    CHECK(s->got() == std::vector<std::string>{"ready local-0", "r-1", "lost r2-0", "r2-1"});
    CHECK(hub.poll("t", std::nullopt, ec).newest == "r2-1");
}

TEST_CASE("hub service: a cursor further behind than max_held is lost, not fetched", "[asio][hub][service]") {
    manual_source source;
    hub::hub_limits limits;
    limits.topic.max_messages = 4;
    limits.topic.max_held = 10;
    hub::service hub{"e", limits, &source};
    std::error_code ec;
    for (int i = 0; i < 30; ++i) hub.publish("t", "m", ec);  // keeps 27..30
    auto near = std::make_shared<recording_subscriber>(), far = std::make_shared<recording_subscriber>();
    REQUIRE_FALSE(hub.subscribe("t", "e-20", near));  // 21..26 fetched: within max_held
    REQUIRE_FALSE(hub.subscribe("t", "e-2", far));    // 3..26: more than max_held
    REQUIRE(source.asked.size() == 1);
    CHECK(source.asked[0].range == hub::seq_range{21, 26});
    CHECK(far->got() == std::vector<std::string>{"lost e-30"});
    std::vector<hub::history_source::entry> missed;
    for (std::uint64_t i = 21; i <= 26; ++i) missed.push_back({i, "m"});
    source.asked[0].done(std::move(missed), hub::history_source::answer::answered);
    CHECK(near->got() == run("e", 21, 30));
}

TEST_CASE("hub service: a subscriber unsubscribed while its attach waits behind a running drain gets nothing", "[asio][hub][service]") {
    hub::service hub{"e"};
    // A subscriber whose first delivery waits, holding the topic's drain on another thread.
    struct blocker : recording_subscriber {
        std::promise<void> entered;
        std::shared_future<void> go;
        bool first = true;
        std::size_t deliver(const hub::message_ptr& m) override {
            if (std::exchange(first, false)) {
                entered.set_value();
                go.wait();
            }
            return recording_subscriber::deliver(m);
        }
    };
    auto b = std::make_shared<blocker>();
    std::promise<void> release;
    b->go = release.get_future().share();
    REQUIRE_FALSE(hub.subscribe("t", "e-0", b));
    std::thread publisher([&] {
        std::error_code ec;
        hub.publish("t", "one", ec);  // drains, and waits inside b
    });
    b->entered.get_future().wait();
    auto s = std::make_shared<recording_subscriber>();
    REQUIRE_FALSE(hub.subscribe("t", "e-1", s));  // its attach queues behind the drain
    hub.unsubscribe(s.get());                      // and so does this, after it
    release.set_value();
    publisher.join();
    std::error_code ec;
    hub.publish("t", "two", ec);
    CHECK(s->got().empty());  // not attached: no replay, nothing live
    CHECK(b->got() == std::vector<std::string>{"e-1", "e-2"});
    CHECK(hub.stats().subscribers["test"] == 1);
    CHECK(s.use_count() == 1);  // the hub let go of it
}

TEST_CASE("in-process broker: a topic followed on a hub keeps its ids however many new names come", "[asio][hub][service]") {
    hub::hub_limits limits;
    limits.max_topics = 2;
    hub::in_process_broker broker{"node-1", limits};  // an epoch with dashes; first: it outlives its hubs
    hub::service a{"a", limits}, b{"b", limits};
    broker.join(a);
    broker.join(b);
    auto s = std::make_shared<recording_subscriber>();
    REQUIRE_FALSE(b.subscribe("kept", std::nullopt, s));
    std::error_code ec;
    REQUIRE(a.publish("kept", "1", ec));
    for (int i = 0; i < 5; ++i) REQUIRE(a.publish("new" + std::to_string(i), "x", ec));
    const auto m = a.publish("kept", "2", ec);
    REQUIRE(m);
    CHECK(m->id == "node-1-2");  // not reclaimed: same epoch, next number
    CHECK(s->got() == std::vector<std::string>{"ready b-0", "node-1-1", "node-1-2"});
}

TEST_CASE("hub service: a publish retried with its idempotency key is answered with the first id, alone or on a broker",
          "[asio][hub][service]") {
    hub::in_process_broker broker{"br"};
    hub::service alone{"a"}, joined{"j"};
    broker.join(joined);
    for (hub::service* hub : {&alone, &joined}) {
        auto s = std::make_shared<recording_subscriber>();
        REQUIRE_FALSE(hub->subscribe("t", std::nullopt, s));
        std::vector<std::string> ids;
        const auto publish = [&](std::string_view data, std::string_view key) {
            hub->publish("t", data, key, [&](std::error_code ec, hub::message_ptr m) {
                REQUIRE_FALSE(ec);
                ids.push_back(m->id);
            });
        };
        publish("one", "k1");
        publish("one", "k1");  // the retry
        publish("two", "k2");
        publish("three", {});
        publish("three", {});  // no key: stored again
        std::error_code reused;
        hub->publish("t", "not one", "k1", [&](std::error_code ec, hub::message_ptr m) {
            reused = ec;
            CHECK_FALSE(m);
        });
        CHECK(reused == hub::error::idempotency_key_reused);  // the key again, with another body
        const std::string epoch = hub == &alone ? "a" : "br";
        CHECK(ids == std::vector<std::string>{epoch + "-1", epoch + "-1", epoch + "-2", epoch + "-3", epoch + "-4"});
        const std::string ready = std::string("ready ") + (hub == &alone ? "a-0" : "j-0");
        CHECK(s->got() == std::vector<std::string>{ready, epoch + "-1", epoch + "-2", epoch + "-3", epoch + "-4"});
    }
}

TEST_CASE("hub service: a source away for now is no lost signal: the subscriber is told to come back, a gap waits",
          "[asio][hub][service]") {
    using answer = hub::history_source::answer;
    manual_source source;
    hub::hub_limits limits;
    limits.topic.max_messages = 4;
    hub::service hub{"e", limits, &source};
    // A cursor the hub cannot place, and the source cannot be asked now.
    auto moved = std::make_shared<recording_subscriber>();
    REQUIRE_FALSE(hub.subscribe("t", "far-7", moved));
    REQUIRE(source.catch_ups.size() == 1);
    source.catch_ups[0](answer::not_now);
    CHECK(moved->got() == std::vector<std::string>{"unavailable e-0"});
    CHECK(hub.stats().subscribers["test"] == 0);  // let go of
    // A cursor behind what is kept, whose range the source cannot give now.
    std::error_code ec;
    for (int i = 0; i < 10; ++i) hub.publish("t", "m", ec);  // keeps 7..10
    auto behind = std::make_shared<recording_subscriber>();
    REQUIRE_FALSE(hub.subscribe("t", "e-2", behind));
    REQUIRE(source.asked.size() == 1);
    CHECK(source.asked[0].range == hub::seq_range{3, 6});
    source.asked[0].done({{3, "m"}}, answer::not_now);  // one chunk, then Redis went away
    CHECK(behind->got() == std::vector<std::string>{"e-3", "unavailable e-6"});
    hub.publish("t", "m", ec);
    CHECK(behind->got().size() == 2);  // nothing after being let go
    // A gap in what a broker numbered stays open while the source is away.
    auto live = std::make_shared<recording_subscriber>();
    REQUIRE_FALSE(hub.subscribe("g", std::nullopt, live));
    hub.apply("g", "r", 1, "m1", ec);
    hub.apply("g", "r", 3, "m3", ec);
    REQUIRE(source.asked.size() == 2);
    source.asked[1].done({}, answer::not_now);
    CHECK(live->got() == std::vector<std::string>{"ready e-0", "r-1"});  // no lost signal
    hub.apply("g", "r", 3, "m3", ec);  // the repair's latest message, again: the gap is asked for again
    REQUIRE(source.asked.size() == 3);
    CHECK(source.asked[2].range == hub::seq_range{2, 2});
    source.asked[2].done({{2, "m2"}}, answer::answered);
    CHECK(live->got() == std::vector<std::string>{"ready e-0", "r-1", "r-2", "r-3"});
}

TEST_CASE("hub service: a subscriber that cannot come back later is told lost as before, and stays", "[asio][hub][service]") {
    using answer = hub::history_source::answer;
    struct stays final : recording_subscriber {
        bool unavailable(std::string_view, std::string_view id) override {
            add("asked to come back at " + std::string(id));
            return false;  // a transport with no way to: the lost signal, as before
        }
    };
    manual_source source;
    hub::service hub{"e", {}, &source};
    auto s = std::make_shared<stays>();
    REQUIRE_FALSE(hub.subscribe("t", "far-7", s));
    REQUIRE(source.catch_ups.size() == 1);
    source.catch_ups[0](answer::not_now);
    std::error_code ec;
    hub.publish("t", "m", ec);
    CHECK(s->got() == std::vector<std::string>{"asked to come back at e-0", "lost e-0", "e-1"});
    // Unsubscribed while its catch-up waits: the late answer does nothing.
    auto gone = std::make_shared<recording_subscriber>();
    REQUIRE_FALSE(hub.subscribe("t", "far-9", gone));
    hub.unsubscribe(gone.get());
    REQUIRE(source.catch_ups.size() == 2);
    source.catch_ups[1](answer::not_now);
    CHECK(gone->got().empty());
}
