// What a connection lets go of after a large message is kept by the thread, two
// buffers of up to 1 MiB, for the next large message of any connection of the
// thread (herald/buffer.hpp): freeing and allocating them again for every message
// made glibc trim and regrow its heap each time (docs/benchmarks.md).
#include "support/allocations.hpp"

#include <herald/buffer.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <thread>

using namespace herald;

namespace {

// Runs `body` on a thread of its own: a thread's spare buffers start empty.
template <class Body>
void on_fresh_thread(Body body) {
    std::thread t(body);
    t.join();
}

}  // namespace

TEST_CASE("buffers: free_if_large keeps two large buffers per thread, which reuse_spare hands back without allocating",
          "[buffer]") {
    on_fresh_thread([] {
        std::string a(64 * 1024, 'a'), b(100 * 1024, 'b'), small(500, 's');
        free_if_large(small);
        CHECK(small.size() == 500);  // at most kept_buffer_capacity: kept where it is
        free_if_large(a);
        free_if_large(b);
        CHECK(a.capacity() <= kept_buffer_capacity);
        CHECK(b.capacity() <= kept_buffer_capacity);

        std::string first = "kept contents", second, third;
        std::size_t allocated = 0;
        {
            test_support::allocation_counter allocations;
            reuse_spare(first, 90 * 1024);  // only b's buffer has room
            reuse_spare(second, 60 * 1024);
            reuse_spare(third, 60 * 1024);  // none left: unchanged, not allocated
            allocated = allocations.count();
        }
        if constexpr (test_support::counts_allocations) CHECK(allocated == 0);
        CHECK(first == "kept contents");
        CHECK(first.capacity() >= 100 * 1024);
        CHECK(second.capacity() >= 64 * 1024);
        CHECK(third.capacity() <= kept_buffer_capacity);
        CHECK(first.capacity() != second.capacity());  // two buffers, not one twice
    });
}

TEST_CASE("buffers: the last two let go of are kept, and nothing past 1 MiB", "[buffer]") {
    on_fresh_thread([] {
        std::string a(20 * 1024, 'a'), b(30 * 1024, 'b'), c(40 * 1024, 'c');
        free_if_large(a);
        free_if_large(b);
        free_if_large(c);  // takes the place of a's 20 KiB, the older, which is freed
        std::string huge(2 * 1024 * 1024, 'h');
        free_if_large(huge);  // freed, not kept
        CHECK(huge.capacity() <= kept_buffer_capacity);
        std::string x, y, z;
        reuse_spare(x, 35 * 1024);
        CHECK(x.capacity() >= 40 * 1024);
        reuse_spare(y, 25 * 1024);
        CHECK(y.capacity() >= 30 * 1024);
        CHECK(y.capacity() < 40 * 1024);  // b's, not a 2 MiB one
        reuse_spare(z, 15 * 1024);
        CHECK(z.capacity() <= kept_buffer_capacity);  // a's buffer went; nothing of 2 MiB either
    });
}

TEST_CASE("buffers: a spare goes to the string it fits best, and never to one with less than half its size in hand",
          "[buffer]") {
    on_fresh_thread([] {
        std::string large(1024 * 1024, 'l'), medium(8 * 1024, 'm');
        free_if_large(large);
        free_if_large(medium);
        std::string small_message;
        reuse_spare(small_message, 2 * 1024);  // neither fits: 8 KiB is more than twice 2 KiB
        CHECK(small_message.capacity() <= kept_buffer_capacity);
        std::string half(5 * 1024, 'h');
        reuse_spare(half, 6 * 1024);  // both have room: the 8 KiB one fits best
        CHECK(half == std::string(5 * 1024, 'h'));
        CHECK(half.capacity() >= 8 * 1024);
        CHECK(half.capacity() < 1024 * 1024);
        std::string most;
        reuse_spare(most, 600 * 1024);  // the 1 MiB one, for 600 KiB in hand
        CHECK(most.capacity() >= 1024 * 1024);
    });
}

TEST_CASE("buffers: spares too large for the messages that follow give way to ones that fit", "[buffer]") {
    // A thread that once took two 1 MiB messages is not left with spares no later
    // 64 KiB message may have: the last two let go of are kept, whatever their size.
    on_fresh_thread([] {
        std::string one(1024 * 1024, '1'), two(1024 * 1024, '2');
        free_if_large(one);
        free_if_large(two);
        for (int round = 0; round < 2; ++round) {
            std::string received(64 * 1024, 'r'), copy(64 * 1024, 'c');
            free_if_large(received);
            free_if_large(copy);
        }
        std::string next;
        reuse_spare(next, 64 * 1024);
        CHECK(next.capacity() >= 64 * 1024);
        CHECK(next.capacity() < 1024 * 1024);
    });
}
