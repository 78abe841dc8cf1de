// The four transports under one load: N subscribers to one topic of
// examples/live/live_server, all through one transport, while a publisher posts M
// messages a second of S bytes; for each transport the delivery latency (p50, p99),
// the server's CPU, and the requests and bytes each delivered message cost. The
// table that articles on polling, SSE and WebSocket fill in from opinion, measured.
//
//   herald_bench_transport_load --server examples/live_server [--clients 1000] [--rate 10]
//        [--size 64] [--seconds 10] [--warmup 2] [--repeat 3] [--poll-interval-ms 1000]
//        [--headers browser|minimal] [--transports websocket,sse,long-poll,short-poll]
//        [--server-arg A]...   (more for live_server: --server-arg --redis --server-arg 127.0.0.1:6379)
//        [--redis-server PATH [--nodes N]] [--body dots|json]
//
// Two more transports, not in the default list, measure permessage-deflate
// (RFC 7692): ws-deflate-once (live_server --deflate-topics live: the hub compresses
// each message once for every subscriber) and ws-deflate-each (--deflate-share 0:
// each subscriber's stream compresses it, as other libraries do). Their subscribers
// offer the extension and inflate what comes compressed. --body json makes the
// messages JSON quotes (what compression is for) instead of dots.
//
// --redis-server starts a redis-server of its own (a free port, no persistence, on
// CPU 0 with the nodes) for each run and N live_server nodes on it (default 1);
// the subscribers are spread over the nodes in turn, the publisher posts to the
// first, and the table gains Redis's CPU per delivered message. The nodes' CPU is
// summed. The cluster of docs/cluster.md, measured against one node alone.
//
// The subscribers speak the hub's routes (include/herald/asio/hub/routes.hpp) as
// examples/live/herald.js does: short polling asks /api/messages?since=C every
// --poll-interval-ms after the previous answer (the page's default: 1 s), each
// client at its own phase; long polling asks /api/poll?since=C again as soon as an
// answer is in; SSE reads /api/events; WebSocket reads /api/ws. Every request
// carries the fields Chromium sends with a fetch() (--headers minimal: Host only),
// because those are what a poll costs on the wire.
//
// Every subscriber must receive every message, in order, exactly once: a gap, a
// duplicate or a missing tail is counted as an error, and any error makes the exit
// status 1. The publisher records when it
// sent each message; a subscriber's delivery latency is from then to the epoll
// wake-up that brought the message. Server on CPU 0, this client on CPU 1 (one
// thread, busy-polling, so that waking it costs the server nothing), transports
// interleaved over rounds, medians reported.
#include "loopback.hpp"

#include <herald/websocket/deflate_codec.hpp>

#include <asio/write.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <functional>
#include <memory>
#include <queue>
#include <random>
#include <string>
#include <vector>

