// asio_detail::exact_allocator: an idle connection's wait holds a block of its own
// size, not a larger recycled one, and a busy connection's waits reuse blocks.
#include <herald/asio/detail/exact_allocator.hpp>

#include <asio/associated_allocator.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <memory>
#include <thread>

using herald::asio_detail::exact_allocator;
using herald::asio_detail::exact_block_cache;

// On a thread of its own: a fresh cache, whatever other tests left in this one's.
template <class Fn>
void on_new_thread(Fn fn) {
    std::thread(fn).join();
}

TEST_CASE("exact allocator: a freed block is reused for the same size only", "[asio][allocator]") {
    void* first = nullptr;
    void* other = nullptr;
    void* again = nullptr;
    void* smaller = nullptr;
    on_new_thread([&] {
        exact_allocator<char> a;
        char* f = a.allocate(152);
        first = f;
        a.deallocate(f, 152);
        char* o = a.allocate(424);  // a bigger operation does not get the freed block
        other = o;
        char* g = a.allocate(152);  // the same size does
        again = g;
        a.deallocate(g, 152);
        a.deallocate(o, 424);
        char* s = a.allocate(136);  // nor does a smaller one: it would hold 424 bytes for 136
        smaller = s;
        a.deallocate(s, 136);
    });
    CHECK(other != first);
    CHECK(again == first);
    CHECK(smaller != other);
    CHECK(smaller != first);
}

TEST_CASE("exact allocator: the cache keeps a few blocks and frees the rest", "[asio][allocator]") {
    exact_allocator<char> a;
    char* blocks[8];
    for (auto& b : blocks) b = a.allocate(64);
    for (auto* b : blocks) a.deallocate(b, 64);  // four are kept, four freed (ASan sees no leak)
    for (auto& b : blocks) b = a.allocate(64);
    for (auto* b : blocks) a.deallocate(b, 64);
    // A thread's blocks are freed when it ends, and one freed after that is freed at once.
    std::thread([] {
        exact_allocator<char> t;
        char* b = t.allocate(32);
        t.deallocate(b, 32);
    }).join();
}

TEST_CASE("exact allocator: a wait takes it unless the handler names an allocator", "[asio][allocator]") {
    asio::io_context io;
    asio::steady_timer timer{io, std::chrono::milliseconds(1)};
    bool done = false;
    auto plain = herald::asio_detail::for_long_wait([&](std::error_code) { done = true; });
    STATIC_REQUIRE(std::is_same_v<asio::associated_allocator_t<decltype(plain)>, exact_allocator<>>);
    timer.async_wait(std::move(plain));
    io.run();
    CHECK(done);

    struct own_allocator_handler {
        using allocator_type = std::allocator<int>;
        allocator_type get_allocator() const noexcept { return {}; }
        void operator()(std::error_code) {}
    };
    auto kept = herald::asio_detail::for_long_wait(own_allocator_handler{});
    STATIC_REQUIRE(std::is_same_v<decltype(kept), own_allocator_handler>);
}
