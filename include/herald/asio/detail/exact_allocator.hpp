// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_DETAIL_EXACT_ALLOCATOR_HPP
#define HERALD_ASIO_DETAIL_EXACT_ALLOCATOR_HPP

// Memory for an operation that may wait for long: an idle connection's readiness
// wait. Asio's default (its per-thread recycling) hands an operation any cached
// block big enough, so an idle WebSocket's or SSE stream's wait kept the 248- or
// 424-byte block of the HTTP read that came before it, for as long as the client
// stayed (docs/benchmarks.md, "Memory per idle connection"). This allocator gives a
// block of exactly the size asked, and keeps a few freed blocks per thread for the
// next operation of the same size: a busy connection's waits still cost no malloc.

#include <asio/associated_allocator.hpp>
#include <asio/bind_allocator.hpp>

#include <array>
#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace herald::asio_detail {

// Freed blocks of this thread, by size. Freed at the thread's end; an operation
// destroyed after that (its io_context outliving the thread's locals) frees its
// block at once.
class exact_block_cache {
public:
    static void* take(std::size_t size) {
        if (auto* cache = mine())
            for (auto& s : cache->kept)
                if (s.block && s.size == size) return std::exchange(s.block, nullptr);
        return ::operator new(size);
    }
    static void give(void* block, std::size_t size) noexcept {
        if (auto* cache = mine()) {
            // An empty slot, or else the one taken longest ago: sizes that are not
            // asked for again do not keep the cache full for the thread's life.
            slot* free = nullptr;
            for (auto& s : cache->kept)
                if (!s.block) free = &s;
            if (!free) {
                free = &cache->kept[cache->next_evicted++ % cache->kept.size()];
                ::operator delete(free->block);
            }
            *free = {block, size};
            return;
        }
        ::operator delete(block);
    }

private:
    struct slot {
        void* block = nullptr;
        std::size_t size = 0;
    };
    struct holder {
        std::array<slot, 4> kept{};  // a few sizes in use at once: a thread serves many kinds of wait
        std::size_t next_evicted = 0;
        ~holder() {
            for (auto& s : kept) ::operator delete(s.block);
            gone() = true;
        }
    };
    static bool& gone() noexcept {
        thread_local bool flag = false;  // trivially destructible: readable to the thread's end
        return flag;
    }
    static holder* mine() noexcept {
        if (gone()) return nullptr;
        thread_local holder h;
        return &h;
    }
};

template <class T = void>
struct exact_allocator {
    using value_type = T;
    // An operation holding a handler with an over-aligned member: not cached.
    static constexpr bool over_aligned() noexcept {
        if constexpr (std::is_void_v<T>) return false;
        else return alignof(T) > __STDCPP_DEFAULT_NEW_ALIGNMENT__;
    }
    exact_allocator() = default;
    template <class U>
    exact_allocator(const exact_allocator<U>&) noexcept {}
    T* allocate(std::size_t n) {
        if constexpr (over_aligned()) return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{alignof(T)}));
        else return static_cast<T*>(exact_block_cache::take(n * sizeof(T)));
    }
    void deallocate(T* p, std::size_t n) noexcept {
        if constexpr (over_aligned()) ::operator delete(p, std::align_val_t{alignof(T)});
        else exact_block_cache::give(p, n * sizeof(T));
    }
    friend bool operator==(exact_allocator, exact_allocator) noexcept { return true; }
};

// `handler` for a long wait: with exact_allocator, unless it names an allocator of
// its own (a caller's allocator is always used).
template <class Handler>
auto for_long_wait(Handler&& handler) {
    using plain = std::decay_t<Handler>;
    if constexpr (std::is_same_v<asio::associated_allocator_t<plain>, std::allocator<void>>)
        return asio::bind_allocator(exact_allocator<>(), std::forward<Handler>(handler));
    else
        return plain(std::forward<Handler>(handler));
}

}  // namespace herald::asio_detail

#endif
