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

TEST_CASE("buffers: a spare replaces the smaller of the two, and nothing past 1 MiB is kept", "[buffer]") {
    on_fresh_thread([] {
        std::string a(20 * 1024, 'a'), b(30 * 1024, 'b'), c(40 * 1024, 'c');
        free_if_large(a);
        free_if_large(b);
        free_if_large(c);  // takes the place of a's 20 KiB, which is freed
        std::string huge(2 * 1024 * 1024, 'h');
        free_if_large(huge);  // freed, not kept
        CHECK(huge.capacity() <= kept_buffer_capacity);
        std::string x, y, z;
        reuse_spare(x, 35 * 1024);
        CHECK(x.capacity() >= 40 * 1024);
        reuse_spare(y, 25 * 1024);
        CHECK(y.capacity() >= 30 * 1024);
        reuse_spare(z, 15 * 1024);
        CHECK(z.capacity() <= kept_buffer_capacity);  // a's buffer went; nothing of 2 MiB either
    });
}
