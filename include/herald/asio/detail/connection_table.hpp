// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_DETAIL_CONNECTION_TABLE_HPP
#define HERALD_ASIO_DETAIL_CONNECTION_TABLE_HPP

// A server's open connections, for stop(), disconnect_all() and max_connections.
// Each accepted connection holds a ticket, its place in the table, which it gives
// up when it is destroyed. A handed-off owner that takes the connection's stream
// (an SSE stream) takes the ticket too and points the entry at itself: the
// connection (the request, its buffers, its timers) can then go, and the stream is
// still counted and still closed by stop().

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace herald::asio_detail {

class connection_table : public std::enable_shared_from_this<connection_table> {
public:
    // Closes `owner` from any thread (posting to its executor if it must).
    using closer = void (*)(const std::shared_ptr<void>& owner);

    class ticket {
    public:
        ticket() = default;
        ticket(ticket&& other) noexcept : table_(std::move(other.table_)), place_(other.place_) {}
        ticket& operator=(ticket&& other) noexcept {
            if (this != &other) {
                leave();
                table_ = std::move(other.table_);
                place_ = other.place_;
            }
            return *this;
        }
        ~ticket() { leave(); }

        // From now on the entry stands for `owner`. True when close_all() ran since
        // the entry was made (stop() while the connection was being handed off):
        // the owner closes itself then.
        [[nodiscard]] bool follow(std::weak_ptr<void> owner, closer close) {
            return table_ && table_->point(place_, std::move(owner), close);
        }

    private:
        friend connection_table;
        ticket(std::shared_ptr<connection_table> table, std::uint32_t place) : table_(std::move(table)), place_(place) {}
        void leave() noexcept {
            if (auto table = std::move(table_)) table->erase(place_);
        }

        std::shared_ptr<connection_table> table_;
        std::uint32_t place_ = 0;
    };

    ticket add(std::weak_ptr<void> owner, closer close) {
        std::lock_guard lock(mutex_);
        std::uint32_t at;
        if (free_ != none) {
            at = free_;
            free_ = place(at).next_free;
        } else {
            if (made_ % chunk_places == 0) chunks_.push_back(std::make_unique<chunk>());
            at = made_++;
        }
        place(at) = entry{std::move(owner), close, none, false};
        ++size_;
        return ticket(shared_from_this(), at);
    }

    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return size_;
    }

    // Closes every owner still alive. Thread-safe.
    void close_all() {
        // Strong references are taken under the lock and dropped after it: the last
        // reference to an owner destroys its ticket, which takes the lock.
        std::vector<std::pair<std::shared_ptr<void>, closer>> open;
        {
            std::lock_guard lock(mutex_);
            for (std::uint32_t i = 0; i < made_; ++i) {
                auto& e = place(i);
                if (!e.close) continue;  // a free place
                e.closed = true;
                if (auto owner = e.owner.lock()) open.emplace_back(std::move(owner), e.close);
            }
        }
        for (auto& [owner, close] : open) close(owner);
    }

private:
    // One place per open connection, 32 bytes, reused once its ticket goes. Not a
    // hash map: its node and bucket cost 72 bytes a connection, and a ticket knows
    // its place. In chunks of 64 places (2 KiB) that never move: no vector's
    // doubling slack, and not a std::deque, whose block size is the standard
    // library's (one entry a block in some). It keeps its peak size, as free places.
    static constexpr std::uint32_t none = UINT32_MAX;
    static constexpr std::uint32_t chunk_places = 64;
    struct entry {
        std::weak_ptr<void> owner;
        closer close = nullptr;        // null: a free place
        std::uint32_t next_free = none;  // a free place's link to the next
        bool closed = false;           // close_all() ran
    };

    using chunk = std::array<entry, chunk_places>;
    entry& place(std::uint32_t at) noexcept { return (*chunks_[at / chunk_places])[at % chunk_places]; }

    bool point(std::uint32_t at, std::weak_ptr<void> owner, closer close) {
        std::lock_guard lock(mutex_);
        auto& e = place(at);
        e.owner = std::move(owner);
        e.close = close;
        return e.closed;
    }

    void erase(std::uint32_t at) noexcept {
        std::lock_guard lock(mutex_);
        place(at) = entry{{}, nullptr, free_, false};
        free_ = at;
        --size_;
    }

    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<chunk>> chunks_;
    std::uint32_t made_ = 0;     // places made, in use or free
    std::uint32_t free_ = none;  // the first free place
    std::size_t size_ = 0;
};

}  // namespace herald::asio_detail

#endif
