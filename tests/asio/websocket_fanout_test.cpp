// websocket::stream::send_shared: a frame written from bytes shared by many
// streams, in order with the stream's own frames, and copied nowhere.
#include "../support/allocations.hpp"

#include <herald/asio/websocket.hpp>
#include <herald/hub/wire.hpp>
#include <herald/test/stream.hpp>

#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

using namespace herald;
namespace ws = herald::websocket;

namespace {

// A next layer that takes every write at once and keeps nothing, so that what is
// allocated is the WebSocket stream's doing alone.
struct sink {
    using executor_type = asio::io_context::executor_type;
    executor_type ex;
    std::size_t* written;
    executor_type get_executor() const { return ex; }
    template <class Buffers, class Handler>
    void async_write_some(const Buffers& buffers, Handler&& handler) {
        const std::size_t n = asio::buffer_size(buffers);
        *written += n;
        asio::post(ex, [h = std::forward<Handler>(handler), n]() mutable { h(std::error_code{}, n); });
    }
    template <class Buffers, class Handler>
    void async_read_some(const Buffers&, Handler&&) {}  // nothing reads here
};

// Each frame of a server's output, as "<opcode>:<payload>".
std::vector<std::string> frames(std::string_view wire) {
    std::vector<std::string> out;
    while (wire.size() >= 2) {
        const auto op = static_cast<unsigned char>(wire[0]) & 0x0f;
        std::size_t len = static_cast<unsigned char>(wire[1]) & 0x7f, at = 2;
        if (len == 126) len = (static_cast<unsigned char>(wire[2]) << 8) | static_cast<unsigned char>(wire[3]), at = 4;
        out.push_back(std::to_string(op) + ":" + std::string(wire.substr(at, len)));
        wire.remove_prefix(at + len);
    }
    return out;
}

}  // namespace

TEST_CASE("websocket send_shared: shared frames go out in call order with the stream's own frames", "[asio][websocket]") {
    asio::io_context io;
    ws::stream<test::stream> s{test::stream{io.get_executor()}};
    const auto m = hub::make_message("t", "e", 1, "shared");
    REQUIRE_FALSE(s.send(ws::opcode::text, "own one"));
    REQUIRE_FALSE(s.send_shared(m, m->ws_head, m->json));
    REQUIRE_FALSE(s.send(ws::opcode::binary, "own two"));
    REQUIRE_FALSE(s.send_shared(m, m->ws_head, m->json));
    io.run();
    CHECK(frames(s.next_layer().str()) ==
          std::vector<std::string>{"1:own one", "1:" + m->json, "2:own two", "1:" + m->json});
    CHECK(m.use_count() == 1);  // let go of once written
    // A client's frames are masked each with its own key: it cannot share one.
    asio::io_context io2;
    ws::stream<test::stream> client{test::stream{io2.get_executor()}, [] { return 7u; }};
    CHECK(client.send_shared(m, m->ws_head, m->json) == ws::error::invalid_state);
}

TEST_CASE("websocket send_shared: fan-out of one 64 KiB message to 100 streams allocates no copy of it", "[asio][websocket][hub]") {
    const auto m = hub::make_message("t", "e", 1, std::string(64 * 1024, 'x'));
    constexpr int streams = 100;
    const auto fan_out = [&](bool shared) {
        asio::io_context io;
        std::size_t written = 0;
        std::vector<std::unique_ptr<ws::stream<sink>>> subscribers;
        for (int i = 0; i < streams; ++i) subscribers.push_back(std::make_unique<ws::stream<sink>>(sink{io.get_executor(), &written}));
        test_support::allocation_counter allocations;
        for (auto& s : subscribers) {
            const auto refused = shared ? s->send_shared(m, m->ws_head, m->json) : s->send(ws::opcode::text, m->json);
            if (refused) return std::pair<std::size_t, std::size_t>{0, 0};
        }
        io.run();
        return std::pair<std::size_t, std::size_t>{allocations.bytes(), written};
    };
    const auto [shared_bytes, shared_written] = fan_out(true);
    const auto [copied_bytes, copied_written] = fan_out(false);
    const std::size_t frame = m->ws_head.size() + m->json.size();
    CHECK(shared_written == streams * frame);
    CHECK(copied_written == streams * frame);
    INFO("allocated: shared " << shared_bytes << " B, copied " << copied_bytes << " B");
    if constexpr (test_support::counts_allocations) {
        CHECK(shared_bytes < m->json.size());            // not even one copy
        CHECK(copied_bytes >= streams * m->json.size());  // one copy per stream, as send() does
    }
}
