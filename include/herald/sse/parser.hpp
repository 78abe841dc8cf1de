// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_SSE_PARSER_HPP
#define HERALD_SSE_PARSER_HPP

// The text/event-stream parser of WHATWG HTML §9.2.5 ("Parsing an event stream")
// and §9.2.6 ("Interpreting an event stream"), in the pull style.
//
// How it works: the caller owns the bytes and calls `next(input)` in a loop. Each
// call takes whole lines off the front of `input` and interprets them, until one
// of them has something to report:
//
//   need_more  every byte was consumed; read more and call again
//   event      a blank line dispatched an event: type(), data() and
//              last_event_id() are valid until the next call
//   retry      a `retry:` line set the reconnection time: reconnection_time()
//   error      error() says why (a limit); sticky until reset() or restart()
//
// A line that ends inside `input` is interpreted where it lies, without a copy.
// The bytes of a line that does not end yet are kept in `line_` (never more than
// limits::max_line of them) and completed by the next call. A CR ends a line at
// once, so an event ending in CR is reported without waiting; the parser then
// remembers to drop an LF that may follow, even at the start of the next read,
// because CRLF is one line end (§9.2.5). The UTF-8 BOM is dropped only as the
// very first bytes of a stream, however they are split; its first bytes wait in
// `line_` until the third decides, and are line content if it is not the BOM.
//
// Fields fill the three buffers of §9.2.6: `data` appends value + LF to `data_`,
// `event` sets `type_`, `id` sets `id_buffer_`. A blank line dispatches: the
// last event ID takes the id buffer's value, then an event with an empty data
// buffer is dropped and otherwise its final LF is removed and it is reported.
// The buffers are cleared on the next call and keep their capacity, so once they
// have grown to the stream's largest event, parsing allocates nothing.
//
// Bytes are not decoded: a browser would show bytes that are not UTF-8 as U+FFFD,
// this parser passes them through. Every line end, colon and space is ASCII, so
// the lines and fields found are the same either way.

#include <herald/sse/error.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace herald::sse {

struct limits {
    // One line, its line end excluded. An event's data normally travels in a single
    // `data:` line (JSON), so this is generous; it also bounds `event:` and `id:`.
    std::size_t max_line = 256 * 1024;
    // One event's data as dispatched: its lines joined by LF.
    std::size_t max_event = 1024 * 1024;
};

enum class parse_result { need_more, event, retry, error };

class event_parser {
public:
    explicit event_parser(const sse::limits& l = {}) noexcept : limits_(l) {}

    parse_result next(std::string_view& input) noexcept {
        if (error_) return parse_result::error;
        if (dispatched_) {
            // §9.2.6 "dispatch the event", step 7: the buffers empty after dispatch.
            data_.clear();
            type_.clear();
            dispatched_ = false;
        }
        while (true) {
            if (at_start_) take_bom(input);
            if (input.empty()) return parse_result::need_more;
            if (skip_lf_) {
                skip_lf_ = false;
                if (input.front() == '\n') {
                    input.remove_prefix(1);
                    continue;
                }
            }
            const std::size_t end = find_line_end(input);
            if (end == std::string_view::npos) {
                if (line_.size() + input.size() > limits_.max_line) return fail(sse::error::line_too_long);
                line_.append(input);
                input = {};
                return parse_result::need_more;
            }
            if (line_.size() + end > limits_.max_line) return fail(sse::error::line_too_long);
            std::string_view line = input.substr(0, end);
            if (!line_.empty()) {
                line_.append(line);
                line = line_;
            }
            skip_lf_ = input[end] == '\r';
            input.remove_prefix(end + 1);
            const parse_result result = interpret(line);
            line_.clear();
            if (result != parse_result::need_more) return result;
        }
    }

    // The event just reported. "message" when the stream named no type (§9.2.6,
    // "dispatch the event", steps 5 and 6).
    std::string_view type() const noexcept { return type_.empty() ? std::string_view{"message"} : type_; }
    std::string_view data() const noexcept { return data_; }

    // The last event ID string: the value of the last `id:` field as of the last
    // blank line (§9.2.6 step 1), kept across events; a client sends it back as
    // Last-Event-ID when it reconnects. Valid at any time, not only after an event.
    std::string_view last_event_id() const noexcept { return last_event_id_; }

    // Seeds the last event ID string, as a client resuming from a stored id does
    // (before the first stream; an `id:` line then replaces it, an empty one clears it).
    void set_last_event_id(std::string_view id) { last_event_id_.assign(id); }

    // The last reconnection time the stream set, in milliseconds; nullopt if none.
    // Values too large for 64 bits saturate rather than being ignored: they were
    // "only ASCII digits", and the server meant a very long time.
    std::optional<std::uint64_t> reconnection_time() const noexcept { return reconnection_time_; }

    std::error_code error() const noexcept { return error_; }

    // Bytes of an incomplete line held until its line end arrives.
    std::size_t buffered() const noexcept { return line_.size(); }

    const sse::limits& limits() const noexcept { return limits_; }
    void set_limits(const sse::limits& l) noexcept { limits_ = l; }