namespace {

enum class transport { websocket, sse, long_poll, short_poll, ws_deflate_once, ws_deflate_each };
constexpr std::array<const char*, 6> transport_names{"websocket", "sse", "long-poll", "short-poll", "ws-deflate-once",
                                                     "ws-deflate-each"};


// What Chromium 131 sends with a same-origin fetch() or EventSource, less cookies
// (and Connection: keep-alive, added to requests that are not upgrades).
constexpr std::string_view browser_fields =
    "sec-ch-ua-platform: \"Linux\"\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n"
    "sec-ch-ua: \"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\"\r\n"
    "sec-ch-ua-mobile: ?0\r\n"
    "Accept: */*\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "Sec-Fetch-Mode: cors\r\n"
    "Sec-Fetch-Dest: empty\r\n"
    "Referer: http://127.0.0.1/\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n";

struct settings {
    std::string server;
    int clients = 1000;
    double rate = 10;  // messages a second
    std::size_t size = 64;
    double seconds = 10, warmup = 2;
    int repeat = 3;
    std::int64_t poll_interval_ns = 1'000'000'000;
    bool browser_headers = true;
    std::vector<std::string> server_args;  // --server-arg: more for live_server (--redis HOST:PORT)
    std::string redis_server;               // --redis-server: a Redis of its own and --nodes nodes on it
    int nodes = 1;
    bool json_body = false;                 // --body json: JSON quotes rather than dots
};

// The processes of one run: the nodes (their ports), and Redis when there is one.
struct servers {
    std::vector<pid_t> nodes;
    std::vector<unsigned short> ports;
    pid_t redis = -1;
};

struct result {
    double delivered_per_second = 0;
    double p50_ms = 0, p99_ms = 0;
    double server_busy = 0;          // share of its core
    double server_us_per_message = 0;       // CPU per delivered message
    double server_user_us_per_message = 0;  // of which in user mode: herald's own code, not the kernel's
    double redis_us_per_message = 0;        // --redis-server: Redis's CPU per delivered message
    double requests_per_message = 0;
    double bytes_down_per_message = 0;  // server to client, HTTP heads and framing included
    double bytes_up_per_message = 0;    // client to server
    std::uint64_t errors = 0;
};

struct subscriber {
    int fd = -1;
    std::string in;                 // received, not yet parsed
    std::string cursor;             // polls: the `since` of the next request
    std::uint64_t expected = 0;     // the next message's sequence number
    bool head_read = false;         // SSE, WebSocket: the response head is behind us
    bool ready = false;             // subscribed: publishing may start
    std::unique_ptr<herald::websocket::deflate_codec> inflater;  // ws-deflate-*: agreed in the 101
};

// A whole compressed message inflated (RFC 7692 §7.2.2: the tail put back).
bool inflate_message(herald::websocket::deflate_codec& codec, std::string_view payload, std::string& out) {
    out.clear();
    for (std::string_view in : {payload, herald::websocket::deflate_tail}) {
        bool full = true;
        while (full || !in.empty())
            if (codec.inflate_some(in, out, std::size_t{1} << 20, full)) return false;
    }
    codec.end_message();
    return true;
}

// Finds `name` (lower case) among the head's fields and returns its value.
std::string_view field(std::string_view head, std::string_view name) {
    for (std::size_t at = head.find("\r\n"); at != std::string_view::npos; at = head.find("\r\n", at + 2)) {
        const std::string_view line = head.substr(at + 2, head.find("\r\n", at + 2) - at - 2);
        if (line.size() <= name.size() || line[name.size()] != ':') continue;
        if (std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) { return a == (b | 0x20); })) {
            std::string_view value = line.substr(name.size() + 1);
            while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
            return value;
        }
    }
    return {};
}

// One whole response with a Content-Length body off the front of `in`; false
// until it is all there. `ok`: the status was 200.
bool take_response(std::string& in, std::string& body, bool& ok) {
    const auto end = in.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    const std::string_view head(in.data(), end + 2);
    const auto length_text = field(head, "content-length");
    std::size_t length = 0;
    std::from_chars(length_text.data(), length_text.data() + length_text.size(), length);
    if (in.size() < end + 4 + length) return false;
    ok = head.rfind("HTTP/1.1 200 ", 0) == 0;
    body.assign(in, end + 4, length);
    in.erase(0, end + 4 + length);
    return true;
}

class load {
public:
    load(const settings& s, transport t, servers on) : s_(s), t_(t), on_(std::move(on)) {
        published_.reserve(static_cast<std::size_t>(s.rate * (s.warmup + s.seconds + 1)) + 16);
    }

