// Memory that ends at a PROT_NONE page (DESIGN.md "Speed without sharp edges"):
// bytes placed with place() end right before it, so a parser that reads past the
// span it was given faults and fails the test run.
#ifndef HERALD_TESTS_SUPPORT_GUARD_PAGE_HPP
#define HERALD_TESTS_SUPPORT_GUARD_PAGE_HPP

#include <catch2/catch.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <string_view>

namespace herald::test_support {

class guarded_buffer {
public:
    explicit guarded_buffer(std::size_t capacity) {
        const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
        data_pages_ = (capacity + page - 1) / page * page;
        size_ = data_pages_ + page;
        base_ = static_cast<char*>(::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        REQUIRE(base_ != MAP_FAILED);
        REQUIRE(::mprotect(base_ + data_pages_, page, PROT_NONE) == 0);
    }
    ~guarded_buffer() { ::munmap(base_, size_); }
    guarded_buffer(const guarded_buffer&) = delete;
    guarded_buffer& operator=(const guarded_buffer&) = delete;

    // Copies `bytes` so that they end exactly at the guard page.
    std::string_view place(std::string_view bytes) {
        char* at = base_ + data_pages_ - bytes.size();
        std::memcpy(at, bytes.data(), bytes.size());
        return {at, bytes.size()};
    }

private:
    char* base_ = nullptr;
    std::size_t data_pages_ = 0;
    std::size_t size_ = 0;
};

}  // namespace herald::test_support

#endif
