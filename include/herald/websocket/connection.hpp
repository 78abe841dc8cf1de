// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_WEBSOCKET_CONNECTION_HPP
#define HERALD_WEBSOCKET_CONNECTION_HPP

// The WebSocket connection state machine (RFC 6455 §5-§7), sans-I/O: bytes in,
// events out; calls in, bytes out.
//
// How it works. next(input) consumes from the front of `input` and returns one
// event at a time:
//   need_more  everything in `input` is used; read more and call again
//   message    a whole message (text or binary), assembled from its fragments;
//              data() is valid until the next call
//   ping/pong  a control frame; a ping is answered with a pong at once (§5.5.2),
//              or, while an earlier pong still waits in output(), that pong is
//              replaced: §5.5.3 lets an endpoint answer only the most recent ping,
//              and a peer that sends pings and never reads must not grow output()
//   close      the peer's close frame (code, reason); unless this side closed
//              first, the reply echoing its code is queued (§5.5.1); the
//              connection is closed, and the transport may be closed once the
//              output is written
//   error      the peer broke the protocol: a close frame with the code for the
//              error (close_code_for: 1002, 1007, 1009) is queued and the
//              connection is failed (§7.1.7); error() tells which rule
// Payload bytes are unmasked and appended to the message as they arrive, so a
// large frame needs no second buffer, and text is validated as it arrives, so
// invalid UTF-8 fails the connection at the first bad byte, even mid-fragment.
// Given bytes it may change (next(std::span<char>&)), a message of one whole frame
// is unmasked and validated where it lies instead, and data() is a view into them.
// Control frames may come between the fragments of a message (§5.4).
//
// Bytes to send — frames from the write_* calls, the automatic pongs and close
// replies — are appended to output(). The caller takes them before it writes them
// (take_output(), or a copy then consume_output(n) before the next call of next()):
// an unsent pong may be rewritten in place (detail/frame_writer.hpp). A client
// masks every frame with a key from its random source (§5.3); a server masks none.
//
// permessage-deflate (RFC 7692), after enable_deflate(): a message whose first
// frame has RSV1 is inflated as it arrives, in steps held against max_message and
// the budget (a decompression bomb fails with 1009 at the limit, not after), and
// write_message compresses what is worth it (deflate_codec.hpp); fragments are
// sent uncompressed (§6 lets any message be).

#include <herald/buffer.hpp>
#include <herald/memory_budget.hpp>
#include <herald/websocket/deflate_codec.hpp>
#include <herald/websocket/detail/frame_writer.hpp>
#include <herald/websocket/error.hpp>
#include <herald/websocket/frame.hpp>
#include <herald/websocket/mask.hpp>
#include <herald/websocket/utf8.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace herald::websocket {

struct limits {
    std::uint64_t max_frame = 16 * 1024 * 1024;    // one frame's payload
    std::uint64_t max_message = 16 * 1024 * 1024;  // one message, all fragments
    // Shared by every connection given it (herald/memory_budget.hpp): the message
    // being received is held against it as its bytes arrive, and bytes it cannot
    // hold fail the connection with budget_error::exhausted (close 1009).
    memory_budget* budget = nullptr;
};

enum class event_type { need_more, message, ping, pong, close, error };

enum class state { open, closing, closed };  // closing: our close is sent, the peer's is awaited

class connection {
public:
    // `random` gives 32 random bits for each mask key. A client must have one: a
    // client without it starts closed, with error() == invalid_state.
    explicit connection(role r, const websocket::limits& l = {}, std::function<std::uint32_t()> random = {})
        : limits_(l), held_(l.budget), writer_(r, random), role_(r) {
        if (role_ == role::client && !random) {
            error_ = error::invalid_state;
            failed_ = true;
            state_ = state::closed;
        }
    }

