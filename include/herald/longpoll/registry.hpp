// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_LONGPOLL_REGISTRY_HPP
#define HERALD_LONGPOLL_REGISTRY_HPP

// The long-poll waiter registry, sans-I/O: who is waiting for what, and until when.
//
// How it works: every key (a topic) has a cursor, the number of messages published
// to it so far. A client polls with the cursor it has seen, `since`:
//   since < cursor  -> ready at once: there is something newer;
//   since > cursor  -> ready at once, marked `reset`: the cursor was never issued
//                      here (a client of an earlier process), so it must resync;
//   since == cursor -> parked, with a deadline, until a publish to the key.
// publish(key) advances the cursor and wakes every waiter of the key; expire(now)
// takes out the waiters whose deadline passed; cancel(ticket) takes out one waiter
// whose client went away. The caller owns whatever a ticket stands for (a parked
// HTTP request) and is told, through the tickets that come out, what to answer.
//
// Cost: waiters live in a slab (reused slots, a free list); each key keeps its
// waiters in an intrusive doubly linked list, so wake is linear in the waiters
// woken and cancel is an O(1) unlink plus an O(log n) erase from the deadline
// index. That index is a binary min-heap in one vector whose slots know their
// place in it: 16 bytes a waiter, where a std::multimap node took about 64 (a
// parked long poll is one of many thousands). Waiters with the same deadline
// expire in no particular order. A ticket carries its slot's generation, so a ticket that is
// stale — its waiter already woken, expired or cancelled — is refused, never
// mistaken for the slot's next occupant. Keys that nobody publishes to are dropped
// with their last waiter, so polls on made-up keys cannot grow the map.

#include <herald/longpoll/error.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

namespace herald::longpoll {

struct limits {
    std::size_t max_waiters = 100'000;
    std::size_t max_waiters_per_key = 50'000;
    std::size_t max_key = 256;
};

struct ticket {
    std::uint32_t index = 0;
    std::uint32_t generation = 0;
    friend bool operator==(const ticket&, const ticket&) = default;
};

class registry {
public:
    using clock = std::chrono::steady_clock;
    using time_point = clock::time_point;

    struct wait_result {
        bool parked;          // false: answer at once with `cursor`
        bool reset;           // the client's cursor was never issued here
        std::uint64_t cursor;  // the key's cursor now
        longpoll::ticket ticket;  // when parked
    };

    // A waiter a publish woke, with the cursor to answer.
    struct woken {
        longpoll::ticket ticket;
        std::uint64_t cursor;
    };

    explicit registry(const longpoll::limits& l = {}) : limits_(l) {}

    registry(const registry&) = delete;
    registry& operator=(const registry&) = delete;

    // A poll for `key` by a client that has seen up to `since`. On a limit, `ec`
    // says which and nothing is parked.
    wait_result wait(std::string_view key, std::uint64_t since, time_point deadline, std::error_code& ec) {
        ec = {};
        if (key.size() > limits_.max_key) {
            ec = error::key_too_long;
            return {};
        }
        auto found = keys_.find(key);
        const std::uint64_t cursor = found == keys_.end() ? 0 : found->second.cursor;
        if (since != cursor) return {false, since > cursor, cursor, {}};
        if (waiting_ >= limits_.max_waiters) {
            ec = error::too_many_waiters;
            return {};
        }
        if (found == keys_.end()) found = keys_.emplace(std::string(key), key_state{}).first;
        key_state& state = found->second;
        if (state.waiters >= limits_.max_waiters_per_key) {
            ec = error::too_many_waiters_for_key;
            return {};
        }
        const std::uint32_t index = allocate();
        slot& s = slots_[index];
        s.key = &*found;
        s.prev = none;
        s.next = state.head;
        if (state.head != none) slots_[state.head].prev = index;
        state.head = index;
        ++state.waiters;
        ++waiting_;
        push_deadline(deadline, index);
        return {true, false, cursor, {index, s.generation}};
    }

    // Advances `key`'s cursor and appends every waiter of the key to `out`. Returns
    // the new cursor.
    std::uint64_t publish(std::string_view key, std::vector<woken>& out) {
        auto found = keys_.find(key);
        if (found == keys_.end()) found = keys_.emplace(std::string(key), key_state{}).first;
        key_state& state = found->second;
        const std::uint64_t cursor = ++state.cursor;
        for (std::uint32_t index = state.head; index != none;) {
            slot& s = slots_[index];
            const std::uint32_t next = s.next;
            out.push_back({{index, s.generation}, cursor});
            erase_deadline(s.heap_at);
            release(index);
            index = next;
        }
        waiting_ -= state.waiters;
        state.head = none;
        state.waiters = 0;
        return cursor;
    }

    // Takes out a parked waiter; false when `t` is not parked (already woken,
    // expired or cancelled), which is not an error: its answer raced the cancel.
    bool cancel(ticket t) {
        if (!parked(t)) return false;
        erase_deadline(slots_[t.index].heap_at);
        remove(t.index);
        return true;
    }

