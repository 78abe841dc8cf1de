// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.

// HTTP/1.1 request parsing: herald::http::request_parser against raw llhttp and
// Boost.Beast, on the same bytes, in one run.
//
// What is compared. One corpus of six realistic requests: three browser GETs
// (Chrome navigation, Firefox script, Safari fetch; 11-16 fields each with cookies
// and user agents), a POST with a small JSON body, a chunked POST and a WebSocket
// upgrade. Each contestant parses it two ways:
//   pipelined  the six requests in one buffer, as one read of a pipelining client
//   separate   each request in a buffer of its own, as one read per request
// plus each request alone (`one:<name>`), which says where a difference comes from.
//
// The contestants, and why the comparison is fair:
//   herald       one request_parser per connection, reused for every request and every
//                iteration, pulled with next() until need_more; the benchmark reads
//                target(), fields().size() and the body event's size, copying nothing.
//                The upgrade is declined (next() is called again), so the same parser
//                goes on with the next request.
//   llhttp       the floor: the same llhttp object code herald links, one llhttp_t per
//                connection, no pausing, callbacks that record what herald's events
//                carry (target span, every field's name and value spans, body spans,
//                version, keep-alive, upgrade) into a fixed array, copying nothing.
//                herald/llhttp is therefore exactly what the wrapper costs: its pauses,
//                its owned copy of the head (DESIGN.md: parsers own a buffer reused
//                across messages), its limits and its checks.
//   beast        boost::beast::http::request_parser<string_body>, the parser Beast's
//                http::read uses and what a Beast server writes. A Beast parser is
//                single-use, so there is a fresh one per request (as http::read does);
//                eager(true) so one put() parses head and body; the same limits as
//                herald (16 KiB head, 1 MiB body). It owns what it parses, as herald
//                does for the head; unlike herald it also copies the body into the
//                std::string — string_body because it is the idiomatic choice and the
//                bodies here are small (<= 273 bytes), so the copy is not what is timed.
//   beast_basic  a beast::http::basic_parser<true> whose callbacks only count, like the
//                llhttp row: Beast's own floor, to tell its parsing from its message
//                building.
// Before any timing, every contestant parses every corpus three times over one
// connection and its tally (requests, fields, target bytes, body bytes, upgrades) must
// match the corpus: no row can be fast by skipping work, and a parser that mishandles
// reuse (or the declined upgrade) stops the run. Items are requests, bytes are the
// request bytes fed. Figures and commands: docs/benchmarks.md, "HTTP parsing".

#include <herald/http/parser.hpp>

#include <llhttp.h>

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

namespace beast = boost::beast;
namespace http = herald::http;

// ---------------------------------------------------------------------------------------
// The corpus

struct request_spec {
    std::string name;
    std::string start_line;  // without CRLF
    std::string target;
    std::vector<std::pair<std::string, std::string>> fields;  // excluding the framing field
    std::vector<std::string> chunks;  // body; one piece and Content-Length unless chunked
    bool chunked = false;
    bool upgrade = false;
};

// What parsing a buffer must yield; every contestant fills one, and they must agree.
struct tally {
    std::uint64_t requests = 0;
    std::uint64_t fields = 0;
    std::uint64_t target_bytes = 0;
    std::uint64_t body_bytes = 0;
    std::uint64_t upgrades = 0;
    bool operator==(const tally&) const = default;
};

struct built_request {
    std::string name;
    std::string bytes;
    tally expect;
};