    result run() {
        epoll_ = ::epoll_create1(0);
        subscribers_.resize(static_cast<std::size_t>(s_.clients));
        for (std::size_t i = 0; i < subscribers_.size(); ++i) open(i);
        publisher_ = connect_socket(on_.ports.front());
        // Publishing starts when everyone is subscribed (a WebSocket's `ready`
        // frame, an SSE `ready` event, a first poll's cursor).
        const std::int64_t setup_until = bench::now_ns() + 30'000'000'000;
        while (std::any_of(subscribers_.begin(), subscribers_.end(), [](const subscriber& s) { return !s.ready; })) {
            if (bench::now_ns() > setup_until) fail("subscribers not ready after 30 s");
            step(bench::now_ns());
        }
        for (std::size_t i = 0; t_ == transport::short_poll && i < subscribers_.size(); ++i) {
            std::uniform_int_distribution<std::int64_t> phase(0, s_.poll_interval_ns - 1);  // each client its own phase
            polls_due_.push({bench::now_ns() + phase(random_), i});
        }
        const std::int64_t begin = bench::now_ns();
        window_from_ = begin + static_cast<std::int64_t>(s_.warmup * 1e9);
        window_until_ = window_from_ + static_cast<std::int64_t>(s_.seconds * 1e9);
        const double period_ns = 1e9 / s_.rate;
        std::int64_t cpu_from = -1, user_from = 0, redis_from = 0;
        for (std::int64_t now = begin; now < window_until_; now = bench::now_ns()) {
            if (cpu_from < 0 && now >= window_from_) {
                cpu_from = nodes_cpu(bench::cpu_ns);
                user_from = nodes_cpu(bench::user_ns);
                redis_from = on_.redis > 0 ? bench::cpu_ns(on_.redis) : 0;
            }
            while (begin + static_cast<std::int64_t>(static_cast<double>(published_.size()) * period_ns) <= now) publish(now);
            step(now);
        }
        const double cpu = static_cast<double>(nodes_cpu(bench::cpu_ns) - cpu_from);
        const double user = static_cast<double>(nodes_cpu(bench::user_ns) - user_from);
        const double redis = on_.redis > 0 ? static_cast<double>(bench::cpu_ns(on_.redis) - redis_from) : 0;
        // Drain: what was published must still arrive — after a poll interval, or
        // after the backlog of a server run past its capacity clears (30 s at most).
        const std::int64_t drain_until = bench::now_ns() + std::max<std::int64_t>(s_.poll_interval_ns + 2'000'000'000, 30'000'000'000);
        while (bench::now_ns() < drain_until && !all_caught_up()) step(bench::now_ns());
        for (const auto& sub : subscribers_) {
            if (sub.expected != published_.size()) ++r_.errors;  // a missing tail
            ::close(sub.fd);
        }
        ::close(publisher_);
        ::close(epoll_);

        const double delivered = static_cast<double>(delivered_);
        r_.delivered_per_second = delivered / s_.seconds;
        r_.server_busy = cpu / (s_.seconds * 1e9);
        if (delivered > 0) {
            r_.server_us_per_message = cpu / 1e3 / delivered;
            r_.server_user_us_per_message = user / 1e3 / delivered;
            r_.redis_us_per_message = redis / 1e3 / delivered;
            r_.requests_per_message = static_cast<double>(requests_) / delivered;
            r_.bytes_down_per_message = static_cast<double>(bytes_down_) / delivered;
            r_.bytes_up_per_message = static_cast<double>(bytes_up_) / delivered;
        }
        if (!latencies_.empty()) {
            std::sort(latencies_.begin(), latencies_.end());
            r_.p50_ms = static_cast<double>(latencies_[latencies_.size() / 2]) / 1e6;
            r_.p99_ms = static_cast<double>(latencies_[latencies_.size() * 99 / 100]) / 1e6;
        }
        return r_;
    }

private:
    [[noreturn]] static void fail(const char* what) {
        std::fprintf(stderr, "herald_bench_transport_load: %s\n", what);
        std::exit(1);
    }

    bool in_window(std::int64_t t) const { return t >= window_from_ && t < window_until_; }
    bool all_caught_up() const {
        return std::all_of(subscribers_.begin(), subscribers_.end(),
                           [&](const subscriber& s) { return s.expected == published_.size(); });
    }