    // After the close handshake or a failure, input is dropped: nothing after a
    // close frame is read (§5.5.1). impl/connection_next.hpp.
    event_type next(std::string_view& input) { return next(input, false); }
    // The same, for input the caller lets the connection change: a whole message
    // of one frame that lies in `input` (the usual small message) is unmasked and
    // checked where it lies, and data() is a view into it, not a copy, as
    // uWebSockets hands out its receive buffer. Such a message is not held against
    // the budget: its bytes are the caller's. `input` must stay until the next call.
    event_type next(std::span<char>& input) {
        std::string_view view(input.data(), input.size());
        const event_type ev = next(view, true);
        input = input.last(view.size());
        return ev;
    }

    // What the last event carries: the message, or the ping/pong payload (empty
    // for other events); valid until the next call of next().
    std::string_view data() const noexcept { return data_; }
    opcode message_type() const noexcept { return delivered_type_; }
    // The peer's close: 1005 when its frame had no code (§7.1.5), and the reason.
    std::uint16_t close_code() const noexcept { return close_code_; }
    std::string_view close_reason() const noexcept {
        return peer_closed_ && control_.size() > 2 ? std::string_view(control_).substr(2) : std::string_view();
    }
    std::error_code error() const noexcept { return error_; }
    websocket::state state() const noexcept { return state_; }
    // Payload bytes of the frame under way still to come (0 between frames): lets
    // the I/O layer read a large frame in one go instead of in small pieces.
    std::uint64_t frame_bytes_left() const noexcept { return in_frame_ ? remaining_ : 0; }

    // Bytes to send, in order; take them before writing them (see the top).
    std::string_view output() const noexcept { return writer_.output(); }
    void consume_output(std::size_t n) noexcept { writer_.consume(n); }
    // Moves all of output() into `out` (its old contents dropped), keeping both
    // buffers' capacity: for an I/O layer that writes from a buffer of its own.
    void take_output(std::string& out) noexcept { writer_.take(out); }

    // Turns permessage-deflate on with the agreement of the handshake
    // (accept_deflate_offer, check_deflate_answer). Before any frame.
    void enable_deflate(const deflate_params& params, const deflate_options& options) {
        deflate_ = std::make_unique<deflate_codec>(params, role_, options);
    }
    // The codec when permessage-deflate was agreed, else null.
    const deflate_codec* deflate() const noexcept { return deflate_.get(); }

    // Appends a whole message as one frame, compressed when permessage-deflate is
    // on and the codec finds it worth it.
    std::error_code write_message(opcode type, std::string_view payload) {
        if (type != opcode::text && type != opcode::binary) return error::invalid_state;
        if (state_ != state::open) return error::closed;
        if (sending_fragments_) return error::invalid_state;  // §5.4: messages do not interleave
        if (deflate_ && deflate_->compresses(payload.size())) {
            thread_local std::string compressed;  // one per thread: copied into the output at once
            const bool ok = deflate_->compress(payload, compressed);
            if (ok) writer_.append_frame(type, compressed, true, rsv1);
            free_if_large(compressed);
            if (ok) return {};
        }
        writer_.append_frame(type, payload, true);
        return {};
    }

    // Appends one fragment of a message: `first` chooses text or binary for the
    // message, `fin` ends it (§5.4). Control frames may come between fragments;
    // other messages may not, so a first fragment while one is open, or a later
    // one with none open, is invalid_state.
    std::error_code write_fragment(opcode type, std::string_view payload, bool first, bool fin) {
        if (state_ != state::open) return error::closed;
        if (first == sending_fragments_) return error::invalid_state;
        if (first && type != opcode::text && type != opcode::binary) return error::invalid_state;
        writer_.append_frame(first ? type : opcode::continuation, payload, fin);
        sending_fragments_ = !fin;
        return {};
    }

    // Whether a message begun with write_fragment awaits its last fragment.
    bool sending_fragments() const noexcept { return sending_fragments_; }
    bool is_client() const noexcept { return role_ == role::client; }

