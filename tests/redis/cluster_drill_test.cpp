// The failure drill of docs/cluster.md: three live_server nodes on one Redis, a
// publisher that moves to another node when one fails, and SSE and long-poll
// clients that move to another node with their last id when theirs goes. Through
// kill -9 of a node, CLIENT KILL TYPE pubsub, a node stopped for 2 s, DEBUG SLEEP 2
// and CLIENT PAUSE 1500 WRITE, every client must see every id from 1 to Redis's
// last, once each, in order.
#include "../asio/support.hpp"
#include "server.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <numeric>
#include <regex>
#include <string>
#include <thread>
#include <vector>

using namespace herald;
using test_support::child_server;
using test_support::redis_call;
using test_support::redis_server;

namespace {

using tcp = asio::ip::tcp;

// One blocking request with a receive timeout; the whole answer, or "" on failure.
std::string ask(unsigned short port, const std::string& request, int timeout_s = 3) {
    asio::io_context io;
    tcp::socket s{io};
    std::error_code ec;
    s.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
    if (ec) return {};
    const timeval t{timeout_s, 0};
    setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t);
    asio::write(s, asio::buffer(request), ec);
    std::string out;
    std::array<char, 4096> chunk;
    while (!ec) {
        const std::size_t n = s.read_some(asio::buffer(chunk), ec);
        out.append(chunk.data(), n);
        const auto head_end = out.find("\r\n\r\n");
        if (head_end == std::string::npos) continue;
        const auto length = out.find("Content-Length: ");
        if (length != std::string::npos && length < head_end &&
            out.size() >= head_end + 4 + std::stoul(out.substr(length + 16))) break;
    }
    return out;
}

std::uint64_t seq_of(const std::string& id) { return std::stoull(id.substr(id.rfind('-') + 1)); }

// A client on one transport that moves to the next node whenever its own fails,
// resuming from the last id it got. Records every id it is given, in order.
struct client {
    client(std::vector<unsigned short> nodes, bool sse, std::size_t first) : nodes_(std::move(nodes)), sse_(sse), at_(first) {
        thread_ = std::thread([this] { run(); });
    }
    ~client() {
        stop = true;
        thread_.join();
    }
    std::vector<std::uint64_t> got() {
        std::lock_guard lock(mutex_);
        return got_;
    }
    std::atomic<bool> stop{false};
    std::atomic<int> lost{0}, moves{0};

private:
    void take(const std::string& id) {
        std::lock_guard lock(mutex_);
        got_.push_back(seq_of(id));
        last_ = id;
    }

    void run() {
        while (!stop) {
            const unsigned short port = nodes_[at_ % nodes_.size()];
            if (sse_) stream(port);
            else poll(port);
            if (stop) return;
            ++at_;  // its node failed it: the next one
            ++moves;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }

    // One SSE connection for as long as it lasts (a read that waits 3 s ends it:
    // keep-alives come every 15 s, but a stopped node must not hold the client).
    void stream(unsigned short port) {
        asio::io_context io;
        tcp::socket s{io};
        std::error_code ec;
        s.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
        if (ec) return;
        const timeval t{3, 0};
        setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t);
        std::string request = "GET /api/events?topic=drill HTTP/1.1\r\nHost: t\r\n";
        if (!last_.empty()) request += "Last-Event-ID: " + last_ + "\r\n";
        asio::write(s, asio::buffer(request + "\r\n"), ec);
        std::string buffer;
        std::array<char, 8192> chunk;
        while (!ec && !stop) {
            const std::size_t n = s.read_some(asio::buffer(chunk), ec);
            buffer.append(chunk.data(), n);
            for (std::size_t end; (end = buffer.find("\n\n")) != std::string::npos; buffer.erase(0, end + 2)) {
                const std::string event = buffer.substr(0, end);
                const auto id = event.find("id: ");
                if (event.find("event: history-lost") != std::string::npos) ++lost;
                if (id == std::string::npos || event.find("event: ") != std::string::npos) continue;  // ready, lost, comments
                take(event.substr(id + 4, event.find('\n', id) - id - 4));
            }
        }
    }

