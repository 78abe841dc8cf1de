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

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
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
        ticket(ticket&& other) noexcept : table_(std::move(other.table_)), id_(other.id_) {}
        ticket& operator=(ticket&& other) noexcept {
            if (this != &other) {
                leave();
                table_ = std::move(other.table_);
                id_ = other.id_;
            }
            return *this;
        }
        ~ticket() { leave(); }

        // From now on the entry stands for `owner`. True when close_all() ran since
        // the entry was made (stop() while the connection was being handed off):
        // the owner closes itself then.
        [[nodiscard]] bool follow(std::weak_ptr<void> owner, closer close) {
            return table_ && table_->point(id_, std::move(owner), close);
        }

    private:
        friend connection_table;
        ticket(std::shared_ptr<connection_table> table, std::uint64_t id) : table_(std::move(table)), id_(id) {}
        void leave() noexcept {
            if (auto table = std::move(table_)) table->erase(id_);
        }

        std::shared_ptr<connection_table> table_;
        std::uint64_t id_ = 0;
    };

    ticket add(std::weak_ptr<void> owner, closer close) {
        std::lock_guard lock(mutex_);
        const auto id = next_id_++;
        entries_.emplace(id, entry{std::move(owner), close, false});
        return ticket(shared_from_this(), id);
    }

    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return entries_.size();
    }

    // Closes every owner still alive. Thread-safe.
    void close_all() {
        // Strong references are taken under the lock and dropped after it: the last
        // reference to an owner destroys its ticket, which takes the lock.
        std::vector<std::pair<std::shared_ptr<void>, closer>> open;
        {
            std::lock_guard lock(mutex_);
            for (auto& [id, e] : entries_) {
                e.closed = true;
                if (auto owner = e.owner.lock()) open.emplace_back(std::move(owner), e.close);
            }
        }
        for (auto& [owner, close] : open) close(owner);
    }

private:
    struct entry {
        std::weak_ptr<void> owner;
        closer close;
        bool closed = false;  // close_all() ran
    };

    bool point(std::uint64_t id, std::weak_ptr<void> owner, closer close) {
        std::lock_guard lock(mutex_);
        const auto it = entries_.find(id);
        if (it == entries_.end()) return false;
        it->second.owner = std::move(owner);
        it->second.close = close;
        return it->second.closed;
    }
    void erase(std::uint64_t id) noexcept {
        std::lock_guard lock(mutex_);
        entries_.erase(id);
    }

    mutable std::mutex mutex_;
    std::unordered_map<std::uint64_t, entry> entries_;
    std::uint64_t next_id_ = 0;
};

}  // namespace herald::asio_detail

#endif
