// permessage-deflate (RFC 7692) side by side with zlib called directly (the
// ceiling: herald's codec is zlib plus framing): compressing a message afresh
// and with context takeover, inflating it through the codec and through a whole
// server connection (unmasking and UTF-8 checking included), and the memory a
// connection holds after one message each way.
//
//   herald_bench_deflate_codec --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
//       --benchmark_report_aggregates_only=true  (one command)
#include <herald/websocket/connection.hpp>
#include <herald/websocket/deflate_codec.hpp>

#include <benchmark/benchmark.h>

#include <zlib.h>

#include <malloc.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace ws = herald::websocket;

namespace {

// Message k of about `size` bytes: JSON quotes whose numbers change from message
// to message, as a ticker's do.
std::string quotes(std::size_t size, std::size_t k) {
    std::string out = "[";
    for (std::size_t i = 0; out.size() < size; ++i)
        out += R"({"symbol":"H)" + std::to_string(i % 50) + R"(","price":)" + std::to_string(100 + (k * 7 + i * 13) % 997) + "." +
               std::to_string((k + i) % 100) + R"(,"volume":)" + std::to_string((k * 31 + i * 17) % 100000) + "},";
    out.resize(size);
    return out;
}

std::vector<std::string> messages(std::size_t size) {
    std::vector<std::string> out;
    for (std::size_t k = 0; k < 16; ++k) out.push_back(quotes(size, k));
    return out;
}

ws::deflate_options options() {
    ws::deflate_options o;
    o.enabled = true;
    return o;
}

void set_bytes(benchmark::State& state, std::size_t size) {
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
}

// zlib with herald's settings (raw, window 15, level 6, memLevel 8), sync flush.
struct zlib_compressor {
    z_stream z{};
    std::string out;
    zlib_compressor() { deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY); }
    ~zlib_compressor() { deflateEnd(&z); }
    std::size_t compress(const std::string& in) {
        out.resize(deflateBound(&z, in.size()) + 16);
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        z.avail_in = static_cast<uInt>(in.size());
        z.next_out = reinterpret_cast<Bytef*>(out.data());
        z.avail_out = static_cast<uInt>(out.size());
        deflate(&z, Z_SYNC_FLUSH);
        return out.size() - z.avail_out - 4;
    }
};

void compress_afresh_zlib(benchmark::State& state) {
    const auto texts = messages(static_cast<std::size_t>(state.range(0)));
    zlib_compressor c;
    std::size_t k = 0, wire = 0;
    for (auto _ : state) {
        deflateReset(&c.z);
        wire += c.compress(texts[k++ % texts.size()]);
    }
    set_bytes(state, texts[0].size());
    state.counters["ratio"] = static_cast<double>(state.iterations() * texts[0].size()) / static_cast<double>(wire);
}

void compress_afresh_herald(benchmark::State& state) {
    const auto texts = messages(static_cast<std::size_t>(state.range(0)));
    const auto o = options();
    std::string out;
    std::size_t k = 0, wire = 0;
    for (auto _ : state) {
        ws::compress_message(texts[k++ % texts.size()], 15, o, out);
        wire += out.size();
    }
    set_bytes(state, texts[0].size());
    state.counters["ratio"] = static_cast<double>(state.iterations() * texts[0].size()) / static_cast<double>(wire);
}

void compress_takeover_zlib(benchmark::State& state) {
    const auto texts = messages(static_cast<std::size_t>(state.range(0)));
    zlib_compressor c;
    std::size_t k = 0, wire = 0;
    for (auto _ : state) wire += c.compress(texts[k++ % texts.size()]);
    set_bytes(state, texts[0].size());
    state.counters["ratio"] = static_cast<double>(state.iterations() * texts[0].size()) / static_cast<double>(wire);
}

// A server connection's write_message with context takeover: compress and frame.
void compress_takeover_herald(benchmark::State& state) {
    const auto texts = messages(static_cast<std::size_t>(state.range(0)));
    ws::connection server(ws::role::server);
    server.enable_deflate(ws::deflate_params{}, options());
    std::string out;
    std::size_t k = 0, wire = 0;
    for (auto _ : state) {
        server.write_message(ws::opcode::text, texts[k++ % texts.size()]);
        server.take_output(out);
        wire += out.size();
    }
    set_bytes(state, texts[0].size());
    state.counters["ratio"] = static_cast<double>(state.iterations() * texts[0].size()) / static_cast<double>(wire);
}

// The 16 messages compressed afresh, the tail removed.
std::vector<std::string> compressed(std::size_t size) {
    std::vector<std::string> out;
    for (const auto& t : messages(size)) {
        out.emplace_back();
        ws::compress_message(t, 15, options(), out.back());
    }
    return out;
}

void inflate_zlib(benchmark::State& state) {
    const std::size_t size = static_cast<std::size_t>(state.range(0));
    auto wire = compressed(size);
    for (auto& w : wire) w.append(ws::deflate_tail);
    z_stream z{};
    inflateInit2(&z, -15);
    std::string out(size + 1024, '\0');
    std::size_t k = 0;
    for (auto _ : state) {
        inflateReset(&z);
        const auto& in = wire[k++ % wire.size()];
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        z.avail_in = static_cast<uInt>(in.size());
        z.next_out = reinterpret_cast<Bytef*>(out.data());
        z.avail_out = static_cast<uInt>(out.size());
        inflate(&z, Z_SYNC_FLUSH);
        benchmark::DoNotOptimize(z.avail_out);
    }
    inflateEnd(&z);
    set_bytes(state, size);
}

