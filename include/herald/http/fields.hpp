// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_HTTP_FIELDS_HPP
#define HERALD_HTTP_FIELDS_HPP

// Header fields, owned or parsed.
//
// How it works: every name and value lives in one contiguous `std::string`, and a
// vector of offsets says where each field starts and ends. The parser writes into a
// `fields` it reuses across messages, so after the first few messages parsing a head
// allocates nothing (clear() keeps both capacities). Offsets rather than pointers,
// because the storage may grow while a head is still arriving.
//
// Names compare case-insensitively (RFC 9110 §5.1). A field may repeat; `find`
// returns the first, iteration returns all in order, and `has_token` treats every
// occurrence as part of one comma-separated list (RFC 9110 §5.3).

#include <herald/config.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace herald::http {

namespace detail {

constexpr char ascii_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

constexpr std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
    return s;
}

// tchar of RFC 9110 §5.6.2, as a table: every field name of every head is checked
// byte by byte (serializer.hpp), and a lookup is one load where the tests are a dozen.
inline constexpr std::array<bool, 256> tchar_table = [] {
    std::array<bool, 256> table{};
    for (int c = '0'; c <= '9'; ++c) table[static_cast<std::size_t>(c)] = true;
    for (int c = 'a'; c <= 'z'; ++c) table[static_cast<std::size_t>(c)] = table[static_cast<std::size_t>(c - 'a' + 'A')] = true;
    for (const char c : std::string_view{"!#$%&'*+-.^_`|~"}) table[static_cast<unsigned char>(c)] = true;
    return table;
}();

constexpr bool is_tchar(unsigned char c) noexcept { return tchar_table[c]; }

constexpr bool is_token(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (char c : s)
        if (!is_tchar(static_cast<unsigned char>(c))) return false;
    return true;
}

}  // namespace detail

// ASCII case-insensitive equality, as field names and tokens compare.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (detail::ascii_lower(a[i]) != detail::ascii_lower(b[i])) return false;
    return true;
}

// The elements of a comma-separated list (RFC 9110 §5.6.1): each trimmed of
// optional whitespace; empty elements skipped, as recipients must accept them.
class token_list {
public:
    explicit constexpr token_list(std::string_view list) noexcept : list_(list) {}

    class iterator {
    public:
        using value_type = std::string_view;
        using difference_type = std::ptrdiff_t;
        using iterator_category = std::input_iterator_tag;
        using pointer = const std::string_view*;
        using reference = std::string_view;

        constexpr iterator() noexcept = default;
        constexpr explicit iterator(std::string_view list) noexcept : rest_(list), at_end_(false) { advance(); }
        constexpr std::string_view operator*() const noexcept { return current_; }
        constexpr iterator& operator++() noexcept { advance(); return *this; }
        constexpr iterator operator++(int) noexcept { auto copy = *this; advance(); return copy; }
        constexpr bool operator==(const iterator& other) const noexcept {
            return at_end_ == other.at_end_ && (at_end_ || current_.data() == other.current_.data());
        }

    private:
        constexpr void advance() noexcept {
            while (!input_done_) {
                const auto comma = rest_.find(',');
                const auto element = detail::trim_ows(rest_.substr(0, comma));
                if (comma == std::string_view::npos) {
                    input_done_ = true;
                } else {
                    rest_.remove_prefix(comma + 1);
                }
                if (!element.empty()) { current_ = element; return; }
            }
            at_end_ = true;
        }
        std::string_view rest_{};
        std::string_view current_{};
        bool input_done_ = false;
        bool at_end_ = true;
    };

    constexpr iterator begin() const noexcept { return iterator{list_}; }
    constexpr iterator end() const noexcept { return iterator{}; }

    // True when `token` is one of the elements, compared case-insensitively.
    constexpr bool contains(std::string_view token) const noexcept {
        for (auto element : *this)
            if (iequals(element, token)) return true;
        return false;
    }

private:
    std::string_view list_;
};

class fields {
public:
    struct field {
        std::string_view name;
        std::string_view value;
    };

private:
    struct entry {
        std::uint32_t name_offset;
        std::uint32_t name_size;
        std::uint32_t value_offset;
        std::uint32_t value_size;
    };

public:
    class iterator {
    public:
        using value_type = field;
        using difference_type = std::ptrdiff_t;
        using iterator_category = std::forward_iterator_tag;
        using pointer = void;
        using reference = field;

        iterator() noexcept = default;
        iterator(const fields* owner, std::size_t index) noexcept : owner_(owner), index_(index) {}
        field operator*() const noexcept { return owner_->at(index_); }
        iterator& operator++() noexcept { ++index_; return *this; }
        iterator operator++(int) noexcept { auto copy = *this; ++index_; return copy; }
        bool operator==(const iterator& other) const noexcept { return index_ == other.index_; }

    private:
        const fields* owner_ = nullptr;
        std::size_t index_ = 0;
    };

    fields() = default;

    iterator begin() const noexcept { return {this, 0}; }
    iterator end() const noexcept { return {this, entries_.size()}; }
    std::size_t size() const noexcept { return entries_.size(); }
    bool empty() const noexcept { return entries_.empty(); }

    // Bytes held: names and values, or for a parsed head the raw head bytes (the
    // fields are offsets into them); what a head costs in memory.
    std::size_t bytes() const noexcept { return storage_.size(); }