built_request build(const request_spec& s) {
    built_request r{s.name, s.start_line + "\r\n", {}};
    std::string body;
    for (const auto& c : s.chunks) body += c;
    for (const auto& [name, value] : s.fields) r.bytes += name + ": " + value + "\r\n";
    std::size_t field_count = s.fields.size();
    if (s.chunked) {
        r.bytes += "Transfer-Encoding: chunked\r\n\r\n";
        for (const auto& c : s.chunks) {
            char size[32];
            std::snprintf(size, sizeof size, "%zx\r\n", c.size());
            r.bytes += size + c + "\r\n";
        }
        r.bytes += "0\r\n\r\n";
        ++field_count;
    } else if (!body.empty()) {
        r.bytes += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        ++field_count;
    } else {
        r.bytes += "\r\n";
    }
    r.expect = {1, field_count, s.target.size(), body.size(), s.upgrade ? 1u : 0u};
    return r;
}

const std::string cookies =
    "_ga=GA1.1.1283640924.1712132419; _ga_Q8XG5N2TLK=GS1.1.1714390000.12.1.1714390123.0.0.0; "
    "session=eyJ1aWQiOjQ4MTUxNjIzNDIsInJvbGUiOiJtZW1iZXIiLCJleHAiOjE3MTQ0NzY1MjN9.Zk3q9sV1mR0b7T2xWcQh8nYpLJ4aE6uD; "
    "csrftoken=9f2c7a1e4b8d3f6a0c5e2b7d9a1f4c8e; theme=dark; lang=en-GB";

