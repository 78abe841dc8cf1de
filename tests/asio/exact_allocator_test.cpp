// asio_detail::exact_allocator: an idle connection's wait holds a block of its own
// size, not a larger recycled one, and a busy connection's waits reuse blocks.
#include <herald/asio/detail/exact_allocator.hpp>

#include "../support/allocations.hpp"

#include <asio/associated_allocator.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/compose.hpp>
#include <asio/post.hpp>
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

TEST_CASE("exact allocator: a freed block is kept for the same size only", "[asio][allocator]") {
    void* first = nullptr;
    void* fresh = nullptr;
    void* other = nullptr;
    void* again = nullptr;
    void* smaller = nullptr;
    on_new_thread([&] {
        exact_allocator<char> a;
        char* f = a.allocate(152);
        first = f;
        a.deallocate(f, 152);
        // Kept, not freed: malloc's own per-thread cache would hand a freed block
        // of this size straight back.
        fresh = ::operator new(152);
        ::operator delete(fresh);
        char* o = a.allocate(424);  // a bigger operation does not get the kept block
        other = o;
        char* g = a.allocate(152);  // the same size does
        again = g;
        a.deallocate(g, 152);
        a.deallocate(o, 424);
        char* s = a.allocate(136);  // nor does a smaller one: it would hold 424 bytes for 136
        smaller = s;
        a.deallocate(s, 136);
    });
    CHECK(fresh != first);
    CHECK(other != first);
    CHECK(again == first);
    CHECK(smaller != other);
    CHECK(smaller != first);
}

TEST_CASE("exact allocator: four blocks are kept, and sizes not asked again give way", "[asio][allocator]") {
    if (!herald::test_support::counts_allocations) return;  // ThreadSanitizer's operator new counts nothing
    std::size_t first_round = 0, second_round = 0, after_other_sizes = 0;
    on_new_thread([&] {
        exact_allocator<char> a;
        char* blocks[8];
        {
            herald::test_support::allocation_counter counter;
            for (auto& b : blocks) b = a.allocate(3000);
            first_round = counter.count();
        }
        for (auto* b : blocks) a.deallocate(b, 3000);  // four kept, four freed
        {
            herald::test_support::allocation_counter counter;
            for (auto& b : blocks) b = a.allocate(3000);
            second_round = counter.count();
        }
        for (auto* b : blocks) a.deallocate(b, 3000);
        // Four blocks of other sizes, once each, push the kept ones out in turn...
        for (std::size_t size : {3008, 3016, 3024, 3032}) a.deallocate(a.allocate(size), size);
        // ...and then a size in use again is kept once more: none is allocated twice.
        herald::test_support::allocation_counter counter;
        for (int i = 0; i < 4; ++i) a.deallocate(a.allocate(3040), 3040);
        after_other_sizes = counter.count();
    });
    CHECK(first_round == 8);
    CHECK(second_round == 4);
    CHECK(after_other_sizes == 1);
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

// As the WebSocket read and the SSE stream use it: a composed operation's own
// handler (`self`) waits through for_long_wait, and per-operation cancellation and
// the caller's executor still reach it.
TEST_CASE("exact allocator: a composed operation waiting through it is still cancelled and completes on its executor",
          "[asio][allocator]") {
    asio::io_context io;
    asio::steady_timer timer{io, std::chrono::hours(1)};
    auto waits = [&timer](auto token) {
        return asio::async_compose<decltype(token), void(std::error_code)>(
            [&timer, started = false](auto& self, std::error_code ec = {}) mutable {
                if (!started) {
                    started = true;
                    auto slot = self.get_cancellation_state().slot();
                    if (slot.is_connected()) slot.assign([&timer](asio::cancellation_type) { timer.cancel(); });
                    return timer.async_wait(herald::asio_detail::for_long_wait(std::move(self)));
                }
                self.complete(ec);
            },
            token, timer);
    };
    asio::cancellation_signal cancel;
    std::error_code result{};
    bool on_executor = false;
    auto ex = io.get_executor();
    waits(asio::bind_cancellation_slot(cancel.slot(), asio::bind_executor(ex, [&](std::error_code ec) {
                                           result = ec;
                                           on_executor = ex.running_in_this_thread();
                                       })));
    asio::post(io, [&] { cancel.emit(asio::cancellation_type::terminal); });
    io.run();
    CHECK(result == asio::error::operation_aborted);
    CHECK(on_executor);
}
