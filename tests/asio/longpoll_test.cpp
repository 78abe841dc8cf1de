// The long-poll service behind http::server on a thread pool, over loopback.
#include "support.hpp"

#include <herald/asio/longpoll.hpp>
#include <herald/asio/server.hpp>

#include <asio/thread_pool.hpp>

#include <catch2/catch.hpp>

#include <future>
#include <mutex>
#include <thread>

using namespace herald;
using testing::http_get;

namespace {

struct fixture {
    explicit fixture(longpoll::service_options options = {})
        : polls(pool.get_executor(), options, "ep"),
          server(pool.get_executor(), [this](const http::request& req, http::responder respond) {
              polls.handle(req, std::move(respond));
          }) {
        REQUIRE_FALSE(server.listen({asio::ip::make_address("127.0.0.1"), 0}));
        server.start();
        ep = server.local_endpoint();
    }
    ~fixture() {
        server.stop();
        pool.join();
    }

    // Waits (bounded) until `n` polls are parked.
    bool parked(std::size_t n) {
        for (int i = 0; i < 2000; ++i) {
            if (polls.waiting() == n) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        return false;
    }

    asio::thread_pool pool{2};
    longpoll::service polls;
    http::server server;
    asio::ip::tcp::endpoint ep;
};

longpoll::answer decode(const http::response& res) {
    REQUIRE(res.status == 200);
    CHECK(res.fields.find("Content-Type") == "application/json");
    longpoll::answer a;
    REQUIRE_FALSE(longpoll::decode_answer(res.body, a));
    return a;
}

}  // namespace

TEST_CASE("longpoll: a poll behind the cursor is answered at once with what it missed", "[asio][longpoll]") {
    fixture f;
    CHECK(f.polls.publish("k", "one") == "ep-1");
    CHECK(f.polls.publish("k", "two") == "ep-2");
    auto a = decode(http_get(f.ep, "/poll?topic=k&since=ep-1"));
    CHECK(a.cursor == "ep-2");
    CHECK_FALSE(a.reset);
    CHECK(a.messages == std::vector<std::string>{"two"});
    a = decode(http_get(f.ep, "/poll?topic=k&since=ep-0&timeout=0"));
    CHECK(a.messages == std::vector<std::string>{"one", "two"});
    a = decode(http_get(f.ep, "/poll?topic=k&since=ep-2&timeout=0"));  // short poll, nothing new
    CHECK(a.cursor == "ep-2");
    CHECK(a.messages.empty());
    a = decode(http_get(f.ep, "/poll?topic=k&timeout=30"));  // no cursor: where now is, at once
    CHECK(a.cursor == "ep-2");
    CHECK(a.messages.empty());
    CHECK(f.polls.cursor("k") == "ep-2");
}

TEST_CASE("longpoll: a parked poll is answered by the next publish", "[asio][longpoll]") {
    fixture f;
    auto answer = std::async(std::launch::async, [&] { return testing::http_get_on_thread(f.ep, "/poll?topic=k&since=ep-0&timeout=30"); });
    REQUIRE(f.parked(1));
    CHECK(f.polls.publish("other", "not for k") == "ep-1");
    CHECK(f.polls.waiting() == 1);
    CHECK(f.polls.publish("k", "line one\nline \"two\"") == "ep-1");
    const auto a = decode(testing::http_parse_whole(answer.get()));
    CHECK(a.cursor == "ep-1");
    CHECK(a.messages == std::vector<std::string>{"line one\nline \"two\""});
    CHECK(f.parked(0));
}

TEST_CASE("longpoll: a timed-out poll gets an empty answer that keeps its cursor", "[asio][longpoll]") {
    fixture f;
    f.polls.publish("k", "x");
    const auto a = decode(http_get(f.ep, "/poll?topic=k&since=ep-1&timeout=1"));
    CHECK(a.cursor == "ep-1");
    CHECK(a.messages.empty());
    CHECK_FALSE(a.reset);
}

TEST_CASE("longpoll: a client that hangs up while parked is unparked", "[asio][longpoll]") {
    fixture f;
    {
        asio::io_context io;
        asio::ip::tcp::socket socket{io};
        socket.connect(f.ep);
        asio::write(socket, asio::buffer(std::string_view{"GET /poll?topic=k&since=ep-0&timeout=60 HTTP/1.1\r\nHost: t\r\n\r\n"}));
        REQUIRE(f.parked(1));
    }  // closed
    CHECK(f.parked(0));
}

TEST_CASE("longpoll: a cursor from another life of the server is answered at once with reset, never with its messages", "[asio][longpoll]") {
    fixture f;
    f.polls.publish("k", "a");
    f.polls.publish("k", "b");
    // Before epochs, a client at 1 from an earlier life silently got "b" here.
    for (const char* since : {"old-1", "old-5", "ep-9"}) {
        INFO(since);
        const auto a = decode(http_get(f.ep, std::string("/poll?topic=k&since=") + since));
        CHECK(a.reset);
        CHECK(a.cursor == "ep-2");
        CHECK(a.messages.empty());
    }
}

TEST_CASE("longpoll: bad parameters get 400 and a full registry 503 with Retry-After", "[asio][longpoll]") {
    longpoll::service_options options;
    options.limits.max_waiters = 1;
    fixture f(options);
    CHECK(http_get(f.ep, "/poll?since=x").status == 400);
    CHECK(http_get(f.ep, "/poll?since=12").status == 400);  // a cursor without its epoch
    CHECK(http_get(f.ep, "/poll?timeout=-1").status == 400);
    CHECK(http_get(f.ep, "/poll?topic=has%20space").status == 400);
    auto first = std::async(std::launch::async, [&] { return testing::http_get_on_thread(f.ep, "/poll?topic=a&since=ep-0&timeout=30"); });
    REQUIRE(f.parked(1));
    const auto full = http_get(f.ep, "/poll?topic=b&since=ep-0&timeout=30");
    CHECK(full.status == 503);
    CHECK(full.fields.find("Retry-After") == "1");
    f.polls.publish("a", "done");
    CHECK(decode(testing::http_parse_whole(first.get())).messages.size() == 1);
}

TEST_CASE("longpoll: many polls on a pool are each answered exactly once", "[asio][longpoll]") {
    fixture f;
    constexpr int clients = 64;
    std::vector<std::future<std::string>> answers;  // raw answers: Catch asserts only on this thread
    for (int i = 0; i < clients; ++i)
        answers.push_back(std::async(std::launch::async, [&] { return testing::http_get_on_thread(f.ep, "/poll?topic=k&since=ep-0&timeout=30"); }));
    REQUIRE(f.parked(clients));
    f.polls.publish("k", "all");
    for (auto& a : answers) CHECK(decode(testing::http_parse_whole(a.get())).messages == std::vector<std::string>{"all"});
    CHECK(f.parked(0));
}

TEST_CASE("longpoll: an answer stays within max_answer_bytes and the cursor says where it stopped", "[asio][longpoll]") {
    longpoll::service_options options;
    options.max_answer_bytes = 1000;
    fixture f(options);
    for (char c : {'a', 'b', 'c'}) f.polls.publish("k", std::string(600, c));
    auto a = decode(http_get(f.ep, "/poll?topic=k&since=ep-0&timeout=0"));
    REQUIRE(a.messages.size() == 1);
    CHECK(a.messages[0] == std::string(600, 'a'));
    CHECK(a.cursor == "ep-1");
    a = decode(http_get(f.ep, "/poll?topic=k&since=ep-1&timeout=0"));
    REQUIRE(a.messages.size() == 1);
    CHECK(a.messages[0] == std::string(600, 'b'));
    CHECK(a.cursor == "ep-2");
    f.polls.publish("k", std::string(5000, 'd'));  // larger than the bound alone: still sent, alone
    a = decode(http_get(f.ep, "/poll?topic=k&since=ep-3"));
    REQUIRE(a.messages.size() == 1);
    CHECK(a.messages[0].size() == 5000);
    CHECK(a.cursor == "ep-4");
}

TEST_CASE("longpoll: the service's topics are hub topics, so other transports follow them too", "[asio][longpoll]") {
    fixture f;
    struct recorder final : hub::subscriber {
        std::string_view transport() const noexcept override { return "test"; }
        std::size_t deliver(const hub::message_ptr& m) override {
            std::lock_guard lock(mutex);
            got.push_back(m->id);
            return 1;
        }
        void lost(std::string_view, std::string_view) override {}
        void ready(std::string_view, std::string_view) override {}
        bool ended() const override { return false; }
        std::mutex mutex;
        std::vector<std::string> got;
    };
    auto r = std::make_shared<recorder>();
    REQUIRE_FALSE(f.polls.hub().subscribe("k", "ep-0", r));
    f.polls.publish("k", "for everyone");
    std::lock_guard lock(r->mutex);
    CHECK(r->got == std::vector<std::string>{"ep-1"});
}