    template <class Clock>
    std::int64_t nodes_cpu(Clock clock) const {
        std::int64_t total = 0;
        for (const pid_t node : on_.nodes) total += clock(node);
        return total;
    }

    int connect_socket(unsigned short port) {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail("cannot connect to the server");
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
        return fd;
    }

    void open(std::size_t i) {
        auto& sub = subscribers_[i];
        sub.fd = connect_socket(on_.ports[i % on_.ports.size()]);  // spread over the nodes
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        ::epoll_ctl(epoll_, EPOLL_CTL_ADD, sub.fd, &ev);
        switch (t_) {
        case transport::websocket:
        case transport::ws_deflate_once:
        case transport::ws_deflate_each:
            return request(sub, "/api/ws?topic=live",
                           t_ == transport::websocket
                               ? "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                               : "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                 "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n");
        case transport::sse: return request(sub, "/api/events?topic=live", "Connection: keep-alive\r\nAccept: text/event-stream\r\n");
        case transport::long_poll:
        case transport::short_poll: return request(sub, "/api/messages?topic=live", keep_alive());  // fresh: where now is
        }
    }

    std::string_view keep_alive() const { return s_.browser_headers ? "Connection: keep-alive\r\n" : ""; }

    void request(subscriber& sub, std::string_view target, std::string_view extra) {
        std::string req = "GET ";
        req.append(target).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        if (s_.browser_headers) req += browser_fields;
        req.append(extra).append("\r\n");
        if (!bench::send_all(sub.fd, req)) ++r_.errors;
        if (in_window(bench::now_ns())) {
            ++requests_;
            bytes_up_ += req.size();
        }
    }

    void poll(subscriber& sub) {
        const bool long_poll = t_ == transport::long_poll;
        request(sub, (long_poll ? "/api/poll?topic=live&timeout=25&since=" : "/api/messages?topic=live&since=") + sub.cursor,
                keep_alive());
    }

    // Message k's body: "msg#k" padded to the size asked for, with dots or with
    // JSON quotes whose numbers change from message to message (--body json).
    void publish(std::int64_t now) {
        const std::size_t k = published_.size();
        std::string body = "msg#" + std::to_string(k) + ' ';
        for (std::size_t i = 0; s_.json_body && body.size() < s_.size; ++i)
            body += R"({"symbol":"H)" + std::to_string(i % 50) + R"(","price":)" + std::to_string(100 + (k * 7 + i * 13) % 997) +
                    "." + std::to_string((k + i) % 100) + R"(,"volume":)" + std::to_string((k * 31 + i * 17) % 100000) + "},";
        body.resize(std::max(body.size(), s_.size), '.');
        std::string req = "POST /api/publish?topic=live HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body;
        published_.push_back(now);
        if (!bench::send_all(publisher_, req)) ++r_.errors;
    }

    // One round of the loop: what the network brought, answers to the publisher, polls due.
    void step(std::int64_t now) {
        epoll_event ready[256];
        // Busy-polls (timeout 0): this client has a core to itself.
        const int n = ::epoll_wait(epoll_, ready, 256, 0);
        if (n > 0) now = bench::now_ns();  // the wake-up that brought the messages
        for (int k = 0; k < n; ++k) receive(ready[k].data.u64, now);
        drain_publisher();
        while (!polls_due_.empty() && polls_due_.top().first <= now) {
            const auto i = polls_due_.top().second;
            polls_due_.pop();
            poll(subscribers_[i]);
        }
    }

    void drain_publisher() {
        char buf[4096];
        for (ssize_t got; (got = ::recv(publisher_, buf, sizeof buf, 0)) > 0;) publisher_in_.append(buf, static_cast<std::size_t>(got));
        std::string body;
        bool ok = false;
        while (take_response(publisher_in_, body, ok))
            if (!ok) ++r_.errors;
    }

