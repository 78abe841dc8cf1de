#include "allocations.hpp"

#include <cstdlib>
#include <new>

namespace herald::test_support {
std::atomic<bool> counting_allocations{false};
std::atomic<std::size_t> allocation_count{0};
std::atomic<std::size_t> allocation_bytes{0};
}  // namespace herald::test_support

#if HERALD_TEST_COUNTS_ALLOCATIONS

void* operator new(std::size_t size) {
    if (herald::test_support::counting_allocations.load(std::memory_order_relaxed)) {
        ++herald::test_support::allocation_count;
        herald::test_support::allocation_bytes += size;
    }
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc{};
}
void* operator new[](std::size_t size) { return ::operator new(size); }
// Every replaceable form, so nothing allocated by one family is freed by another
// (Catch2 uses the nothrow forms; AddressSanitizer checks the pairing).
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    try {
        return ::operator new(size);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return ::operator new(size, std::nothrow); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
#endif
