// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_HISTORY_HPP
#define HERALD_HISTORY_HPP

// A bounded, sequence-numbered history of immutable byte strings: what a client
// that reconnects (SSE `Last-Event-ID`, a long-poll cursor) missed, kept so it can
// be sent again, and what is too old to be sent again, said so rather than skipped.
//
// How it works: append() numbers entries 1, 2, 3, ... and evicts from the front
// until the history fits both its entry count and its byte budget (the newest entry
// always stays, so a lone entry larger than the budget is still replayable once).
// after(seq) answers, for a client that has seen everything up to `seq`:
//   ok    — the entries with sequence > seq, in order (possibly none);
//   lost  — some entries after `seq` were evicted: the client must resynchronise;
//   ahead — `seq` was never issued (a client of an earlier process, or a forged
//           cursor): its position means nothing here.
// Entries are shared pointers, so a replay hands out the same bytes that live
// fan-out sent, without copying them. basic_history<T> keeps any T with a size()
// in bytes (the hub keeps a message in all its wire forms); history keeps strings.

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace herald {

struct history_limits {
    std::size_t max_entries = 1024;
    std::size_t max_bytes = 1024 * 1024;
};

template <class T>
class basic_history {
public:
    using bytes_ptr = std::shared_ptr<const T>;
    using limits = history_limits;

    struct entry {
        std::uint64_t seq;
        bytes_ptr bytes;
    };

    enum class status { ok, lost, ahead };

    // The entries a client at some `seq` missed: [first, size()) when status is ok.
    struct lookup {
        status state;
        std::size_t first;
    };

    explicit basic_history(limits l = {}) noexcept : limits_(l) {
        if (limits_.max_entries == 0) limits_.max_entries = 1;
    }

    // Appends `bytes` (not null) and returns its sequence number.
    std::uint64_t append(bytes_ptr bytes) {
        bytes_ += bytes->size();
        entries_.push_back({++last_, std::move(bytes)});
        while (entries_.size() > 1 && (entries_.size() > limits_.max_entries || bytes_ > limits_.max_bytes)) {
            bytes_ -= entries_.front().bytes->size();
            entries_.pop_front();
        }
        return last_;
    }

    lookup after(std::uint64_t seq) const noexcept {
        if (seq > last_) return {status::ahead, entries_.size()};
        const std::uint64_t oldest = first_seq();
        if (seq + 1 < oldest) return {status::lost, entries_.size()};
        return {status::ok, static_cast<std::size_t>(seq + 1 - oldest)};
    }

    // Forgets every entry and continues numbering after `last`: for numbers
    // assigned elsewhere, when the ones before `last` + 1 will never come here.
    void restart(std::uint64_t last) noexcept {
        entries_.clear();
        bytes_ = 0;
        last_ = last;
    }

    // The sequence number of the oldest entry kept; last_seq() + 1 when none is.
    std::uint64_t first_seq() const noexcept { return entries_.empty() ? last_ + 1 : entries_.front().seq; }

    // The sequence number of the newest entry; 0 before the first append.
    std::uint64_t last_seq() const noexcept { return last_; }
    std::size_t size() const noexcept { return entries_.size(); }
    std::size_t bytes() const noexcept { return bytes_; }
    const entry& operator[](std::size_t i) const noexcept { return entries_[i]; }

private:
    limits limits_;
    std::deque<entry> entries_;
    std::size_t bytes_ = 0;
    std::uint64_t last_ = 0;
};

using history = basic_history<std::string>;

// Positions in a history as clients carry them: "<epoch>-<seq>", where the epoch
// names one life of the history (a word drawn at start-up), so that a position
// from another life is recognised instead of resumed against new numbering.
inline std::string make_position(std::string_view epoch, std::uint64_t seq) {
    std::string id{epoch};
    id.push_back('-');
    id += std::to_string(seq);
    return id;
}

// A short word from a random 64-bit value, for an epoch: base 36, up to 13 chars.
inline std::string make_epoch(std::uint64_t random) {
    constexpr std::string_view digits = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::string word;
    do {
        word.push_back(digits[random % 36]);
        random /= 36;
    } while (random != 0);
    return word;
}

// A position split into its epoch and sequence number, when `id` is
// "<epoch>-<digits>" with a non-empty epoch of letters, digits, '.', '_' and '-'
// (the digits after the last '-' are the number, so an epoch may have dashes).
struct position {
    std::string_view epoch;
    std::uint64_t seq = 0;
};

inline std::optional<position> split_position(std::string_view id) noexcept {
    const auto dash = id.rfind('-');
    if (dash == std::string_view::npos || dash == 0 || dash + 1 == id.size()) return std::nullopt;
    for (const char c : id.substr(0, dash))
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '_' || c == '-'))
            return std::nullopt;
    const std::string_view digits = id.substr(dash + 1);
    std::uint64_t seq = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
    if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
    return position{id.substr(0, dash), seq};
}

// The sequence number in `id` when it is "<epoch>-<digits>" for this `epoch`.
inline std::optional<std::uint64_t> parse_position(std::string_view epoch, std::string_view id) noexcept {
    if (id.size() <= epoch.size() + 1 || id.substr(0, epoch.size()) != epoch || id[epoch.size()] != '-') return std::nullopt;
    const std::string_view digits = id.substr(epoch.size() + 1);
    std::uint64_t seq = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
    if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
    return seq;
}

}  // namespace herald

#endif
