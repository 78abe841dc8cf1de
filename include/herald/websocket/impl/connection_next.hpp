// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_WEBSOCKET_IMPL_CONNECTION_NEXT_HPP
#define HERALD_WEBSOCKET_IMPL_CONNECTION_NEXT_HPP

// websocket::connection's receiving loop (connection.hpp, "How it works"): frames
// are parsed from the front of the input, their payloads unmasked into the message
// being assembled (or the control frame's buffer), and one event returned at a time.
// Given input it may change, a message of one whole frame skips the assembly: it
// is unmasked and validated where it lies and handed out as a view (no copy, no
// budget), the path every small message of a read takes.

#include <herald/websocket/connection.hpp>

namespace herald::websocket {

inline event_type connection::next(std::string_view& input, bool in_place) {
    data_ = {};  // a view into buffers the next frame may reallocate: never stale
    if (delivered_) forget_message();
    while (true) {
        if (state_ == state::closed) {
            input = {};
            return event_type::need_more;
        }
        if (!in_frame_) {
            // A header is read straight from `input`; one cut by the end of an
            // input is kept (at most 13 bytes) and completed from the next, so
            // need_more always means that all of `input` was used.
            const std::size_t had = header_size_;
            std::size_t add = input.size();
            std::string_view source = input;
            if (had != 0) {
                add = std::min(input.size(), max_header_size - had);
                if (add) std::memcpy(header_bytes_ + had, input.data(), add);  // data() may be null when empty
                source = {header_bytes_, had + add};
            }
            std::error_code ec;
            const std::size_t n = read_header(source, header_, role_, ec, deflate_ ? rsv1 : 0);
            if (ec) return fail(ec);
            if (n == 0) {  // fewer bytes than the header needs, so fewer than 14
                if (had == 0 && add) std::memcpy(header_bytes_, input.data(), add);
                header_size_ = static_cast<std::uint8_t>(had + add);
                input.remove_prefix(add);
                return event_type::need_more;
            }
            header_size_ = 0;
            input.remove_prefix(n - had);
            if (auto bad = start_frame()) return fail(bad);
            in_frame_ = true;
            remaining_ = header_.length;
            mask_offset_ = 0;
            if (in_place && fits_in_place(input.size())) return message_in_place(input);
        }
        if (compressed_ && !is_control(header_.op)) {
            if (auto bad = inflate_payload(input)) return fail(bad);
            if (remaining_ != 0) return event_type::need_more;
            in_frame_ = false;
            if (auto ev = end_frame(); ev != event_type::need_more) return ev;
            continue;
        }
        const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, input.size()));
        std::string& target = is_control(header_.op) ? control_ : message_;
        const std::size_t before = target.size();
        // Held as it arrives, not as a header announces it: a header is 14
        // bytes, and must not reserve 16 MiB of everyone's budget.
        if (&target == &message_ && !held_.hold(before + take)) return fail(budget_error::exhausted);
        reuse_spare(target, before + take);  // room let go of by an earlier message, for the bytes in hand
        target.append(input.data(), take);
        input.remove_prefix(take);
        remaining_ -= take;
        if (header_.masked)
            mask_offset_ = static_cast<std::uint8_t>(apply_mask(target.data() + before, take, header_.key, mask_offset_));
        if (!is_control(header_.op) && message_type_ == opcode::text &&
            !utf8_.feed(std::string_view(target).substr(before)))
            return fail(error::invalid_utf8);
        if (remaining_ != 0) return event_type::need_more;
        in_frame_ = false;
        if (auto ev = end_frame(); ev != event_type::need_more) return ev;
    }
}

// A data frame just started that is a whole message by itself (FIN, not a
// continuation, not compressed: RFC 7692 messages inflate into message_) and whose
// payload is all in the `available` bytes of input.
inline bool connection::fits_in_place(std::size_t available) const noexcept {
    return header_.fin && !is_control(header_.op) && header_.op != opcode::continuation && !compressed_ &&
           header_.length <= available;
}

// The message whose payload starts `input`, unmasked in the caller's bytes (which
// next(std::span<char>&) lets change) and validated whole (§8.1: text is UTF-8).
inline event_type connection::message_in_place(std::string_view& input) {
    const auto size = static_cast<std::size_t>(header_.length);
    char* const payload = const_cast<char*>(input.data());  // the span's bytes, which are not const
    if (header_.masked) apply_mask(payload, size, header_.key);
    const std::string_view message(payload, size);
    if (message_type_ == opcode::text && (!utf8_.feed(message) || !utf8_.finish())) return fail(error::invalid_utf8);
    input.remove_prefix(size);
    remaining_ = 0;
    in_frame_ = false;
    in_message_ = false;
    delivered_type_ = message_type_;
    data_ = message;  // delivered_ stays false: message_ holds nothing to let go of
    return event_type::message;
}

}  // namespace herald::websocket

#endif