    void receive(std::size_t i, std::int64_t now) {
        auto& sub = subscribers_[i];
        char buf[65536];
        const ssize_t got = ::recv(sub.fd, buf, sizeof buf, 0);
        if (got <= 0) {
            if (got < 0 && errno == EAGAIN) return;
            ++r_.errors;  // the server closed a subscriber
            ::epoll_ctl(epoll_, EPOLL_CTL_DEL, sub.fd, nullptr);
            return;
        }
        if (in_window(now)) bytes_down_ += static_cast<std::uint64_t>(got);
        sub.in.append(buf, static_cast<std::size_t>(got));
        switch (t_) {
        case transport::websocket:
        case transport::ws_deflate_once:
        case transport::ws_deflate_each: return read_frames(sub, now);
        case transport::sse: return read_events(sub, now);
        case transport::long_poll:
        case transport::short_poll: return read_answers(i, now);
        }
    }

    // Every "msg#k" in `text` is a delivery of message k.
    void deliver(subscriber& sub, std::string_view text, std::int64_t now) {
        for (auto at = text.find("msg#"); at != std::string_view::npos; at = text.find("msg#", at + 4)) {
            std::uint64_t k = 0;
            std::from_chars(text.data() + at + 4, text.data() + text.size(), k);
            if (k != sub.expected || k >= published_.size()) ++r_.errors;  // a gap, a duplicate, or out of order
            sub.expected = k + 1;
            if (in_window(now)) ++delivered_;
            if (k < published_.size() && in_window(published_[k])) latencies_.push_back(now - published_[k]);
        }
    }

    // The head of a response that streams on (101 or 200), before what follows it.
    static bool read_head(subscriber& sub, std::string_view status, std::size_t& after) {
        const auto end = sub.in.find("\r\n\r\n");
        if (end == std::string::npos) return false;
        if (sub.in.rfind(status, 0) != 0) fail("the server refused a subscription");
        sub.head_read = true;
        after = end + 4;
        return true;
    }

    void read_frames(subscriber& sub, std::int64_t now) {
        std::size_t at = 0;
        if (!sub.head_read) {
            if (!read_head(sub, "HTTP/1.1 101 ", at)) return;
            if (t_ != transport::websocket) start_inflater(sub, std::string_view(sub.in).substr(0, at));
        }
        while (sub.in.size() - at >= 2) {  // RFC 6455 §5.2; a server's frames are not masked
            const auto b = [&](std::size_t k) { return static_cast<unsigned char>(sub.in[at + k]); };
            std::uint64_t length = b(1) & 0x7f;
            std::size_t header = 2;
            if (length == 126) header = 4;
            if (length == 127) header = 10;
            if (sub.in.size() - at < header) break;
            if (header > 2) {
                length = 0;
                for (std::size_t k = 2; k < header; ++k) length = length << 8 | b(k);
            }
            if (sub.in.size() - at - header < length) break;
            std::string_view payload(sub.in.data() + at + header, length);
            const int opcode = b(0) & 0x0f;
            if ((b(0) & 0x40) != 0) {  // RSV1: compressed (RFC 7692 §6)
                if (!sub.inflater || !inflate_message(*sub.inflater, payload, inflated_)) ++r_.errors;
                payload = inflated_;
            }
            if (opcode == 0x1 && payload.find("\"type\":\"ready\"") != std::string_view::npos) sub.ready = true;
            else if (opcode == 0x1) deliver(sub, payload, now);
            else if (opcode == 0x9) pong(sub, payload);
            else ++r_.errors;  // a close, or binary: not what the hub sends
            at += header + length;
        }
        sub.in.erase(0, at);
    }

    // The agreement in the 101 (herald's server answers with no context takeover both ways).
    void start_inflater(subscriber& sub, std::string_view head) {
        const auto answer = field(head, "sec-websocket-extensions");
        if (answer.rfind("permessage-deflate", 0) != 0) fail("the server did not agree to permessage-deflate");
        herald::websocket::deflate_params p;
        p.server_no_context_takeover = answer.find("server_no_context_takeover") != std::string_view::npos;
        p.client_no_context_takeover = true;
        sub.inflater = std::make_unique<herald::websocket::deflate_codec>(p, herald::websocket::role::client,
                                                                          herald::websocket::deflate_options{});
    }