    // Long polls on one node until one fails.
    void poll(unsigned short port) {
        static const std::regex id(R"re("id":"([^"]*)")re");
        static const std::regex cursor(R"re("cursor":"([^"]*)")re");
        while (!stop) {
            const std::string answer = ask(port, "GET /api/poll?topic=drill&timeout=2&since=" + cursor_ + " HTTP/1.1\r\nHost: t\r\n\r\n", 4);
            if (answer.rfind("HTTP/1.1 200", 0) != 0) return;
            const std::string body = answer.substr(answer.find("\r\n\r\n") + 4);
            if (body.find("\"reset\":true") != std::string::npos) ++lost;
            for (auto it = std::sregex_iterator(body.begin(), body.end(), id); it != std::sregex_iterator(); ++it) take((*it)[1]);
            std::smatch m;
            if (std::regex_search(body, m, cursor)) cursor_ = m[1];
        }
    }

    std::vector<unsigned short> nodes_;
    bool sse_;
    std::size_t at_;
    std::string last_, cursor_;
    std::mutex mutex_;
    std::vector<std::uint64_t> got_;
    std::thread thread_;
};

}  // namespace

TEST_CASE("cluster drill: clients moving between three nodes lose nothing and see nothing twice through node and Redis "
          "failures", "[redis][cluster][drill]") {
    redis_server redis;
    const std::string at_redis = "127.0.0.1:" + redis.port();
    std::vector<std::unique_ptr<child_server>> nodes;
    for (const char* name : {"n0", "n1", "n2"})
        nodes.push_back(std::make_unique<child_server>(
            HERALD_LIVE_SERVER, std::vector<std::string>{"--redis", at_redis, "--node", name, "--ticker-ms", "0", "--quiet", "1"}));
    std::vector<unsigned short> ports;
    for (auto& n : nodes) ports.push_back(n->port());
    // The nodes' links come up; clients then start with no cursor (each told
    // Redis's position as its ready id, though its node never saw the topic).
    std::string first;
    for (int i = 0; i < 50 && first.find(" 200 ") == std::string::npos; ++i) {
        first = ask(ports[0], "POST /api/publish?topic=drill HTTP/1.1\r\nHost: t\r\nIdempotency-Key: p0\r\nContent-Length: 2\r\n\r\nm0");
        if (first.find(" 200 ") == std::string::npos) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    REQUIRE(first.find(" 200 ") != std::string::npos);

    std::vector<std::unique_ptr<client>> clients;
    for (std::size_t i = 0; i < 6; ++i) clients.push_back(std::make_unique<client>(ports, i % 2 == 0, i));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));

    // The publisher: about 200 a second, each to the next node that answers, a
    // retry with the same Idempotency-Key until it is acknowledged.
    std::atomic<bool> publishing{true};
    std::atomic<int> attempts_failed{0};
    std::vector<std::uint64_t> acknowledged{seq_of(first.substr(first.find("\"id\":\"") + 6, first.rfind('"') - first.find("\"id\":\"") - 6))};
    std::thread publisher([&] {
        std::size_t node = 0;
        for (int i = 1; publishing; ++i) {
            const std::string body = "m" + std::to_string(i);
            for (int tries = 0; tries < 500; ++tries) {  // bounded: a drill that never recovers fails below
                const std::string answer = ask(ports[node % ports.size()], "POST /api/publish?topic=drill HTTP/1.1\r\nHost: t\r\nIdempotency-Key: p" +
                                                                               std::to_string(i) + "\r\nContent-Length: " +
                                                                               std::to_string(body.size()) + "\r\n\r\n" + body);
                if (answer.find(" 200 ") != std::string::npos) {
                    const auto at = answer.find("\"id\":\"") + 6;
                    acknowledged.push_back(seq_of(answer.substr(at, answer.find('"', at) - at)));
                    break;
                }
                ++attempts_failed;
                ++node;
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    });
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
    publishing = false;
    publisher.join();

    // Every client catches up with Redis's last number; what each got is 1..last.
    const auto last = static_cast<std::uint64_t>(std::stoull(redis_call(redis.port(), {"HGET", "herald:{drill}:meta", "seq"}).text));
    for (int i = 0; i < 1000; ++i) {
        bool all = true;
        for (auto& c : clients) all = all && !c->got().empty() && c->got().back() >= last;
        if (all) break;
        pause(10);
    }
    INFO("Redis's last seq " << last << ", acknowledged " << acknowledged.size() << ", failed attempts " << attempts_failed);
    // Every message stored was acknowledged, once: a retry was never stored twice.
    std::sort(acknowledged.begin(), acknowledged.end());
    std::vector<std::uint64_t> all(last);
    std::iota(all.begin(), all.end(), 1);
    CHECK(acknowledged == all);
    for (std::size_t i = 0; i < clients.size(); ++i) {
        const auto got = clients[i]->got();
        INFO("client " << i << (i % 2 == 0 ? " (SSE)" : " (long poll)") << ": " << got.size() << " ids, moved "
                       << clients[i]->moves << " times, lost signals " << clients[i]->lost);
        CHECK(clients[i]->lost == 0);
        REQUIRE_FALSE(got.empty());
        bool contiguous = true;
        for (std::size_t k = 1; k < got.size() && contiguous; ++k) contiguous = got[k] == got[k - 1] + 1;
        CHECK(contiguous);
        CHECK(got.back() == last);
        CHECK(got.front() <= 2);  // from the start (id 1 is the set-up post, before or after a client came)
    }
    for (auto& c : clients) c->stop = true;
    clients.clear();
}
