// Throughput of sse::event_parser (WHATWG HTML §9.2.6) on a realistic stream,
// against the floor any event-stream reader pays: finding every line end with
// memchr and nothing else. The ratio is the cost of the field rules, the data
// buffer and the dispatch.
//
//   herald_bench_sse_parse --benchmark_repetitions=10 --benchmark_enable_random_interleaving=true
#include <herald/sse/parser.hpp>
#include <herald/sse/serializer.hpp>

#include <benchmark/benchmark.h>

#include <cstring>
#include <string>

namespace {

// 1,000 events as a notification or dashboard stream carries them: an id on each, a
// type on some, one JSON data line of 60-300 bytes, a two-line event now and then,
// a keep-alive comment every 50 events. CRLF line ends on a third of them.
const std::string& corpus() {
    static const std::string stream = [] {
        std::string out;
        for (int i = 0; i < 1000; ++i) {
            std::string data = R"({"seq":)" + std::to_string(i) + R"(,"user":"user-)" + std::to_string(i % 97) +
                               R"(","text":")" + std::string(static_cast<std::size_t>(40 + (i * 37) % 240), 'x') + "\"}";
            if (i % 10 == 0) data += "\nsecond line";
            const std::string id = "ep-" + std::to_string(i);
            herald::sse::event ev{i % 3 == 0 ? "update" : "", data, id, std::nullopt};
            std::string one;
            herald::sse::serialize(ev, one);
            if (i % 3 == 1) {
                std::string crlf;
                for (char c : one) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
                one = crlf;
            }
            out += one;
            if (i % 50 == 0) herald::sse::serialize_comment("", out);
        }
        return out;
    }();
    return stream;
}

void herald_parser(benchmark::State& state) {
    const std::string& input = corpus();
    herald::sse::event_parser parser;
    std::size_t events = 0;
    for (auto _ : state) {
        parser.reset();
        std::string_view view{input};
        while (true) {
            const auto r = parser.next(view);
            if (r == herald::sse::parse_result::need_more) break;
            if (r == herald::sse::parse_result::event) {
                benchmark::DoNotOptimize(parser.data().data());
                ++events;
            }
        }
    }
    benchmark::DoNotOptimize(events);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input.size()));
}

void memchr_lines(benchmark::State& state) {
    const std::string& input = corpus();
    std::size_t lines = 0;
    for (auto _ : state) {
        const char* p = input.data();
        const char* const end = p + input.size();
        while (const void* found = std::memchr(p, '\n', static_cast<std::size_t>(end - p))) {
            p = static_cast<const char*>(found) + 1;
            ++lines;
        }
        benchmark::DoNotOptimize(lines);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input.size()));
}

}  // namespace

BENCHMARK(herald_parser);
BENCHMARK(memchr_lines);
BENCHMARK_MAIN();
