// Counts heap allocations in a scope, to test "steady state allocates nothing"
// (DESIGN.md "Limits and memory"). The global operator new of the test binaries is
// replaced in allocations.cpp; it counts only while an allocation_counter lives.
#ifndef HERALD_TESTS_SUPPORT_ALLOCATIONS_HPP
#define HERALD_TESTS_SUPPORT_ALLOCATIONS_HPP

#include <atomic>
#include <cstddef>

// ThreadSanitizer's runtime as clang links it (statically) defines the global
// operator new itself, so under it the test binaries keep that one and count
// nothing: tests check counts only when counts_allocations.
#if defined(__SANITIZE_THREAD__)
#define HERALD_TEST_COUNTS_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HERALD_TEST_COUNTS_ALLOCATIONS 0
#endif
#endif
#ifndef HERALD_TEST_COUNTS_ALLOCATIONS
#define HERALD_TEST_COUNTS_ALLOCATIONS 1
#endif

namespace herald::test_support {

inline constexpr bool counts_allocations = HERALD_TEST_COUNTS_ALLOCATIONS;

extern std::atomic<bool> counting_allocations;
extern std::atomic<std::size_t> allocation_count;
extern std::atomic<std::size_t> allocation_bytes;

class allocation_counter {
public:
    allocation_counter() noexcept {
        allocation_count = 0;
        allocation_bytes = 0;
        counting_allocations = true;
    }
    ~allocation_counter() { counting_allocations = false; }
    allocation_counter(const allocation_counter&) = delete;
    allocation_counter& operator=(const allocation_counter&) = delete;
    std::size_t count() const noexcept { return allocation_count.load(); }
    std::size_t bytes() const noexcept { return allocation_bytes.load(); }
};

}  // namespace herald::test_support

#endif