    std::error_code write_ping(std::string_view payload) {
        if (state_ != state::open) return error::closed;
        if (payload.size() > 125) return error::invalid_state;
        writer_.append_frame(opcode::ping, payload, true);
        return {};
    }

    // Starts the close handshake (§7.1.2). The connection is closing until the
    // peer's close arrives (next() reports it) and closed after.
    std::error_code write_close(std::uint16_t code = 1000, std::string_view reason = {}) {
        if (state_ != state::open) return error::closed;
        if (!is_sendable_close_code(code)) return error::invalid_close_code;
        if (reason.size() > 123) return error::invalid_state;  // 125 minus the code
        utf8_validator check;
        if (!check.feed(reason) || !check.finish()) return error::invalid_utf8;
        writer_.append_close(code, reason);
        state_ = state::closing;
        return {};
    }

    // The header of a server's unmasked data frame, for writing (header, payload) as a gathered pair without
    // copying the payload (DESIGN.md "Limits and memory"); `compressed`: compress_message's (RSV1). Servers only.
    std::size_t frame_header_for(opcode type, std::uint64_t size, char (&out)[max_header_size], bool fin = true,
                                 bool compressed = false) const noexcept {
        return write_header({fin, static_cast<std::uint8_t>(compressed ? rsv1 : 0), type, false, size, {}}, out);
    }

private:
    event_type next(std::string_view& input, bool in_place);
    bool fits_in_place(std::size_t available) const noexcept;
    event_type message_in_place(std::string_view& input);

    // Frame-level rules that need the connection's state (§5.4, limits).
    std::error_code start_frame() {
        if (header_.length > limits_.max_frame) return error::frame_too_big;
        // RFC 7692 §6.1: RSV1 marks a message, on its first frame only.
        if (header_.rsv & rsv1) {
            if (is_control(header_.op)) return error::compressed_control;
            if (header_.op == opcode::continuation) return error::compressed_continuation;
        }
        if (is_control(header_.op)) {
            control_.clear();
            return {};
        }
        if (header_.op == opcode::continuation) {
            if (!in_message_) return error::unexpected_continuation;
        } else {
            if (in_message_) return error::expected_continuation;
            in_message_ = true;
            message_type_ = header_.op;
            message_.clear();
            utf8_.reset();
            compressed_ = (header_.rsv & rsv1) != 0;
        }
        // A compressed message is checked as it inflates (inflate_into_message).
        if (!compressed_ && message_.size() + header_.length > limits_.max_message) return error::message_too_big;
        return {};
    }