    // A new stream on a new connection: the partial line and the event being built
    // are dropped (§9.2.6: an event cut off by the end of the stream is never
    // dispatched), a BOM is allowed again, a sticky error is cleared, and what the
    // event source keeps across reconnections stays: the last event ID string and the
    // reconnection time (§9.2.3). An event without `id:` after a reconnection keeps
    // the last event ID, as in Chromium, which seeds the new stream's id buffer with
    // it. Read literally, §9.2.6 starts each stream's buffer empty, and the first
    // event of the new stream would clear the ID the reconnection just sent.
    void restart() noexcept {
        line_.clear();
        data_.clear();
        type_.clear();
        id_pending_ = false;
        skip_lf_ = false;
        dispatched_ = false;
        at_start_ = true;
        error_ = {};
    }

    // Forgets everything, including a sticky error and the last event ID; limits stay.
    void reset() noexcept {
        restart();
        last_event_id_.clear();
        reconnection_time_.reset();
    }

private:
    // The offset of the first CR or LF, in one pass: two memchr calls would rescan
    // the rest of the input for every line of a stream that uses only CR.
    static std::size_t find_line_end(std::string_view input) noexcept {
        for (std::size_t i = 0; i < input.size(); ++i)
            if (input[i] == '\n' || input[i] == '\r') return i;
        return std::string_view::npos;
    }

    // §9.2.5: "stream = [ bom ] *event", the BOM being U+FEFF, EF BB BF in UTF-8
    // ("One leading U+FEFF BYTE ORDER MARK character must be ignored if any are
    // present"). Matching bytes wait in line_; at the first mismatch they stay
    // there as the start of the first line.
    void take_bom(std::string_view& input) noexcept {
        static constexpr std::string_view bom = "\xEF\xBB\xBF";
        while (!input.empty()) {
            if (input.front() != bom[line_.size()]) {
                at_start_ = false;
                return;
            }
            line_.push_back(input.front());
            input.remove_prefix(1);
            if (line_.size() == bom.size()) {
                line_.clear();
                at_start_ = false;
                return;
            }
        }
    }

    // §9.2.6: one line, its line end removed. need_more means "nothing to report".
    parse_result interpret(std::string_view line) noexcept {
        if (line.empty()) return dispatch();
        if (line.front() == ':') return parse_result::need_more;  // a comment
        // "If the line contains a U+003A COLON character": the field name is what
        // comes before the first colon, the value what follows it, less one leading
        // U+0020 SPACE if there is one. Otherwise the whole line is the field name
        // and the value is empty.
        std::string_view name = line;
        std::string_view value;
        if (const std::size_t colon = line.find(':'); colon != std::string_view::npos) {
            name = line.substr(0, colon);
            value = line.substr(colon + 1);
            if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        }
        if (name == "data") {
            // The data dispatched is the buffer plus this value: the LF appended
            // after it is the one removed at dispatch.
            if (data_.size() + value.size() > limits_.max_event) return fail(sse::error::event_too_large);
            data_.append(value);
            data_.push_back('\n');
        } else if (name == "event") {
            type_.assign(value);
        } else if (name == "id") {
            // "If the field value does not contain U+0000 NULL, then set the last
            // event ID buffer to the field value. Otherwise, ignore the field."
            if (value.find('\0') == std::string_view::npos) {
                id_buffer_.assign(value);
                id_pending_ = true;
            }
        } else if (name == "retry") {
            if (set_reconnection_time(value)) return parse_result::retry;
        }
        // "Otherwise: The field is ignored."
        return parse_result::need_more;
    }

    // §9.2.6 "dispatch the event", for web browsers.
    parse_result dispatch() noexcept {
        // Step 1: the last event ID string takes the buffer's value, event or not.
        // The buffer is swapped in rather than copied; it is only read again after
        // the next `id:` has assigned it.
        if (id_pending_) {
            last_event_id_.swap(id_buffer_);
            id_pending_ = false;
        }
        // Step 2: "If the data buffer is an empty string, set the data buffer and the
        // event type buffer to the empty string and return."
        if (data_.empty()) {
            type_.clear();
            return parse_result::need_more;
        }
        // Step 3: the buffer always ends in the LF its last `data` line appended.
        data_.pop_back();
        dispatched_ = true;
        return parse_result::event;
    }

    // "If the field value consists of only ASCII digits, then interpret the field
    // value as an integer in base ten ... Otherwise, ignore the field." An empty
    // value is no integer at all, so it is ignored too.
    bool set_reconnection_time(std::string_view value) noexcept {
        if (value.empty()) return false;
        std::uint64_t n = 0;
        constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
        for (const char c : value) {
            if (c < '0' || c > '9') return false;
            const auto digit = static_cast<std::uint64_t>(c - '0');
            n = n > (max - digit) / 10 ? max : n * 10 + digit;
        }
        reconnection_time_ = n;
        return true;
    }

    // Nothing is parsed after an error, so the partial line is dropped at once.
    parse_result fail(sse::error e) noexcept {
        error_ = e;
        line_.clear();
        return parse_result::error;
    }

    sse::limits limits_;
    std::string line_;           // an incomplete line (or the first bytes of a BOM)
    std::string data_;           // the data buffer
    std::string type_;           // the event type buffer
    std::string id_buffer_;      // the last event ID buffer, when id_pending_
    std::string last_event_id_;  // the last event ID string
    std::optional<std::uint64_t> reconnection_time_;
    std::error_code error_;
    bool id_pending_ = false;  // an `id:` was read since the last dispatch
    bool skip_lf_ = false;     // the last line ended in CR: an LF next belongs to it
    bool dispatched_ = false;  // an event was reported: clear the buffers first
    bool at_start_ = true;     // no byte of the stream has been decided yet (BOM)
};

}  // namespace herald::sse

#endif