// A server connection reading a masked compressed client frame (the client starts
// each message afresh, herald's default): unmask, inflate, check UTF-8, deliver.
void inflate_herald_connection(benchmark::State& state) {
    const std::size_t size = static_cast<std::size_t>(state.range(0));
    std::vector<std::string> frames;
    for (const auto& c : compressed(size)) {
        const ws::frame_header h{true, 0x4, ws::opcode::text, true, c.size(), {0x37, 0xfa, 0x21, 0x3d}};
        char head[ws::max_header_size];
        std::string frame(head, ws::write_header(h, head));
        frame += c;
        ws::apply_mask(frame.data() + ws::header_size(h), c.size(), h.key);
        frames.push_back(std::move(frame));
    }
    ws::deflate_params p;
    p.server_no_context_takeover = p.client_no_context_takeover = true;
    ws::connection server(ws::role::server);
    server.enable_deflate(p, options());
    std::size_t k = 0;
    for (auto _ : state) {
        std::string_view in = frames[k++ % frames.size()];
        if (server.next(in) != ws::event_type::message) state.SkipWithError("not a message");
        benchmark::DoNotOptimize(server.data().data());
    }
    set_bytes(state, size);
}

// Heap bytes per connection after one compressed message each way, 1,000
// connections (glibc's mallinfo2), herald's server connection and a bare pair of
// zlib streams with the same settings.
template <class Make>
void memory_per_connection(benchmark::State& state, Make make) {
    for (auto _ : state) {
        const auto before = mallinfo2().uordblks;
        auto held = make(1000);
        const auto after = mallinfo2().uordblks;
        state.counters["bytes_per_connection"] = static_cast<double>(after - before) / 1000.0;
    }
}

// `deflate` false: the same exchange uncompressed, the connection's own baseline.
std::vector<std::unique_ptr<ws::connection>> herald_connections(std::size_t n, bool takeover, bool deflate = true) {
    const std::string text = quotes(4096, 1);
    std::string frame;
    {
        ws::deflate_params p;
        p.client_no_context_takeover = p.server_no_context_takeover = !takeover;
        ws::connection client(ws::role::client, {}, [] { return 0x12345678u; });
        if (deflate) client.enable_deflate(p, options());
        client.write_message(ws::opcode::text, text);
        frame = std::string(client.output());
    }
    std::vector<std::unique_ptr<ws::connection>> out;
    for (std::size_t i = 0; i < n; ++i) {
        ws::deflate_params p;
        p.client_no_context_takeover = p.server_no_context_takeover = !takeover;
        auto c = std::make_unique<ws::connection>(ws::role::server);
        if (deflate) c->enable_deflate(p, options());
        std::string_view in = frame;
        c->next(in);
        c->write_message(ws::opcode::text, text);
        c->consume_output(c->output().size());
        std::string_view none;
        c->next(none);  // the delivered message is let go of
        out.push_back(std::move(c));
    }
    return out;
}

struct zlib_pair {
    z_stream d{}, i{};
    zlib_pair() {
        deflateInit2(&d, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
        inflateInit2(&i, -15);
    }
    ~zlib_pair() {
        deflateEnd(&d);
        inflateEnd(&i);
    }
};

std::vector<std::unique_ptr<zlib_pair>> zlib_pairs(std::size_t n) {
    const std::string text = quotes(4096, 1);
    zlib_compressor c;
    c.compress(text);
    std::string wire = c.out.substr(0, c.out.size());
    std::vector<std::unique_ptr<zlib_pair>> out;
    std::string buf(8192, '\0'), sink(text.size() + 64, '\0');
    for (std::size_t k = 0; k < n; ++k) {
        auto p = std::make_unique<zlib_pair>();
        p->d.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
        p->d.avail_in = static_cast<uInt>(text.size());
        p->d.next_out = reinterpret_cast<Bytef*>(buf.data());
        p->d.avail_out = static_cast<uInt>(buf.size());
        deflate(&p->d, Z_SYNC_FLUSH);
        p->i.next_in = reinterpret_cast<Bytef*>(buf.data());
        p->i.avail_in = static_cast<uInt>(buf.size() - p->d.avail_out);
        p->i.next_out = reinterpret_cast<Bytef*>(sink.data());
        p->i.avail_out = static_cast<uInt>(sink.size());
        inflate(&p->i, Z_SYNC_FLUSH);
        out.push_back(std::move(p));
    }
    return out;
}

}  // namespace

// Each timing reported with its spread over the repetitions, not only the median.
void spread(benchmark::internal::Benchmark* b) {
    b->Arg(256)->Arg(4096)->Arg(65536);
    b->ComputeStatistics("min", [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); });
    b->ComputeStatistics("max", [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); });
}

BENCHMARK(compress_afresh_zlib)->Apply(spread);
BENCHMARK(compress_afresh_herald)->Apply(spread);
BENCHMARK(compress_takeover_zlib)->Apply(spread);
BENCHMARK(compress_takeover_herald)->Apply(spread);
BENCHMARK(inflate_zlib)->Apply(spread);
BENCHMARK(inflate_herald_connection)->Apply(spread);
BENCHMARK_CAPTURE(memory_per_connection, herald_takeover, [](std::size_t n) { return herald_connections(n, true); })
    ->Iterations(1);
BENCHMARK_CAPTURE(memory_per_connection, herald_afresh, [](std::size_t n) { return herald_connections(n, false); })
    ->Iterations(1);
BENCHMARK_CAPTURE(memory_per_connection, herald_uncompressed, [](std::size_t n) { return herald_connections(n, true, false); })
    ->Iterations(1);
BENCHMARK_CAPTURE(memory_per_connection, zlib_pair_takeover, zlib_pairs)->Iterations(1);

BENCHMARK_MAIN();
