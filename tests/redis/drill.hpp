// What the cluster drills share (cluster_drill_test.cpp, redis_drill_test.cpp):
// clients that move to another node when theirs fails, resuming from their last
// id as a browser would, and a publisher that retries with its Idempotency-Key on
// the next node until a message is acknowledged.
#ifndef HERALD_TESTS_REDIS_DRILL_HPP
#define HERALD_TESTS_REDIS_DRILL_HPP

#include "../support/process.hpp"

#include <herald/asio/websocket_connect.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace herald::test_support::drill {

using tcp = asio::ip::tcp;

// live_server's arguments for a node named `name` on the Redis at `at_redis`
// ("127.0.0.1:P"), without the demo's ticker.
inline std::vector<std::string> node_args(const std::string& at_redis, const std::string& name) {
    return {"--redis", at_redis, "--node", name, "--ticker-ms", "0", "--quiet", "1"};
}

// live_server nodes named `names`, each on a port of its own.
inline std::vector<std::unique_ptr<child_server>> start_nodes(const std::string& program, const std::string& at_redis,
                                                              const std::vector<std::string>& names) {
    std::vector<std::unique_ptr<child_server>> nodes;
    for (const auto& name : names) nodes.push_back(std::make_unique<child_server>(program, node_args(at_redis, name)));
    return nodes;
}

inline std::vector<unsigned short> ports_of(const std::vector<std::unique_ptr<child_server>>& nodes) {
    std::vector<unsigned short> ports;
    for (const auto& n : nodes) ports.push_back(n->port());
    return ports;
}

