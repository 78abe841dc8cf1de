// The long-poll service behind http::server on a thread pool, over loopback.
#include "support.hpp"

#include <herald/asio/longpoll.hpp>
#include <herald/asio/server.hpp>

#include <asio/thread_pool.hpp>

#include <catch2/catch.hpp>

#include <future>
#include <thread>

using namespace herald;
using testing::http_get;

namespace {

struct fixture {
    explicit fixture(longpoll::service_options options = {})
        : polls(pool.get_executor(), options),
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
    f.polls.publish("k", "one");
    f.polls.publish("k", "two");
    auto a = decode(http_get(f.ep, "/poll?key=k&since=1"));
    CHECK(a.cursor == 2);
    CHECK_FALSE(a.reset);
    CHECK(a.messages == std::vector<std::string>{"two"});
    a = decode(http_get(f.ep, "/poll?key=k&since=0&timeout=0"));
    CHECK(a.messages == std::vector<std::string>{"one", "two"});
    a = decode(http_get(f.ep, "/poll?key=k&since=2&timeout=0"));  // short poll, nothing new
    CHECK(a.cursor == 2);
    CHECK(a.messages.empty());
}

TEST_CASE("longpoll: a parked poll is answered by the next publish", "[asio][longpoll]") {
    fixture f;
    auto answer = std::async(std::launch::async, [&] { return testing::http_get_on_thread(f.ep, "/poll?key=k&since=0&timeout=30"); });
    REQUIRE(f.parked(1));
    CHECK(f.polls.publish("other", "not for k") == 1);
    CHECK(f.polls.waiting() == 1);
    CHECK(f.polls.publish("k", "line one\nline \"two\"") == 1);
    const auto a = decode(testing::http_parse_whole(answer.get()));
    CHECK(a.cursor == 1);
    CHECK(a.messages == std::vector<std::string>{"line one\nline \"two\""});
    CHECK(f.polls.waiting() == 0);
}

TEST_CASE("longpoll: a timed-out poll gets an empty answer that keeps its cursor", "[asio][longpoll]") {
    fixture f;
    f.polls.publish("k", "x");
    const auto a = decode(http_get(f.ep, "/poll?key=k&since=1&timeout=1"));
    CHECK(a.cursor == 1);
    CHECK(a.messages.empty());
    CHECK_FALSE(a.reset);
}

TEST_CASE("longpoll: a client that hangs up while parked is unparked", "[asio][longpoll]") {
    fixture f;
    {
        asio::io_context io;
        asio::ip::tcp::socket socket{io};
        socket.connect(f.ep);
        asio::write(socket, asio::buffer(std::string_view{"GET /poll?key=k&timeout=60 HTTP/1.1\r\nHost: t\r\n\r\n"}));
        REQUIRE(f.parked(1));
    }  // closed
    CHECK(f.parked(0));
}

TEST_CASE("longpoll: a cursor from another life of the server is answered at once with reset", "[asio][longpoll]") {
    fixture f;
    f.polls.publish("k", "a");
    const auto a = decode(http_get(f.ep, "/poll?key=k&since=99"));
    CHECK(a.reset);
    CHECK(a.cursor == 1);
    CHECK(a.messages == std::vector<std::string>{"a"});
}

TEST_CASE("longpoll: bad parameters get 400 and a full registry 503 with Retry-After", "[asio][longpoll]") {
    longpoll::service_options options;
    options.limits.max_waiters = 1;
    options.limits.max_key = 4;
    fixture f(options);
    CHECK(http_get(f.ep, "/poll?since=x").status == 400);
    CHECK(http_get(f.ep, "/poll?timeout=-1").status == 400);
    CHECK(http_get(f.ep, "/poll?key=toolong").status == 400);
    auto first = std::async(std::launch::async, [&] { return testing::http_get_on_thread(f.ep, "/poll?key=a&timeout=30"); });
    REQUIRE(f.parked(1));
    const auto full = http_get(f.ep, "/poll?key=b&timeout=30");
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
        answers.push_back(std::async(std::launch::async, [&] { return testing::http_get_on_thread(f.ep, "/poll?key=k&timeout=30"); }));
    REQUIRE(f.parked(clients));
    f.polls.publish("k", "all");
    for (auto& a : answers) CHECK(decode(testing::http_parse_whole(a.get())).messages == std::vector<std::string>{"all"});
    CHECK(f.polls.waiting() == 0);
}

TEST_CASE("longpoll: an answer stays within max_answer_bytes and the cursor says where it stopped", "[asio][longpoll]") {
    longpoll::service_options options;
    options.max_answer_bytes = 1000;
    fixture f(options);
    for (char c : {'a', 'b', 'c'}) f.polls.publish("k", std::string(600, c));
    auto a = decode(http_get(f.ep, "/poll?key=k&since=0&timeout=0"));
    REQUIRE(a.messages.size() == 1);
    CHECK(a.messages[0] == std::string(600, 'a'));
    CHECK(a.cursor == 1);
    a = decode(http_get(f.ep, "/poll?key=k&since=1&timeout=0"));
    REQUIRE(a.messages.size() == 1);
    CHECK(a.messages[0] == std::string(600, 'b'));
    CHECK(a.cursor == 2);
    f.polls.publish("k", std::string(5000, 'd'));  // larger than the bound alone: still sent, alone
    a = decode(http_get(f.ep, "/poll?key=k&since=3"));
    REQUIRE(a.messages.size() == 1);
    CHECK(a.messages[0].size() == 5000);
    CHECK(a.cursor == 4);
}