    // A heartbeat's ping answered: masked with a zero key, which leaves the payload as it is (§5.3).
    void pong(subscriber& sub, std::string_view payload) {
        std::string frame{static_cast<char>(0x8a), static_cast<char>(0x80 | payload.size()), 0, 0, 0, 0};
        frame.append(payload);
        if (!bench::send_all(sub.fd, frame)) ++r_.errors;
        if (in_window(bench::now_ns())) bytes_up_ += frame.size();
    }

    void read_events(subscriber& sub, std::int64_t now) {
        std::size_t at = 0;
        if (!sub.head_read && !read_head(sub, "HTTP/1.1 200 ", at)) return;
        // Events end with a blank line (WHATWG HTML §9.2.6); herald writes LF line ends.
        for (auto end = sub.in.find("\n\n", at); end != std::string::npos; end = sub.in.find("\n\n", at)) {
            const std::string_view event(sub.in.data() + at, end - at);
            if (event.find("event: ready\n") != std::string_view::npos) sub.ready = true;
            else deliver(sub, event, now);
            at = end + 2;
        }
        sub.in.erase(0, at);
    }

    void read_answers(std::size_t i, std::int64_t now) {
        auto& sub = subscribers_[i];
        std::string body;
        bool ok = false;
        while (take_response(sub.in, body, ok)) {
            // {"cursor":C,"reset":R,"messages":[...]}
            const auto from = body.find("\"cursor\":\"");
            const auto to = from == std::string::npos ? from : body.find('"', from + 10);
            if (!ok || to == std::string::npos || body.find("\"reset\":true") != std::string::npos) {
                ++r_.errors;
                continue;
            }
            sub.cursor = body.substr(from + 10, to - from - 10);
            if (sub.ready) deliver(sub, body, now);
            const bool first = !sub.ready;
            sub.ready = true;
            if (t_ == transport::long_poll) poll(sub);
            else if (!first) polls_due_.push({now + s_.poll_interval_ns, i});
        }
    }

    const settings& s_;
    transport t_;
    servers on_;
    int epoll_ = -1, publisher_ = -1;
    std::string publisher_in_;
    std::vector<subscriber> subscribers_;
    std::vector<std::int64_t> published_;  // when message k was sent
    std::priority_queue<std::pair<std::int64_t, std::size_t>, std::vector<std::pair<std::int64_t, std::size_t>>,
                        std::greater<>>
        polls_due_;
    std::mt19937_64 random_{42};
    std::int64_t window_from_ = 0, window_until_ = 0;
    std::uint64_t delivered_ = 0, requests_ = 0, bytes_down_ = 0, bytes_up_ = 0;
    std::string inflated_;  // the message being read, inflated
    std::vector<std::int64_t> latencies_;
    result r_;
};


// Whether the node at `port` says it is in sync with Redis (/api/stats).
bool in_sync(unsigned short port) {
    asio::io_context io;
    asio::ip::tcp::socket socket{io};
    std::error_code ec;
    socket.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
    if (ec) return false;
    asio::write(socket, asio::buffer(std::string_view("GET /api/stats HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")), ec);
    std::string answer;
    std::array<char, 4096> chunk;
    while (!ec) answer.append(chunk.data(), socket.read_some(asio::buffer(chunk), ec));
    return answer.find("\"in_sync\":true") != std::string::npos;
}