// One blocking request with a receive timeout; the whole answer, or "" on failure.
inline std::string ask(unsigned short port, const std::string& request, int timeout_s = 3) {
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

inline std::uint64_t seq_of(const std::string& id) { return std::stoull(id.substr(id.rfind('-') + 1)); }
inline std::string epoch_of(const std::string& id) { return id.substr(0, id.rfind('-')); }

// The value of "id" in a JSON answer, or "".
inline std::string id_in(const std::string& answer) {
    const auto at = answer.find("\"id\":\"");
    if (at == std::string::npos) return {};
    return answer.substr(at + 6, answer.find('"', at + 6) - at - 6);
}

enum class transport { sse, long_poll, short_poll, websocket };
inline const char* name_of(transport t) {
    switch (t) {
    case transport::sse: return "SSE";
    case transport::long_poll: return "long poll";
    case transport::short_poll: return "short poll";
    case transport::websocket: return "WebSocket";
    }
    return "?";
}

// A client on one transport that moves to the next node whenever its own fails
// (or says nothing for 3 s: a stopped node), resuming from the last id it got
// (an SSE client from the last event id of any event, as EventSource does; a poll
// from its cursor; a WebSocket from its last message, lost or ready frame's id).
// Records every message id it is given, in order, and each lost signal as
// "lost <id>".
class client {
public:
    client(std::vector<unsigned short> nodes, transport kind, std::size_t first, std::string topic)
        : nodes_(std::move(nodes)), kind_(kind), at_(first), topic_(std::move(topic)) {
        thread_ = std::thread([this] { run(); });
    }
    ~client() {
        stop = true;
        thread_.join();
    }
    std::vector<std::string> got() {
        std::lock_guard lock(mutex_);
        return got_;
    }
    transport kind() const noexcept { return kind_; }
    std::atomic<bool> stop{false};
    std::atomic<int> lost{0}, moves{0};

private:
    void take(const std::string& id, bool lost_signal) {
        std::lock_guard lock(mutex_);
        got_.push_back(lost_signal ? "lost " + id : id);
    }

    void run() {
        while (!stop) {
            const unsigned short port = nodes_[at_ % nodes_.size()];
            switch (kind_) {
            case transport::sse: stream(port); break;
            case transport::long_poll: poll(port, true); break;
            case transport::short_poll: poll(port, false); break;
            case transport::websocket: websocket(port); break;
            }
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
        std::string request = "GET /api/events?topic=" + topic_ + " HTTP/1.1\r\nHost: t\r\n";
        if (!last_.empty()) request += "Last-Event-ID: " + last_ + "\r\n";
        asio::write(s, asio::buffer(request + "\r\n"), ec);
        std::string buffer;
        std::array<char, 8192> chunk;
        while (!ec && !stop) {
            const std::size_t n = s.read_some(asio::buffer(chunk), ec);
            buffer.append(chunk.data(), n);
            for (std::size_t end; (end = buffer.find("\n\n")) != std::string::npos; buffer.erase(0, end + 2)) {
                const std::string event = buffer.substr(0, end);
                const auto id_at = event.find("id: ");
                if (id_at == std::string::npos) continue;  // comments
                const std::string id = event.substr(id_at + 4, event.find('\n', id_at) - id_at - 4);
                last_ = id;
                const bool lost_signal = event.find("event: history-lost") != std::string::npos;
                if (lost_signal) ++lost;
                if (lost_signal || event.find("event: ") == std::string::npos) take(id, lost_signal);
            }
        }
    }

    // Long (or short, every 100 ms) polls on one node until one fails.
    void poll(unsigned short port, bool long_poll) {
        static const std::regex id(R"re("id":"([^"]*)")re");
        static const std::regex cursor(R"re("cursor":"([^"]*)")re");
        while (!stop) {
            if (!long_poll) std::this_thread::sleep_for(std::chrono::milliseconds(100));
            const std::string target = long_poll ? "/api/poll?timeout=2&topic=" : "/api/messages?topic=";
            const std::string answer = ask(port, "GET " + target + topic_ + "&since=" + last_ + " HTTP/1.1\r\nHost: t\r\n\r\n", 4);
            if (answer.rfind("HTTP/1.1 200", 0) != 0) return;
            const std::string body = answer.substr(answer.find("\r\n\r\n") + 4);
            std::smatch m;
            if (!std::regex_search(body, m, cursor)) return;
            if (body.find("\"reset\":true") != std::string::npos) {
                ++lost;
                take(m[1], true);
            }
            for (auto it = std::sregex_iterator(body.begin(), body.end(), id); it != std::sregex_iterator(); ++it) take((*it)[1], false);
            last_ = m[1];
        }
    }

    // One WebSocket (herald's client) for as long as it lasts; 3 s without a frame
    // ends it (a stopped node). Frames: a message's JSON, or a lost or ready signal.
    void websocket(unsigned short port) {
        static const std::regex id(R"re("id":"([^"]*)")re");
        asio::io_context io;
        websocket::stream<tcp::socket> ws(tcp::socket{io}, [gen = std::mt19937(port)]() mutable { return static_cast<std::uint32_t>(gen()); });
        const auto step = [&](auto start) {  // runs one operation for at most 3 s
            std::error_code result = asio::error::would_block;
            start(result);
            io.run_for(std::chrono::seconds(3));
            if (result == asio::error::would_block) {  // timed out: cut it, and let the operation end
                std::error_code ignored;
                ws.next_layer().close(ignored);
                io.restart();
                io.run_for(std::chrono::seconds(1));
            }
            io.restart();
            return !result;
        };
        const std::string query = "/api/ws?topic=" + topic_ + (last_.empty() ? "" : "&since=" + last_);
        if (!step([&](std::error_code& r) { websocket::async_connect(ws, "ws://127.0.0.1:" + std::to_string(port) + query, [&r](std::error_code ec) { r = ec; }); }))
            return;
        while (!stop) {
            std::string frame;
            if (!step([&](std::error_code& r) { ws.async_read(frame, [&r](std::error_code ec, websocket::opcode) { r = ec; }); })) return;
            std::smatch m;
            if (!std::regex_search(frame, m, id)) continue;
            last_ = m[1];
            const bool lost_signal = frame.rfind(R"({"type":"lost")", 0) == 0;
            if (lost_signal) ++lost;
            if (lost_signal || frame.rfind(R"({"type":)", 0) != 0) take(m[1], lost_signal);
        }
    }

    std::vector<unsigned short> nodes_;
    transport kind_;
    std::size_t at_;
    std::string topic_, last_;
    std::mutex mutex_;
    std::vector<std::string> got_;
    std::thread thread_;
};

// Publishes "m<i>" to `topic`, one request at a time 1 ms apart (about 380 a second
// on the 2-core VM, failures included), each with Idempotency-Key p<i>,
// retried on the next node until acknowledged; records the acknowledged ids.
class publisher {
public:
    publisher(std::vector<unsigned short> nodes, std::string topic) : nodes_(std::move(nodes)), topic_(std::move(topic)) {
        thread_ = std::thread([this] { run(); });
    }
    ~publisher() { finish(); }
    void finish() {
        going_ = false;
        if (thread_.joinable()) thread_.join();
    }
    std::vector<std::string> acknowledged() {
        std::lock_guard lock(mutex_);
        return acknowledged_;
    }
    std::atomic<int> attempts_failed{0};

private:
    void run() {
        std::size_t node = 0;
        for (int i = 1; going_; ++i) {
            const std::string body = "m" + std::to_string(i);
            // Bounded: a drill that never recovers fails on what was acknowledged.
            for (int tries = 0; tries < 500; ++tries) {
                const std::string answer =
                    ask(nodes_[node % nodes_.size()], "POST /api/publish?topic=" + topic_ + " HTTP/1.1\r\nHost: t\r\nIdempotency-Key: p" +
                                                          std::to_string(i) + "\r\nContent-Length: " + std::to_string(body.size()) +
                                                          "\r\n\r\n" + body);
                if (answer.find(" 200 ") != std::string::npos) {
                    std::lock_guard lock(mutex_);
                    acknowledged_.push_back(id_in(answer));
                    break;
                }
                ++attempts_failed;
                ++node;
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }

    std::vector<unsigned short> nodes_;
    std::string topic_;
    std::atomic<bool> going_{true};
    std::mutex mutex_;
    std::vector<std::string> acknowledged_;
    std::thread thread_;
};

// What a client's record says: its lost signals, whether every message followed
// the one before it (or the position a lost signal gave) by exactly one number in
// the same epoch, and its first and last message ids.
struct record {
    int lost = 0;
    bool contiguous = true;
    std::string first, last, broken_at;
};

inline record judge(const std::vector<std::string>& got) {
    record r;
    std::string before;  // the position the next message must follow
    for (const auto& entry : got) {
        if (entry.rfind("lost ", 0) == 0) {
            ++r.lost;
            before = entry.substr(5);
            continue;
        }
        if (!before.empty() && (epoch_of(entry) != epoch_of(before) || seq_of(entry) != seq_of(before) + 1) && r.contiguous) {
            r.contiguous = false;
            r.broken_at = before + " then " + entry;
        }
        if (r.first.empty()) r.first = entry;
        r.last = before = entry;
    }
    return r;
}

}  // namespace herald::test_support::drill

#endif
