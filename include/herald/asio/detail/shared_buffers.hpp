// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_DETAIL_SHARED_BUFFERS_HPP
#define HERALD_ASIO_DETAIL_SHARED_BUFFERS_HPP

// Shared byte strings (the events a stream gathers into one write) seen as a
// buffer sequence, so that the write needs no vector of buffers beside them: an
// idle stream keeps neither, and a busy one makes no second copy per batch.

#include <asio/buffer.hpp>

#include <cstddef>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

namespace herald::asio_detail {

class shared_buffers {
public:
    using strings = std::vector<std::shared_ptr<const std::string>>;

    class const_iterator {
    public:
        using iterator_category = std::bidirectional_iterator_tag;
        using value_type = asio::const_buffer;
        using difference_type = std::ptrdiff_t;
        using pointer = const asio::const_buffer*;
        using reference = asio::const_buffer;

        const_iterator() = default;
        explicit const_iterator(strings::const_iterator at) : at_(at) {}

        asio::const_buffer operator*() const { return asio::buffer(**at_); }
        const_iterator& operator++() {
            ++at_;
            return *this;
        }
        const_iterator operator++(int) { return const_iterator(at_++); }
        const_iterator& operator--() {
            --at_;
            return *this;
        }
        const_iterator operator--(int) { return const_iterator(at_--); }
        bool operator==(const const_iterator&) const = default;

    private:
        strings::const_iterator at_{};
    };

    // `all` must stay as it is until the write completes.
    explicit shared_buffers(const strings& all) noexcept : all_(&all) {}

    const_iterator begin() const noexcept { return const_iterator(all_->begin()); }
    const_iterator end() const noexcept { return const_iterator(all_->end()); }

private:
    const strings* all_;
};

}  // namespace herald::asio_detail

#endif
