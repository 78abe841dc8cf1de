// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_DETAIL_FIFO_HPP
#define HERALD_DETAIL_FIFO_HPP

// A first-in first-out queue on one vector, for a connection's send queue: it
// allocates nothing until the first push and lets a large block go when it
// empties, so an idle connection's queue costs its 32 bytes. std::deque allocates
// a 512-byte block and its map as soon as it is made (libstdc++), which for an
// SSE stream was a sixth of an idle stream's memory (docs/benchmarks.md).
//
// Taken elements leave a gap at the front, closed when it is half the vector and
// at least 64 elements (amortised O(1) per element) and whenever the queue empties.

#include <cstddef>
#include <utility>
#include <vector>

namespace herald::detail {

template <class T>
class fifo {
public:
    bool empty() const noexcept { return head_ == items_.size(); }
    std::size_t size() const noexcept { return items_.size() - head_; }
    T& front() noexcept { return items_[head_]; }

    void push_back(T value) { items_.push_back(std::move(value)); }

    // Drops the front; what it held is released now.
    void pop_front() {
        items_[head_] = T();
        if (++head_ == items_.size()) return clear();
        if (head_ >= 64 && head_ * 2 >= items_.size()) {
            items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
            head_ = 0;
        }
    }

    void clear() noexcept {
        items_.clear();
        head_ = 0;
        if (items_.capacity() > kept_capacity) std::vector<T>().swap(items_);
    }

private:
    // A queue that drained keeps room for 16 elements (256 bytes of shared_ptr): a
    // stream under steady traffic does not allocate per batch, and an idle one that
    // once queued a burst keeps little.
    static constexpr std::size_t kept_capacity = 16;

    std::vector<T> items_;
    std::size_t head_ = 0;
};

}  // namespace herald::detail

#endif