    field at(std::size_t index) const noexcept {
        const entry& e = entries_[index];
        // The offsets are the fields' own, always inside storage_: no bounds check
        // on the path every find, count and has_token walks.
        return {{storage_.data() + e.name_offset, e.name_size}, {storage_.data() + e.value_offset, e.value_size}};
    }

    // Adds a field after the others; an existing field of the same name stays.
    void append(std::string_view name, std::string_view value) {
        begin_field();
        append_name(name);
        append_value(value);
        end_field();
    }

    // Replaces every field named `name` with one field.
    void set(std::string_view name, std::string_view value) {
        erase(name);
        append(name, value);
    }

    // Removes every field named `name`; returns how many went.
    std::size_t erase(std::string_view name) {
        std::size_t removed = 0;
        for (std::size_t i = entries_.size(); i-- > 0;) {
            if (iequals(at(i).name, name)) {
                entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(i));
                ++removed;
            }
        }
        // The bytes stay in storage until clear(): erase is rare and small.
        return removed;
    }

    // The value of the first field named `name`.
    std::optional<std::string_view> find(std::string_view name) const noexcept {
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            const field f = at(i);
            if (iequals(f.name, name)) return f.value;
        }
        return std::nullopt;
    }

    std::string_view value_or(std::string_view name, std::string_view fallback) const noexcept {
        return find(name).value_or(fallback);
    }

    bool contains(std::string_view name) const noexcept { return find(name).has_value(); }

    std::size_t count(std::string_view name) const noexcept {
        std::size_t n = 0;
        for (auto f : *this) n += iequals(f.name, name) ? 1 : 0;
        return n;
    }

    // True when any field named `name` lists `token` (`Connection: keep-alive, Upgrade`).
    bool has_token(std::string_view name, std::string_view token) const noexcept {
        for (auto f : *this)
            if (iequals(f.name, name) && token_list{f.value}.contains(token)) return true;
        return false;
    }

    // Empties the fields but keeps the memory, so the next head allocates nothing.
    void clear() noexcept {
        storage_.clear();
        entries_.clear();
        folded_ = false;
    }

    void reserve(std::size_t bytes, std::size_t count) {
        storage_.reserve(bytes);
        entries_.reserve(count);
    }

    // Incremental building, for parsers that receive a field in pieces:
    // begin_field(), append_name()*, append_value()*, end_field().
    void begin_field() {
        const auto offset = static_cast<std::uint32_t>(storage_.size());
        entries_.push_back({offset, 0, offset, 0});
    }
    void append_name(std::string_view piece) {
        storage_.append(piece);
        entry& e = entries_.back();
        e.name_size += static_cast<std::uint32_t>(piece.size());
        e.value_offset = static_cast<std::uint32_t>(storage_.size());
    }
    void append_value(std::string_view piece) {
        storage_.append(piece);
        entries_.back().value_size += static_cast<std::uint32_t>(piece.size());
    }
    // Trailing whitespace is not part of a field value (RFC 9112 §5).
    void end_field() noexcept { trim_value(entries_.back()); }

    // Building over raw bytes, for a parser that keeps a head as it arrived: the bytes
    // go in with append_raw(), in whatever pieces they come, and each field is marked
    // as offsets into them: begin_field_at(), extend_name()*, extend_value()*, then
    // finish_values() once the head is complete. One copy per read instead of one per
    // name and value (docs/benchmarks.md, "HTTP parsing").
    void append_raw(std::string_view bytes) { storage_.append(bytes); }
    void begin_field_at(std::uint32_t offset) { entries_.push_back({offset, 0, offset, 0}); }
    void extend_name(std::uint32_t n) noexcept { entries_.back().name_size += n; }
    std::size_t last_name_size() const noexcept { return entries_.back().name_size; }
    // A piece that does not follow the value's last one comes after an obs-fold
    // (RFC 9112 §5.2): the value then spans the fold's CRLF, which finish_values()
    // removes, leaving the SP or HTAB that began the continuation line.
    void extend_value(std::uint32_t offset, std::uint32_t n) noexcept {
        entry& e = entries_.back();
        if (e.value_size == 0) {
            e.value_offset = offset;
            e.value_size = n;
            return;
        }
        if (offset != e.value_offset + e.value_size) folded_ = true;
        e.value_size = offset + n - e.value_offset;
    }
    void finish_values() noexcept {
        for (entry& e : entries_) {
            if (folded_) unfold_value(e);
            trim_value(e);
        }
        folded_ = false;
    }

private:
    // A field value holds no CR or LF (RFC 9110 §5.5), so any here is an obs-fold's.
    void unfold_value(entry& e) noexcept {
        std::uint32_t kept = 0;
        for (std::uint32_t i = 0; i < e.value_size; ++i) {
            const char c = storage_[e.value_offset + i];
            if (c != '\r' && c != '\n') storage_[e.value_offset + kept++] = c;
        }
        e.value_size = kept;
    }

    void trim_value(entry& e) noexcept {
        while (e.value_size > 0 && detail::is_ows(storage_[e.value_offset + e.value_size - 1])) --e.value_size;
    }

    std::string storage_;
    std::vector<entry> entries_;
    bool folded_ = false;  // a value spans an obs-fold: finish_values() must unfold
};

}  // namespace herald::http

#endif