    // The compressed payload in `input` (up to the frame's end), inflated.
    std::error_code inflate_payload(std::string_view& input) {
        const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, input.size()));
        const std::string_view chunk = input.substr(0, take);
        input.remove_prefix(take);
        remaining_ -= take;
        if (!header_.masked) return inflate_into_message(chunk);
        return for_each_unmasked(chunk, header_.key, mask_offset_, [this](std::string_view in) { return inflate_into_message(in); });
    }

    // Inflates all of `in` into message_, a step (at most 32 KiB) at a time, each
    // step held against max_message, the budget and (for text) UTF-8.
    std::error_code inflate_into_message(std::string_view in) {
        while (true) {
            const std::size_t before = message_.size();
            const std::uint64_t room = limits_.max_message - std::min<std::uint64_t>(before, limits_.max_message);
            bool full = false;
            const auto step = static_cast<std::size_t>(std::min<std::uint64_t>(room, 32 * 1024) + 1);
            // The bytes inflated are checked in order — UTF-8, then the limit, then
            // a corruption after them — so the error is the same however the input
            // was cut into reads (never more than max_message + 1 bytes are out).
            const std::error_code inflated = deflate_->inflate_some(in, message_, step, full);
            if (message_type_ == opcode::text && !utf8_.feed(std::string_view(message_).substr(before)))
                return error::invalid_utf8;
            if (message_.size() > limits_.max_message) return error::message_too_big;
            if (!held_.hold(message_.size())) return budget_error::exhausted;
            if (inflated) return inflated;
            if (!full && in.empty()) return {};
        }
    }

    // A delivered message is let go of before the next event: its bytes go back to
    // the budget, and a large buffer goes to the thread's spares rather than being
    // kept by an idle connection (herald/buffer.hpp).
    void forget_message() {
        delivered_ = false;
        free_if_large(message_);
        message_.clear();
        held_.release();
    }

    event_type end_frame() {
        switch (header_.op) {
        case opcode::ping:
            data_ = control_;
            if (state_ == state::open) writer_.answer_ping(control_);  // §5.5.2
            return event_type::ping;
        case opcode::pong: data_ = control_; return event_type::pong;
        case opcode::close: return on_close();
        default:
            if (!header_.fin) return event_type::need_more;
            in_message_ = false;
            if (compressed_) {  // RFC 7692 §7.2.2: the tail the sender removed
                if (auto bad = inflate_into_message(deflate_tail)) return fail(bad);
                deflate_->end_message();
            }
            if (message_type_ == opcode::text && !utf8_.finish()) return fail(error::invalid_utf8);
            delivered_type_ = message_type_;
            data_ = message_;
            delivered_ = true;
            return event_type::message;
        }
    }

    // §5.5.1 and §7.4: the close payload is empty, or a 2-byte code that may be
    // sent followed by a UTF-8 reason.
    event_type on_close() {
        if (control_.size() == 1) return fail(error::bad_close_payload);
        close_code_ = 1005;
        if (control_.size() >= 2) {
            close_code_ = static_cast<std::uint16_t>(static_cast<unsigned char>(control_[0]) << 8 |
                                                     static_cast<unsigned char>(control_[1]));
            if (!is_sendable_close_code(close_code_)) return fail(error::bad_close_payload);
            utf8_validator check;  // the reason stays in control_: nothing is read after a close
            if (!check.feed(std::string_view(control_).substr(2)) || !check.finish()) return fail(error::invalid_utf8);
        }
        if (state_ == state::open) {
            // Echo the code (§5.5.1); a close without one is answered without one.
            if (close_code_ == 1005) writer_.append_frame(opcode::close, {}, true);
            else writer_.append_close(close_code_, {});
        }
        state_ = state::closed;
        peer_closed_ = true;
        return event_type::close;
    }

    event_type fail(std::error_code ec) {
        error_ = ec;
        failed_ = true;
        // §7.1.7: send a close frame with the code, unless ours went already.
        if (state_ == state::open) writer_.append_close(close_code_for(ec), {});
        forget_message();  // its bytes go back to the budget: nothing more is read
        state_ = state::closed;
        return event_type::error;
    }

    // By size, small ones last (little padding): one per idle client (docs/benchmarks.md).
    websocket::limits limits_;
    frame_header header_{};
    std::uint64_t remaining_ = 0;
    std::string message_;
    budget_share held_;  // message_'s bytes, against limits_.budget
    std::string control_;
    utf8_validator utf8_;
    std::string_view data_{};
    std::error_code error_{};
    detail::frame_writer writer_;
    std::unique_ptr<deflate_codec> deflate_;  // permessage-deflate, when agreed
    role role_;
    char header_bytes_[max_header_size]{};
    std::uint8_t header_size_ = 0, mask_offset_ = 0;  // a cut header's bytes kept; the next key byte (0-3)
    bool in_frame_ = false;
    bool in_message_ = false;
    opcode message_type_ = opcode::text;
    opcode delivered_type_ = opcode::text;
    bool delivered_ = false;  // data_ is message_, let go of at the next call
    std::uint16_t close_code_ = 0;
    bool sending_fragments_ = false;
    websocket::state state_ = state::open;
    bool failed_ = false;
    bool peer_closed_ = false;
    bool compressed_ = false;  // the message being received has RSV1
};

}  // namespace herald::websocket

#include <herald/websocket/impl/connection_next.hpp>

#endif