// One run's servers: live_server alone, or a Redis and --nodes nodes on it, each
// in sync with it before the run begins (a publish before that would wait for it).
servers start_servers(const settings& s, transport t) {
    servers on;
    std::vector<std::string> args{"--ticker-ms", "0", "--quiet", "1", "--history", "100000", "--epoch", "bench"};
    if (t == transport::ws_deflate_once || t == transport::ws_deflate_each)
        args.insert(args.end(), {"--deflate-topics", "live", "--deflate-share", t == transport::ws_deflate_once ? "1" : "0"});
    args.insert(args.end(), s.server_args.begin(), s.server_args.end());
    if (!s.redis_server.empty()) {
        const unsigned short redis_port = bench::free_port();
        on.redis = bench::start_server(s.redis_server, redis_port, {"--bind", "127.0.0.1", "--save", "", "--appendonly", "no"});
        args.insert(args.end(), {"--redis", "127.0.0.1:" + std::to_string(redis_port)});
    }
    const int count = s.redis_server.empty() ? 1 : s.nodes;
    for (int n = 0; n < count; ++n) {
        on.ports.push_back(bench::free_port());
        auto node_args = args;
        if (on.redis > 0) node_args.insert(node_args.end(), {"--node", "n" + std::to_string(n)});
        on.nodes.push_back(bench::start_server(s.server, on.ports.back(), node_args));
    }
    for (const unsigned short port : on.ports) {
        for (int i = 0; on.redis > 0 && i < 500 && !in_sync(port); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return on;
}

}  // namespace

int main(int argc, char** argv) {
    settings s;
    std::vector<transport> transports{transport::websocket, transport::sse, transport::long_poll, transport::short_poll};
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--server" && has_value) s.server = argv[++i];
        else if (arg == "--server-arg" && has_value) s.server_args.push_back(argv[++i]);
        else if (arg == "--redis-server" && has_value) s.redis_server = argv[++i];
        else if (arg == "--nodes" && has_value) s.nodes = std::max(1, std::atoi(argv[++i]));
        else if (arg == "--clients" && has_value) s.clients = std::max(1, std::atoi(argv[++i]));
        else if (arg == "--rate" && has_value) s.rate = std::max(0.1, std::atof(argv[++i]));
        else if (arg == "--size" && has_value) s.size = std::strtoul(argv[++i], nullptr, 10);
        else if (arg == "--seconds" && has_value) s.seconds = std::atof(argv[++i]);
        else if (arg == "--warmup" && has_value) s.warmup = std::atof(argv[++i]);
        else if (arg == "--repeat" && has_value) s.repeat = std::max(1, std::atoi(argv[++i]));
        else if (arg == "--poll-interval-ms" && has_value) s.poll_interval_ns = std::max(1L, std::atol(argv[++i])) * 1'000'000;
        else if (arg == "--headers" && has_value) s.browser_headers = std::string_view(argv[++i]) != "minimal";
        else if (arg == "--body" && has_value) s.json_body = std::string_view(argv[++i]) == "json";
        else if (arg == "--transports" && has_value) {
            transports.clear();
            const std::string list = std::string(argv[++i]) + ',';
            for (std::size_t from = 0, to; (to = list.find(',', from)) != std::string::npos; from = to + 1) {
                const auto name = list.substr(from, to - from);
                const auto known = std::find(transport_names.begin(), transport_names.end(), name);
                if (known == transport_names.end()) return std::fprintf(stderr, "unknown transport: %s\n", name.c_str()), 2;
                transports.push_back(static_cast<transport>(known - transport_names.begin()));
            }
        } else {
            std::fprintf(stderr,
                         "usage: herald_bench_transport_load --server LIVE_SERVER [--clients N] [--rate M] [--size S]\n"
                         "       [--seconds T] [--warmup T] [--repeat R] [--poll-interval-ms I] [--headers browser|minimal]\n"
                         "       [--transports websocket,sse,long-poll,short-poll] [--server-arg A]...\n"
                         "       [--redis-server PATH [--nodes N]] [--body dots|json]\n"
                         "       (transports also ws-deflate-once, ws-deflate-each)\n");
            return 2;
        }
    }
    if (s.server.empty()) return std::fprintf(stderr, "--server: the live_server binary\n"), 2;
    bench::raise_descriptor_limit();
    bench::pin_to(1);
    std::printf("%d subscribers, %.0f messages/s of %zu bytes, %g s each (after %g s warm-up), median of %d; short polls "
                "every %lld ms; %s request fields; server on CPU 0, client on CPU 1\n",
                s.clients, s.rate, s.size, s.seconds, s.warmup, s.repeat, static_cast<long long>(s.poll_interval_ns / 1'000'000),
                s.browser_headers ? "browser" : "minimal");
    if (!s.redis_server.empty()) std::printf("%d live_server nodes on one redis-server, all on CPU 0\n", s.nodes);
    std::printf("%-15s %12s %9s %9s %6s %11s %12s %9s %11s %11s %7s%s\n", "transport", "delivered/s", "p50 ms", "p99 ms", "busy",
                "cpu us/msg", "user us/msg", "req/msg", "down B/msg", "up B/msg", "errors", s.redis_server.empty() ? "" : " redis us/msg");
    std::vector<std::vector<result>> rounds(transports.size());
    for (int round = 0; round < s.repeat; ++round) {
        for (std::size_t i = 0; i < transports.size(); ++i) {  // interleaved: drift hits every transport alike
            const servers on = start_servers(s, transports[i]);
            rounds[i].push_back(load(s, transports[i], on).run());
            for (const pid_t node : on.nodes) bench::stop_server(node);
            if (on.redis > 0) bench::stop_server(on.redis);
        }
    }
    std::uint64_t all_errors = 0;
    for (std::size_t i = 0; i < transports.size(); ++i) {
        const auto median = [&](double result::*field) {
            std::vector<double> values;
            for (const auto& r : rounds[i]) values.push_back(r.*field);
            std::sort(values.begin(), values.end());
            return values[values.size() / 2];
        };
        std::uint64_t errors = 0;
        for (const auto& r : rounds[i]) errors += r.errors + (r.delivered_per_second > 0 ? 0 : 1);  // nothing delivered: broken
        all_errors += errors;
        std::printf("%-15s %12.0f %9.2f %9.2f %5.1f%% %11.2f %12.2f %9.3f %11.1f %11.1f %7llu",
                    transport_names[static_cast<std::size_t>(transports[i])], median(&result::delivered_per_second),
                    median(&result::p50_ms), median(&result::p99_ms), median(&result::server_busy) * 100,
                    median(&result::server_us_per_message), median(&result::server_user_us_per_message),
                    median(&result::requests_per_message),
                    median(&result::bytes_down_per_message), median(&result::bytes_up_per_message),
                    static_cast<unsigned long long>(errors));
        if (!s.redis_server.empty()) std::printf(" %12.2f", median(&result::redis_us_per_message));
        std::printf("\n");
    }
    // The spread over the rounds of what a delivered message cost, min / median / max.
    std::printf("\n%-15s %26s %26s %26s\n", "transport", "cpu us/msg min/med/max", "p50 ms min/med/max",
                "down B/msg min/med/max");
    for (std::size_t i = 0; i < transports.size(); ++i) {
        const auto spread = [&](double result::*field) {
            std::vector<double> v;
            for (const auto& r : rounds[i]) v.push_back(r.*field);
            std::sort(v.begin(), v.end());
            char text[64];
            std::snprintf(text, sizeof text, "%.2f / %.2f / %.2f", v.front(), v[v.size() / 2], v.back());
            return std::string(text);
        };
        std::printf("%-15s %26s %26s %26s\n", transport_names[static_cast<std::size_t>(transports[i])],
                    spread(&result::server_us_per_message).c_str(), spread(&result::p50_ms).c_str(),
                    spread(&result::bytes_down_per_message).c_str());
    }
    // A run with errors measured something broken: say so in the exit status (the
    // test suite runs this tool briefly as a check that no transport loses a message).
    return all_errors ? 1 : 0;
}
