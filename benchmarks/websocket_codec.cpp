// WebSocket hot paths side by side: unmasking (RFC 6455 §5.3), frame decode +
// unmask, and UTF-8 validation of text (§8.1) — herald against Boost.Beast's
// implementations of the same steps, in the same binary and run, with memcpy of
// the same bytes as the ceiling.
//
//   herald_bench_websocket_codec --benchmark_repetitions=10 --benchmark_enable_random_interleaving=true
//       --benchmark_report_aggregates_only=true  (one command)
#include <herald/websocket/frame.hpp>
#include <herald/websocket/mask.hpp>
#include <herald/websocket/utf8.hpp>

#include <boost/beast/websocket/detail/mask.hpp>
#include <boost/beast/websocket/detail/utf8_checker.hpp>

#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

namespace ws = herald::websocket;
namespace beast_ws = boost::beast::websocket::detail;

namespace {

const ws::mask_key key{0x37, 0xfa, 0x21, 0x3d};

std::vector<char> payload(std::size_t size) {
    std::vector<char> out(size);
    for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>(i * 131 + 7);
    return out;
}

void set_bytes(benchmark::State& state, std::size_t size) {
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
}

void unmask_herald(benchmark::State& state) {
    auto data = payload(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        ws::apply_mask(data.data(), data.size(), key);
        benchmark::ClobberMemory();
    }
    set_bytes(state, data.size());
}

void unmask_beast(benchmark::State& state) {
    auto data = payload(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        beast_ws::prepared_key prepared{key[0], key[1], key[2], key[3]};
        beast_ws::mask_inplace(boost::asio::mutable_buffer(data.data(), data.size()), prepared);
        benchmark::ClobberMemory();
    }
    set_bytes(state, data.size());
}

void copy_memcpy(benchmark::State& state) {
    auto data = payload(static_cast<std::size_t>(state.range(0)));
    std::vector<char> out(data.size());
    for (auto _ : state) {
        std::memcpy(out.data(), data.data(), data.size());
        benchmark::ClobberMemory();
    }
    set_bytes(state, data.size());
}

// A masked client frame of the given payload size: header then payload.
std::string masked_frame(std::size_t size) {
    ws::frame_header h{true, 0, ws::opcode::binary, true, size, key};
    char head[ws::max_header_size];
    std::string wire(head, ws::write_header(h, head));
    const auto body = payload(size);
    wire.append(body.data(), body.size());
    return wire;
}

void decode_unmask_herald(benchmark::State& state) {
    const std::string wire = masked_frame(static_cast<std::size_t>(state.range(0)));
    std::vector<char> out(wire.size());
    for (auto _ : state) {
        ws::frame_header h;
        std::error_code ec;
        const std::size_t n = ws::read_header(wire, h, ws::role::server, ec);
        std::memcpy(out.data(), wire.data() + n, h.length);  // into the message, as the connection does
        ws::apply_mask(out.data(), h.length, h.key);
        benchmark::ClobberMemory();
    }
    set_bytes(state, wire.size());
}

std::string text(std::size_t size, bool ascii) {
    const std::string unit = ascii ? "The quick brown fox jumps over the lazy dog. 0123456789 {\"k\":\"v\"}\n"
                                   : "Grüße, 世界! Ελληνικά — ok 😀 {\"k\":\"é\"} plain ascii run here\n";
    std::string out;
    while (out.size() + unit.size() <= size) out += unit;
    return out;
}

void utf8_herald(benchmark::State& state) {
    const std::string t = text(1 << 20, state.range(0) == 0);
    for (auto _ : state) {
        ws::utf8_validator v;
        benchmark::DoNotOptimize(v.feed(t) && v.finish());
    }
    set_bytes(state, t.size());
}

void utf8_beast(benchmark::State& state) {
    const std::string t = text(1 << 20, state.range(0) == 0);
    for (auto _ : state) {
        beast_ws::utf8_checker v;
        benchmark::DoNotOptimize(v.write(reinterpret_cast<const std::uint8_t*>(t.data()), t.size()) && v.finish());
    }
    set_bytes(state, t.size());
}

}  // namespace

BENCHMARK(unmask_herald)->Arg(16)->Arg(1024)->Arg(64 * 1024)->Arg(1 << 20);
BENCHMARK(unmask_beast)->Arg(16)->Arg(1024)->Arg(64 * 1024)->Arg(1 << 20);
BENCHMARK(copy_memcpy)->Arg(16)->Arg(1024)->Arg(64 * 1024)->Arg(1 << 20);
BENCHMARK(decode_unmask_herald)->Arg(16)->Arg(1024)->Arg(64 * 1024)->Arg(1 << 20);
BENCHMARK(utf8_herald)->Arg(0)->Arg(1);  // 0: ASCII, 1: mixed
BENCHMARK(utf8_beast)->Arg(0)->Arg(1);
BENCHMARK_MAIN();
