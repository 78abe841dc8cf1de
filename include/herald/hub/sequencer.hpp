// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_HUB_SEQUENCER_HPP
#define HERALD_HUB_SEQUENCER_HPP

// Puts items numbered by someone else back into their order: what a node receives
// from a broker (a message may arrive before the one it follows, or twice), and what
// a resuming client is owed when part of it comes from a source that answers later
// (a range fetched from Redis) and part from live messages.
//
// How it works: the sequencer knows the last number it released, `last`. offer(seq)
//   seq <= last           -> duplicate: dropped;
//   seq == last + 1       -> ready: next() releases it (and whatever it unblocks);
//   seq >  last + 1       -> held until the numbers before it come; gap() names the
//                            range missing before the oldest held item, for the
//                            caller to fetch; more than max_held held -> overflow
//                            (nothing kept: the caller gives up on the gap).
// skip_to(seq) gives up on everything before `seq` (the source no longer has it):
// the caller tells its clients their history is lost, and numbering continues.
// No clock and no I/O: the caller decides how long a gap may stay open.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>

namespace herald::hub {

// A closed range of sequence numbers, [first, last].
struct seq_range {
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    friend bool operator==(const seq_range&, const seq_range&) = default;
};

template <class T>
class sequencer {
public:
    enum class verdict { ready, held, duplicate, overflow };

    // `last`: the number released last (0: none yet, the first item is 1).
    explicit sequencer(std::uint64_t last = 0, std::size_t max_held = 4096) noexcept
        : last_(last), max_held_(max_held) {}

    verdict offer(std::uint64_t seq, T item) {
        if (seq <= last_) return verdict::duplicate;
        if (seq != last_ + 1 && !held_.contains(seq) && held_.size() >= max_held_) return verdict::overflow;
        const bool inserted = held_.try_emplace(seq, std::move(item)).second;
        if (!inserted) return verdict::duplicate;  // held already
        return seq == last_ + 1 ? verdict::ready : verdict::held;
    }

    // The item numbered last + 1 when it is here; `last` moves past it.
    std::optional<std::pair<std::uint64_t, T>> next() {
        const auto first = held_.begin();
        if (first == held_.end() || first->first != last_ + 1) return std::nullopt;
        std::pair<std::uint64_t, T> out{first->first, std::move(first->second)};
        held_.erase(first);
        last_ = out.first;
        return out;
    }

    // The numbers missing before the oldest held item; none when nothing is held
    // (or the oldest held is next, which next() releases).
    std::optional<seq_range> gap() const noexcept {
        if (held_.empty() || held_.begin()->first == last_ + 1) return std::nullopt;
        return seq_range{last_ + 1, held_.begin()->first - 1};
    }

    // Gives up on every number below `seq`: held items below it are dropped and
    // the next item released is `seq` (if it is held, next() releases it now).
    void skip_to(std::uint64_t seq) {
        if (seq <= last_ + 1) return;
        held_.erase(held_.begin(), held_.lower_bound(seq));
        last_ = seq - 1;
    }

    // Gives up on the gap before the oldest held item (see gap()).
    void skip_gap() {
        if (const auto missing = gap()) skip_to(missing->last + 1);
    }

    std::uint64_t last() const noexcept { return last_; }
    std::size_t held() const noexcept { return held_.size(); }

private:
    std::uint64_t last_;
    std::size_t max_held_;
    std::map<std::uint64_t, T> held_;
};

}  // namespace herald::hub

#endif
