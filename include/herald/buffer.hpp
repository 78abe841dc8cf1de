// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_BUFFER_HPP
#define HERALD_BUFFER_HPP

// A flat, growable read buffer: bytes are read into prepare(), made readable by
// commit(), and dropped from the front by consume(). Its capacity is reused across
// messages (DESIGN.md: parsers own a growable buffer reused across messages) and
// bounded by max_size, so a peer cannot make it grow without limit.

#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace herald {

// What a connection keeps of a buffer between uses (a message, an output buffer, a
// request body): past this it is let go of after use, so an idle connection that
// once took a large message holds no large buffer (an idle WebSocket keeps under
// 1 KiB in all, docs/benchmarks.md).
inline constexpr std::size_t kept_buffer_capacity = 1024;

// What is let go of is kept by the thread, not freed: the last two buffers of up
// to 1 MiB, for the next large message of any connection of the thread
// (reuse_spare). Freed and allocated again for every message, large buffers made
// glibc give the top of its heap back (brk, once 128 KiB are free there) and fault
// it in again for the next: 175 µs of server CPU per 64 KiB echo against 30
// (docs/benchmarks.md, "Large messages without the heap churning"). Two, as an echo
// holds two at once (the message received and the caller's copy of it); the last
// ones, as the next messages are most likely the size of the last.
namespace detail {
inline constexpr std::size_t max_spare_capacity = 1024 * 1024;
struct spare_buffers {
    std::string slots[2];
    unsigned oldest = 0;  // the slot the next buffer let go of replaces
};
inline spare_buffers& thread_spares() noexcept {
    thread_local spare_buffers spares;
    return spares;
}
}  // namespace detail

// Lets go of `s`'s memory when it grew past kept_buffer_capacity: kept by the
// thread in place of the older of its two spares (which is freed), or freed.
inline void free_if_large(std::string& s) noexcept {
    if (s.capacity() <= kept_buffer_capacity) return;
    if (s.capacity() <= detail::max_spare_capacity) {
        auto& spares = detail::thread_spares();
        s.clear();
        spares.slots[spares.oldest].swap(s);  // s now holds the older spare, freed below
        spares.oldest ^= 1;
    }
    std::string().swap(s);
}

// Gives `s` (its contents kept) the thread's spare buffer that fits `n` bytes
// best, when `s` has less room and a spare holds between n and 2n: no more than
// the string's own growth would make, so capacity stays within twice the bytes a
// caller has in hand (and counts against a budget). Never allocates: `n` is bytes
// held, not what a peer's header announces.
inline void reuse_spare(std::string& s, std::size_t n) noexcept {
    if (n <= s.capacity() || n <= kept_buffer_capacity) return;
    std::string* best = nullptr;
    for (std::string& spare : detail::thread_spares().slots)
        if (spare.capacity() >= n && spare.capacity() / 2 <= n && (!best || spare.capacity() < best->capacity()))
            best = &spare;
    if (!best) return;
    best->assign(s);  // fits: s is smaller than n
    s.swap(*best);    // the spare keeps s's old buffer, smaller than this one
}

class flat_buffer {
public:
    explicit flat_buffer(std::size_t max_size = 1024 * 1024) noexcept : max_size_(max_size) {}

    flat_buffer(flat_buffer&& other) noexcept
        : storage_(std::move(other.storage_)), capacity_(other.capacity_), begin_(other.begin_), end_(other.end_),
          max_size_(other.max_size_) {
        other.capacity_ = other.begin_ = other.end_ = 0;
    }
    flat_buffer& operator=(flat_buffer&& other) noexcept {
        storage_ = std::move(other.storage_);
        capacity_ = other.capacity_;
        begin_ = other.begin_;
        end_ = other.end_;
        max_size_ = other.max_size_;
        other.capacity_ = other.begin_ = other.end_ = 0;
        return *this;
    }

    // The readable bytes.
    std::string_view data() const noexcept { return {storage_.get() + begin_, end_ - begin_}; }
    std::size_t size() const noexcept { return end_ - begin_; }
    bool empty() const noexcept { return begin_ == end_; }
    std::size_t capacity() const noexcept { return capacity_; }
    std::size_t max_size() const noexcept { return max_size_; }
    void max_size(std::size_t n) noexcept { max_size_ = n; }

    // Writable space of at least `n` bytes after the readable ones, or an empty span
    // when that would take the buffer past max_size. Readable bytes move to the
    // front first, so a buffer drained by consume() never grows.
    std::span<char> prepare(std::size_t n) {
        if (n > max_size_ - size()) return {};
        if (capacity_ - end_ < n) {
            if (capacity_ - size() >= n) {
                std::memmove(storage_.get(), storage_.get() + begin_, size());
            } else {
                std::size_t grown = capacity_ ? capacity_ * 2 : 4096;
                while (grown < size() + n) grown *= 2;
                if (grown > max_size_) grown = max_size_;
                auto bigger = std::make_unique_for_overwrite<char[]>(grown);
                if (size()) std::memcpy(bigger.get(), storage_.get() + begin_, size());
                storage_ = std::move(bigger);
                capacity_ = grown;
            }
            end_ -= begin_;
            begin_ = 0;
        }
        return {storage_.get() + end_, n};
    }

    // Storage of exactly `n` bytes for a buffer that holds none (prepare() would
    // start at 4 KiB): a small buffer meant to be kept between uses.
    void reserve(std::size_t n) {
        if (capacity_ != 0 || n == 0) return;
        storage_ = std::make_unique_for_overwrite<char[]>(n);
        capacity_ = n;
    }

    void commit(std::size_t n) noexcept { end_ += n; }

    void consume(std::size_t n) noexcept {
        begin_ += n < size() ? n : size();
        if (begin_ == end_) begin_ = end_ = 0;
    }

    void clear() noexcept { begin_ = end_ = 0; }

    // Copies `bytes` after the readable ones; false (nothing copied) past max_size.
    bool append(std::string_view bytes) {
        if (bytes.empty()) return true;
        const auto space = prepare(bytes.size());
        if (space.size() != bytes.size()) return false;
        std::memcpy(space.data(), bytes.data(), bytes.size());
        commit(bytes.size());
        return true;
    }

    // Frees the storage when nothing is readable: a buffer between uses holds no memory.
    void release() noexcept {
        if (!empty()) return;
        storage_.reset();
        capacity_ = begin_ = end_ = 0;
    }

private:
    std::unique_ptr<char[]> storage_;
    std::size_t capacity_ = 0;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
    std::size_t max_size_;
};

}  // namespace herald

#endif