std::vector<request_spec> corpus_specs() {
    std::vector<request_spec> specs;
    specs.push_back({"chrome_get", "GET /dashboard?tab=activity&range=7d HTTP/1.1", "/dashboard?tab=activity&range=7d",
                     {{"Host", "app.example.com"},
                      {"Connection", "keep-alive"},
                      {"sec-ch-ua", "\"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\""},
                      {"sec-ch-ua-mobile", "?0"},
                      {"sec-ch-ua-platform", "\"Windows\""},
                      {"Upgrade-Insecure-Requests", "1"},
                      {"User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                                     "Chrome/124.0.0.0 Safari/537.36"},
                      {"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
                                 "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"},
                      {"Sec-Fetch-Site", "same-origin"},
                      {"Sec-Fetch-Mode", "navigate"},
                      {"Sec-Fetch-User", "?1"},
                      {"Sec-Fetch-Dest", "document"},
                      {"Referer", "https://app.example.com/login?next=%2Fdashboard"},
                      {"Accept-Encoding", "gzip, deflate, br, zstd"},
                      {"Accept-Language", "en-GB,en-US;q=0.9,en;q=0.8"},
                      {"Cookie", cookies}},
                     {}});
    specs.push_back({"firefox_get", "GET /static/js/app.4f9c2d1e.js HTTP/1.1", "/static/js/app.4f9c2d1e.js",
                     {{"Host", "app.example.com"},
                      {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"},
                      {"Accept", "*/*"},
                      {"Accept-Language", "en-GB,en;q=0.5"},
                      {"Accept-Encoding", "gzip, deflate, br"},
                      {"Referer", "https://app.example.com/dashboard?tab=activity&range=7d"},
                      {"Connection", "keep-alive"},
                      {"Cookie", cookies},
                      {"Sec-Fetch-Dest", "script"},
                      {"Sec-Fetch-Mode", "no-cors"},
                      {"Sec-Fetch-Site", "same-origin"},
                      {"If-None-Match", "W/\"5e1b-18f2a9c3d40\""}},
                     {}});
    specs.push_back({"safari_fetch", "GET /api/v1/notifications?since=1714390000&limit=50 HTTP/1.1",
                     "/api/v1/notifications?since=1714390000&limit=50",
                     {{"Host", "app.example.com"},
                      {"Accept", "application/json"},
                      {"Sec-Fetch-Site", "same-origin"},
                      {"Accept-Language", "en-GB,en;q=0.9"},
                      {"Accept-Encoding", "gzip, deflate, br"},
                      {"Sec-Fetch-Mode", "cors"},
                      {"User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
                                     "(KHTML, like Gecko) Version/17.4.1 Safari/605.1.15"},
                      {"Referer", "https://app.example.com/dashboard?tab=activity&range=7d"},
                      {"Connection", "keep-alive"},
                      {"Sec-Fetch-Dest", "empty"},
                      {"Cookie", cookies}},
                     {}});
    specs.push_back({"post_json", "POST /api/v1/messages HTTP/1.1", "/api/v1/messages",
                     {{"Host", "app.example.com"},
                      {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"},
                      {"Accept", "application/json"},
                      {"Accept-Language", "en-GB,en;q=0.5"},
                      {"Accept-Encoding", "gzip, deflate, br"},
                      {"Content-Type", "application/json"},
                      {"X-CSRFToken", "9f2c7a1e4b8d3f6a0c5e2b7d9a1f4c8e"},
                      {"Origin", "https://app.example.com"},
                      {"Connection", "keep-alive"},
                      {"Cookie", cookies}},
                     {R"({"room":"general","text":"Deploy finished: 42 services green, 0 red.","client_id":"c0f1e2d3","reply_to":null})"}});
    specs.push_back({"chunked_post", "POST /ingest/logs?source=edge-7 HTTP/1.1", "/ingest/logs?source=edge-7",
                     {{"Host", "collector.example.com"},
                      {"User-Agent", "fluent-bit/3.0.2"},
                      {"Content-Type", "application/x-ndjson"},
                      {"Accept", "*/*"},
                      {"Authorization", "Bearer 8c6f1d2e9a7b4c3d5e0f1a2b3c4d5e6f"}},
                     {R"({"ts":"2024-04-29T11:02:03Z","level":"info","msg":"request served","status":200,"ms":3})" "\n",
                      R"({"ts":"2024-04-29T11:02:04Z","level":"warn","msg":"slow upstream","upstream":"billing","ms":812})" "\n",
                      R"({"ts":"2024-04-29T11:02:04Z","level":"info","msg":"request served","status":204,"ms":1})" "\n"},
                     true});
    specs.push_back({"websocket_upgrade", "GET /ws/chat?room=general HTTP/1.1", "/ws/chat?room=general",
                     {{"Host", "app.example.com"},
                      {"Connection", "Upgrade"},
                      {"Pragma", "no-cache"},
                      {"Cache-Control", "no-cache"},
                      {"User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                                     "Chrome/124.0.0.0 Safari/537.36"},
                      {"Upgrade", "websocket"},
                      {"Origin", "https://app.example.com"},
                      {"Sec-WebSocket-Version", "13"},
                      {"Accept-Encoding", "gzip, deflate, br, zstd"},
                      {"Accept-Language", "en-GB,en-US;q=0.9,en;q=0.8"},
                      {"Cookie", cookies},
                      {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                      {"Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"}},
                     {},
                     false,
                     true});
    return specs;
}

// A corpus is the buffers one connection receives, in order, and what they must yield.
struct corpus {
    std::vector<std::string> buffers;
    tally expect;
    std::size_t bytes = 0;
};

tally operator+(tally a, const tally& b) {
    a.requests += b.requests;
    a.fields += b.fields;
    a.target_bytes += b.target_bytes;
    a.body_bytes += b.body_bytes;
    a.upgrades += b.upgrades;
    return a;
}

const std::vector<built_request>& requests() {
    static const std::vector<built_request> all = [] {
        std::vector<built_request> v;
        for (const auto& s : corpus_specs()) v.push_back(build(s));
        return v;
    }();
    return all;
}

corpus pipelined_corpus() {
    corpus c;
    c.buffers.emplace_back();
    for (const auto& r : requests()) {
        c.buffers.front() += r.bytes;
        c.expect = c.expect + r.expect;
    }
    c.bytes = c.buffers.front().size();
    return c;
}

corpus separate_corpus() {
    corpus c;
    for (const auto& r : requests()) {
        c.buffers.push_back(r.bytes);
        c.expect = c.expect + r.expect;
        c.bytes += r.bytes.size();
    }
    return c;
}

corpus one_request_corpus(const built_request& r) { return {{r.bytes}, r.expect, r.bytes.size()}; }

constexpr std::size_t max_head_bytes = 16 * 1024;  // herald's default limits, given to all
constexpr std::uint64_t max_body_bytes = 1024 * 1024;
constexpr std::size_t max_fields = 100;

// ---------------------------------------------------------------------------------------
// herald

class herald_connection {
public:
    static constexpr const char* name = "herald";

    // Pulls every event out of `in`. False on any parse error.
    bool feed(std::string_view in, tally& t) noexcept {
        while (true) {
            const http::event ev = parser_.next(in);
            switch (ev.type) {
            case http::event_type::head:
                t.fields += parser_.fields().size();
                t.target_bytes += parser_.target().size();
                break;
            case http::event_type::body: t.body_bytes += ev.data.size(); break;
            case http::event_type::end_of_message: ++t.requests; break;
            case http::event_type::upgrade: ++t.upgrades; break;  // declined: go on with HTTP
            case http::event_type::need_more: return true;
            default: return false;
            }
        }
    }

private:
    http::request_parser parser_;  // one per connection, reused for every request
};

// ---------------------------------------------------------------------------------------
// raw llhttp: what herald's events carry, recorded as spans, with no pausing

class llhttp_connection {
public:
    static constexpr const char* name = "llhttp";

    llhttp_connection() noexcept {
        llhttp_settings_init(&settings_);
        settings_.on_message_begin = [](llhttp_t* p) { return self(p).on_message_begin(); };
        settings_.on_url = [](llhttp_t* p, const char* at, std::size_t n) { return extend(self(p).url_, at, n); };
        settings_.on_header_field = [](llhttp_t* p, const char* at, std::size_t n) { return self(p).on_field_name(at, n); };
        settings_.on_header_field_complete = [](llhttp_t* p) { return self(p).name_open_ = false, 0; };
        settings_.on_header_value = [](llhttp_t* p, const char* at, std::size_t n) {
            auto& c = self(p);
            return extend(c.fields_[c.field_count_ - 1].value, at, n);
        };
        settings_.on_headers_complete = [](llhttp_t* p) { return self(p).on_headers_complete(); };
        settings_.on_body = [](llhttp_t* p, const char* at, std::size_t n) { return self(p).on_body(at, n); };
        settings_.on_message_complete = [](llhttp_t* p) { return self(p).on_message_complete(); };
        llhttp_init(&parser_, HTTP_REQUEST, &settings_);
        parser_.data = this;
    }
    llhttp_connection(const llhttp_connection&) = delete;
    llhttp_connection& operator=(const llhttp_connection&) = delete;

    bool feed(std::string_view in, tally& t) noexcept {
        tally_ = &t;
        const char* at = in.data();
        std::size_t n = in.size();
        while (true) {
            const llhttp_errno_t err = llhttp_execute(&parser_, at, n);
            if (err == HPE_OK) return true;
            if (err != HPE_PAUSED_UPGRADE) return false;
            // Declined, as in the herald row: go on parsing HTTP after the upgrade.
            const char* resume_at = llhttp_get_error_pos(&parser_);
            llhttp_resume_after_upgrade(&parser_);
            n -= static_cast<std::size_t>(resume_at - at);
            at = resume_at;
            if (n == 0) return true;
        }
    }

private:
    struct span {
        const char* at = nullptr;
        std::size_t size = 0;
    };
    struct field {
        span name, value;
    };

    static llhttp_connection& self(llhttp_t* p) noexcept { return *static_cast<llhttp_connection*>(p->data); }

    // llhttp reports a span in pieces when it straddles two execute calls.
    static int extend(span& s, const char* at, std::size_t n) noexcept {
        if (s.at == nullptr) s.at = at;
        s.size += n;
        return 0;
    }

    int on_message_begin() noexcept {
        url_ = {};
        field_count_ = 0;
        name_open_ = false;
        return 0;
    }

    int on_field_name(const char* at, std::size_t n) noexcept {
        if (!name_open_) {
            if (field_count_ == max_fields) return -1;
            fields_[field_count_++] = {};
            name_open_ = true;
        }
        return extend(fields_[field_count_ - 1].name, at, n);
    }

    int on_headers_complete() noexcept {
        version_ = llhttp_get_http_major(&parser_) * 10u + llhttp_get_http_minor(&parser_);
        keep_alive_ = llhttp_should_keep_alive(&parser_) != 0;
        upgrade_ = llhttp_get_upgrade(&parser_) != 0;
        tally_->fields += field_count_;
        tally_->target_bytes += url_.size;
        return 0;
    }

    int on_body(const char* at, std::size_t n) noexcept {
        body_ = {at, n};
        tally_->body_bytes += n;
        return 0;
    }

    int on_message_complete() noexcept {
        ++tally_->requests;
        tally_->upgrades += llhttp_get_upgrade(&parser_) != 0 ? 1 : 0;
        return 0;
    }

    llhttp_t parser_{};
    llhttp_settings_t settings_{};
    tally* tally_ = nullptr;
    span url_;
    std::array<field, max_fields> fields_{};
    std::size_t field_count_ = 0;
    span body_;
    unsigned version_ = 0;
    bool name_open_ = false;
    bool keep_alive_ = false;
    bool upgrade_ = false;
};

// ---------------------------------------------------------------------------------------
// Boost.Beast

// Parses one request off the front of `in` with herald's limits; false on error.
template <class Parser>
bool parse_one(Parser& p, std::string_view& in) {
    p.header_limit(static_cast<std::uint32_t>(max_head_bytes));
    p.body_limit(max_body_bytes);
    p.eager(true);
    beast::error_code ec;
    while (!p.is_done()) {
        const std::size_t used = p.put(boost::asio::const_buffer(in.data(), in.size()), ec);
        if (ec) return false;
        in.remove_prefix(used);
    }
    return true;
}

// Idiomatic: request_parser<string_body>, a fresh one per request

class beast_connection {
public:
    static constexpr const char* name = "beast";

    bool feed(std::string_view in, tally& t) {
        while (!in.empty()) {
            beast::http::request_parser<beast::http::string_body> p;
            if (!parse_one(p, in)) return false;
            const auto& m = p.get();
            // Beast's fields are a linked list with no size(); counting them is for the
            // check run only, so the timed rows do not pay for a walk herald does not need.
            if (count_fields) t.fields += static_cast<std::uint64_t>(std::distance(m.begin(), m.end()));
            t.target_bytes += m.target().size();
            t.body_bytes += m.body().size();
            t.upgrades += p.upgrade() ? 1 : 0;
            ++t.requests;
        }
        return true;
    }

    bool count_fields = false;
};

// ---------------------------------------------------------------------------------------
// Boost.Beast's floor: basic_parser with callbacks that only count

class beast_counting_parser final : public beast::http::basic_parser<true> {
public:
    explicit beast_counting_parser(tally& t) noexcept : t_(t) {}

private:
    void on_request_impl(beast::http::verb, beast::string_view, beast::string_view target, int,
                         beast::error_code&) override {
        t_.target_bytes += target.size();
    }
    void on_response_impl(int, beast::string_view, int, beast::error_code&) override {}
    void on_field_impl(beast::http::field, beast::string_view, beast::string_view, beast::error_code&) override {
        ++t_.fields;
    }
    void on_header_impl(beast::error_code&) override {}
    void on_body_init_impl(const boost::optional<std::uint64_t>&, beast::error_code&) override {}
    std::size_t on_body_impl(beast::string_view body, beast::error_code&) override {
        t_.body_bytes += body.size();
        return body.size();
    }
    void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, beast::error_code&) override {
        t_.body_bytes += body.size();
        return body.size();
    }
    void on_finish_impl(beast::error_code&) override { ++t_.requests; }

    tally& t_;
};

class beast_basic_connection {
public:
    static constexpr const char* name = "beast_basic";

    bool feed(std::string_view in, tally& t) {
        while (!in.empty()) {
            beast_counting_parser p{t};
            if (!parse_one(p, in)) return false;
            t.upgrades += p.upgrade() ? 1 : 0;
        }
        return true;
    }
};

// ---------------------------------------------------------------------------------------
// The benchmark and its check

template <class Connection>
void bench(benchmark::State& state, const corpus& c) {
    Connection conn;  // one connection for the whole run: parsers are reused where they can be
    tally t;
    for (auto _ : state) {
        for (const auto& buffer : c.buffers)
            if (!conn.feed(buffer, t)) {
                state.SkipWithError("parse error");
                return;
            }
        benchmark::DoNotOptimize(t);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * c.expect.requests));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * c.bytes));
}

// Runs the corpus three times through one connection, so a parser that mishandles
// being reused (state left over from the last request or the upgrade) fails here.
template <class Connection>
bool check(const std::string& corpus_name, const corpus& c) {
    Connection conn;
    if constexpr (requires { conn.count_fields; }) conn.count_fields = true;
    constexpr int rounds = 3;
    tally got;
    for (int i = 0; i < rounds; ++i)
        for (const auto& buffer : c.buffers)
            if (!conn.feed(buffer, got)) {
                std::fprintf(stderr, "%s/%s: parse error\n", Connection::name, corpus_name.c_str());
                return false;
            }
    tally want;
    for (int i = 0; i < rounds; ++i) want = want + c.expect;
    if (!(got == want)) {
        std::fprintf(stderr,
                     "%s/%s: got requests=%llu fields=%llu target=%llu body=%llu upgrades=%llu, "
                     "want %llu %llu %llu %llu %llu\n",
                     Connection::name, corpus_name.c_str(), (unsigned long long)got.requests,
                     (unsigned long long)got.fields, (unsigned long long)got.target_bytes,
                     (unsigned long long)got.body_bytes, (unsigned long long)got.upgrades,
                     (unsigned long long)want.requests, (unsigned long long)want.fields,
                     (unsigned long long)want.target_bytes, (unsigned long long)want.body_bytes,
                     (unsigned long long)want.upgrades);
        return false;
    }
    return true;
}

template <class Connection>
bool register_for(const std::vector<std::pair<std::string, corpus>>& corpora) {
    bool ok = true;
    for (const auto& [corpus_name, c] : corpora) {
        ok = check<Connection>(corpus_name, c) && ok;
        const std::string bench_name = std::string("http_parse/") + Connection::name + "/" + corpus_name;
        benchmark::RegisterBenchmark(bench_name.c_str(), [&c = c](benchmark::State& s) { bench<Connection>(s, c); });
    }
    return ok;
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

    // Static: the registered lambdas refer to the corpora for the whole run.
    static const std::vector<std::pair<std::string, corpus>> corpora = [] {
        std::vector<std::pair<std::string, corpus>> v{{"pipelined", pipelined_corpus()},
                                                      {"separate", separate_corpus()}};
        for (const auto& r : requests()) v.emplace_back("one:" + r.name, one_request_corpus(r));
        return v;
    }();

    bool ok = register_for<herald_connection>(corpora);
    ok = register_for<llhttp_connection>(corpora) && ok;
    ok = register_for<beast_connection>(corpora) && ok;
    ok = register_for<beast_basic_connection>(corpora) && ok;
    if (!ok) {
        std::fprintf(stderr, "a parser disagrees with the corpus: no figures\n");
        return 1;
    }
    benchmark::AddCustomContext("corpus", std::to_string(corpora.front().second.expect.requests) + " requests, " +
                                              std::to_string(corpora.front().second.bytes) + " bytes");
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
