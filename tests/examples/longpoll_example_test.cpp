// Drives examples/longpoll_server over loopback: 10,000 parked polls woken by one
// publish, none lost and none answered twice; and herald's long-poll client.
#include "../asio/support.hpp"
#include "../support/process.hpp"

#include <herald/asio/longpoll_client.hpp>
#include <herald/longpoll/answer.hpp>

#include <asio/write.hpp>

#include <sys/resource.h>

#include <catch2/catch.hpp>

#include <memory>
#include <optional>

using namespace herald;
using test_support::child_server;

namespace {

std::size_t waiting(const child_server& server) {
    const auto body = testing::http_get(server.endpoint(), "/stats").body;  // {"waiting":N}
    return std::stoul(body.substr(body.find(':') + 1));
}

// As many descriptors as the hard limit allows, for thousands of sockets.
std::size_t descriptor_budget() {
    rlimit limit{};
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    return limit.rlim_cur == RLIM_INFINITY ? 1'000'000 : static_cast<std::size_t>(limit.rlim_cur);
}

// One parked poll: its socket, what came back, and anything that came after.
struct poll_connection {
    explicit poll_connection(asio::io_context& io) : socket(io) {}
    asio::ip::tcp::socket socket;
    http::response_parser parser;
    http::response response;
    std::array<char, 1024> chunk{};
    bool answered = false;
    std::size_t extra_bytes = 0;  // bytes after the one answer: a second answer

    void read() {
        socket.async_read_some(asio::buffer(chunk), [this](std::error_code ec, std::size_t n) {
            if (ec) return;
            if (answered) {
                extra_bytes += n;
                return read();
            }
            std::string_view view{chunk.data(), n};
            for (http::event ev = parser.next(view); ev.type != http::event_type::need_more; ev = parser.next(view)) {
                if (ev.type == http::event_type::head) parser.head_into(response);
                if (ev.type == http::event_type::body) response.body.append(ev.data);
                if (ev.type == http::event_type::end_of_message) answered = true;
                if (ev.type == http::event_type::error || answered) break;
            }
            if (answered) extra_bytes += view.size();
            read();
        });
    }
};

}  // namespace

TEST_CASE("longpoll_server: 10000 parked polls are all woken by one publish and each answered once", "[examples][longpoll]") {
    const std::size_t budget = descriptor_budget();
    std::size_t count = 10'000;
    if (budget < count + 100) {
        count = budget - 100;
        WARN("descriptor limit " << budget << ": parking " << count << " polls instead of 10000");
    }
    child_server server{HERALD_LONGPOLL_SERVER, {"--threads", "2", "--epoch", "ep"}};
    asio::io_context io;
    std::vector<std::unique_ptr<poll_connection>> polls;
    const std::string request = "GET /poll?since=ep-0&timeout=120 HTTP/1.1\r\nHost: t\r\n\r\n";
    for (std::size_t i = 0; i < count; ++i) {
        auto p = std::make_unique<poll_connection>(io);
        p->socket.connect(server.endpoint());
        asio::write(p->socket, asio::buffer(request));
        p->read();
        polls.push_back(std::move(p));
    }
    bool all_parked = false;
    for (int i = 0; i < 600 && !all_parked; ++i) {
        all_parked = waiting(server) == count;
        if (!all_parked) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(all_parked);
    CHECK(io.poll() == 0);  // parked: nothing has been answered yet

    const auto published = testing::http_exchange(server.endpoint(), "POST /publish HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nwake");
    CHECK(published.body == R"({"id":"ep-1"})");
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    std::size_t answered = 0;
    while (answered < count && std::chrono::steady_clock::now() < give_up) {
        io.run_for(std::chrono::milliseconds(100));
        answered = 0;
        for (const auto& p : polls) answered += p->answered ? 1 : 0;
    }
    CHECK(answered == count);
    io.run_for(std::chrono::milliseconds(300));  // time for a second answer, if any were sent
    std::size_t correct = 0, extra = 0;
    for (const auto& p : polls) {
        longpoll::answer a;
        if (p->response.status == 200 && !longpoll::decode_answer(p->response.body, a) && a.cursor == "ep-1" &&
            a.messages == std::vector<std::string>{"wake"})
            ++correct;
        extra += p->extra_bytes;
    }
    CHECK(correct == count);
    CHECK(extra == 0);
    CHECK(waiting(server) == 0);
}

TEST_CASE("longpoll_server: the C++ client follows the cursor across publishes and timeouts", "[examples][longpoll]") {
    child_server server{HERALD_LONGPOLL_SERVER, {"--epoch", "ep"}};
    asio::io_context io;
    longpoll::client_options options;
    options.port = std::to_string(server.port());
    options.topic = "room:1";
    options.since = "ep-0";  // from the start, whenever its first poll arrives
    options.timeout_seconds = 1;  // at least one empty answer in between, polled again silently
    longpoll::client client{io.get_executor(), options, 4};
    std::vector<std::string> got;
    std::error_code failure;  // the handlers run on the pump thread: checked after it joins
    std::function<void(std::error_code, longpoll::answer)> on_answer = [&](std::error_code ec, longpoll::answer a) {
        if (ec) {
            failure = ec;
            return;
        }
        for (auto& m : a.messages) got.push_back(m);
        if (got.size() < 3) client.async_next(on_answer);
    };
    client.async_next(on_answer);
    std::thread pump([&] { io.run_for(std::chrono::seconds(10)); });
    auto publish = [&](const std::string& body) {
        testing::http_exchange(server.endpoint(), "POST /publish?topic=room%3A1 HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                                                     std::to_string(body.size()) + "\r\n\r\n" + body);
    };
    publish("one");
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // past one poll timeout
    publish("two");
    publish("three");
    pump.join();
    CHECK_FALSE(failure);
    CHECK(got == std::vector<std::string>{"one", "two", "three"});
    CHECK(client.cursor() == "ep-3");
}

TEST_CASE("longpoll client: backs off while the server is away and resumes when it is back", "[examples][longpoll]") {
    const auto port = test_support::free_port();
    asio::io_context io;
    longpoll::client_options options;
    options.port = std::to_string(port);
    options.backoff.base = std::chrono::milliseconds(20);
    options.backoff.cap = std::chrono::milliseconds(200);
    options.since = "ep-0";
    longpoll::client client{io.get_executor(), options, 5};
    std::optional<longpoll::answer> got;
    client.async_next([&](std::error_code ec, longpoll::answer a) {
        CHECK_FALSE(ec);
        got = std::move(a);
    });
    io.run_for(std::chrono::milliseconds(300));  // nobody listens: refused, retried
    CHECK(client.failures() >= 2);
    child_server server{HERALD_LONGPOLL_SERVER, {"--epoch", "ep"}, port};
    testing::http_exchange(server.endpoint(), "POST /publish HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok");
    io.restart();
    io.run_for(std::chrono::seconds(5));
    REQUIRE(got);
    CHECK(got->messages == std::vector<std::string>{"ok"});
    CHECK(client.failures() == 0);
}