    // Appends the waiters whose deadline is at or before `now` to `out` and takes
    // them out; they are answered "nothing new".
    void expire(time_point now, std::vector<ticket>& out) {
        while (!deadlines_.empty() && deadlines_.front().at <= now) {
            const std::uint32_t index = deadlines_.front().index;
            erase_deadline(0);
            out.push_back({index, slots_[index].generation});
            remove(index);
        }
    }

    // The earliest deadline of a parked waiter; time_point::max() when none.
    time_point next_deadline() const noexcept {
        return deadlines_.empty() ? time_point::max() : deadlines_.front().at;
    }

    bool parked(ticket t) const noexcept {
        return t.index < slots_.size() && slots_[t.index].generation == t.generation && slots_[t.index].key;
    }

    std::uint64_t cursor(std::string_view key) const {
        const auto found = keys_.find(key);
        return found == keys_.end() ? 0 : found->second.cursor;
    }

    std::size_t waiting() const noexcept { return waiting_; }
    std::size_t waiting(std::string_view key) const {
        const auto found = keys_.find(key);
        return found == keys_.end() ? 0 : found->second.waiters;
    }
    std::size_t key_count() const noexcept { return keys_.size(); }

private:
    static constexpr std::uint32_t none = std::numeric_limits<std::uint32_t>::max();

    struct key_state {
        std::uint64_t cursor = 0;
        std::uint32_t head = none;
        std::size_t waiters = 0;
    };

    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };

    using key_map = std::unordered_map<std::string, key_state, string_hash, std::equal_to<>>;
    struct deadline_entry {
        time_point at;
        std::uint32_t index;  // the waiter's slot
    };

    struct slot {
        key_map::value_type* key = nullptr;  // null: free. Map nodes stay put across rehash.
        std::uint32_t prev = none;
        std::uint32_t next = none;
        std::uint32_t generation = 0;
        std::uint32_t heap_at = 0;  // its place in deadlines_ while parked
    };

    std::uint32_t allocate() {
        if (!free_.empty()) {
            const std::uint32_t index = free_.back();
            free_.pop_back();
            return index;
        }
        slots_.emplace_back();
        return static_cast<std::uint32_t>(slots_.size() - 1);
    }

    void release(std::uint32_t index) {
        slot& s = slots_[index];
        s.key = nullptr;
        ++s.generation;
        free_.push_back(index);
    }

    // Unlinks a parked waiter (its deadline entry already erased) and frees its slot;
    // drops its key when that was the last waiter of a key never published to.
    void remove(std::uint32_t index) {
        slot& s = slots_[index];
        auto* key = s.key;
        key_state& state = key->second;
        if (s.prev != none) slots_[s.prev].next = s.next;
        else state.head = s.next;
        if (s.next != none) slots_[s.next].prev = s.prev;
        --state.waiters;
        --waiting_;
        release(index);
        if (state.waiters == 0 && state.cursor == 0) keys_.erase(keys_.find(key->first));
    }

    // The deadline index: deadlines_[0] is the earliest, and every entry is no
    // later than its children at 2i+1 and 2i+2. Each move updates the slot's heap_at.
    void push_deadline(time_point at, std::uint32_t index) {
        deadlines_.emplace_back();
        sift_up(deadlines_.size() - 1, {at, index});
    }

    // The last entry fills the hole and moves to where it belongs.
    void erase_deadline(std::size_t at) {
        const deadline_entry moving = deadlines_.back();
        deadlines_.pop_back();
        if (at == deadlines_.size()) return;  // the erased entry was the last
        if (at > 0 && moving.at < deadlines_[(at - 1) / 2].at) sift_up(at, moving);
        else sift_down(at, moving);
    }

    // Both put `moving` at hole `at` or, moving others over, where it belongs.
    void sift_up(std::size_t at, const deadline_entry& moving) {
        while (at > 0) {
            const std::size_t parent = (at - 1) / 2;
            if (!(moving.at < deadlines_[parent].at)) break;
            place(at, deadlines_[parent]);
            at = parent;
        }
        place(at, moving);
    }

    void sift_down(std::size_t at, const deadline_entry& moving) {
        const std::size_t size = deadlines_.size();
        for (;;) {
            std::size_t child = 2 * at + 1;
            if (child >= size) break;
            if (child + 1 < size && deadlines_[child + 1].at < deadlines_[child].at) ++child;
            if (!(deadlines_[child].at < moving.at)) break;
            place(at, deadlines_[child]);
            at = child;
        }
        place(at, moving);
    }

    void place(std::size_t at, const deadline_entry& d) {
        deadlines_[at] = d;
        slots_[d.index].heap_at = static_cast<std::uint32_t>(at);
    }

    longpoll::limits limits_;
    key_map keys_;
    std::vector<slot> slots_;
    std::vector<std::uint32_t> free_;
    std::vector<deadline_entry> deadlines_;
    std::size_t waiting_ = 0;
};

}  // namespace herald::longpoll

#endif
