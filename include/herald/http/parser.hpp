// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_HTTP_PARSER_HPP
#define HERALD_HTTP_PARSER_HPP

// HTTP/1.1 request and response parsers over llhttp, in the pull style.
//
// How it works: the caller owns the bytes and calls `next(input)` in a loop. Each
// call runs llhttp until one event is ready, removes the bytes it consumed from the
// front of `input`, and returns the event:
//
//   need_more       every byte was consumed; read more and call again
//   head            the start line and fields are complete: method(), target(),
//                   fields(), keep_alive(), ... are valid until the next message
//   body            `event.data` is a piece of the (de-chunked) body; it points into
//                   the caller's input, so nothing is copied. Pieces found in one run
//                   are queued, so a piece may lie in bytes an earlier call already
//                   removed from `input`: keep the bytes until next() says need_more
//   end_of_message  the message is complete; the next call starts the next one
//                   (pipelined requests simply stay in `input`)
//   upgrade         after end_of_message of an upgrade (101, CONNECT, Upgrade:); the
//                   bytes after the head are left in `input`, untouched, for the new
//                   protocol. Calling next() again instead goes on parsing HTTP, which
//                   is right when the server declined the upgrade (RFC 9110 §7.8).
//   error           error() says why; http::status_for(error()) says what to answer.
//
// llhttp runs until a message ends (on_message_complete returns HPE_PAUSED, so a
// pipelined message's head never overwrites the one being reported), until the head
// of a message with a body ends (so the head's bytes are counted exactly), or until
// the small queue of body pieces is full; `llhttp_get_error_pos` tells how much was
// consumed. Events found on the way wait in flags and the queue, and next() hands
// them out one per call without running llhttp again: a body-less request costs one
// llhttp_execute. After a message ends, llhttp is resumed only when more bytes come. Limits are checked in the callbacks; the head-size limit is enforced by
// never feeding llhttp more than the bytes the head may still use, so a peer cannot
// make the parser read, let alone store, more than the limit. Errors are sticky
// until reset().

#include <herald/config.hpp>
#include <herald/http/error.hpp>
#include <herald/http/detail/llhttp_errors.hpp>
#include <herald/http/fields.hpp>
#include <herald/http/message.hpp>
#include <herald/http/status.hpp>

#include <llhttp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace herald::http {

struct limits {
    std::size_t max_header_bytes = 16 * 1024;  // start line, fields and CRLFs together
    std::size_t max_fields = 100;
    std::size_t max_target = 8 * 1024;
    std::uint64_t max_body = 1024 * 1024;
};

enum class event_type { need_more, head, body, end_of_message, upgrade, closed, error };

struct event {
    event_type type = event_type::need_more;
    std::string_view data;  // body bytes, for event_type::body
};

namespace detail {

class parser_base {
public:
    parser_base(const parser_base&) = delete;
    parser_base& operator=(const parser_base&) = delete;

    event next(std::string_view& input) noexcept {
        upgrade_taken_ = false;  // calling again after an upgrade declines it
        while (true) {
            if (error_) return {event_type::error, {}};
            if (auto pending = take_pending()) return *pending;
            if (closed_) return after_close(input);
            // A pause at the end of a message needs no bytes to settle: resume lazily.
            if (input.empty() && (!paused_ || paused_at_end_)) return {event_type::need_more, {}};
            resume();
            decline_upgrade();  // called again after an upgrade: the caller goes on with HTTP
            const bool in_head = !in_body_;
            std::size_t feed = input.size();
            if (in_head) {
                const std::size_t room = limits_.max_header_bytes - head_bytes_;
                if (feed > room) feed = room;
                if (feed == 0 && !input.empty()) return fail(http::error::header_too_large);
            }
            const char* data = input.empty() ? no_bytes_ : input.data();
            if (!chunk_crlf_.check(data, feed, fed_)) return fail(http::error::bad_chunk);
            run_data_ = data;
            run_size_ = feed;
            run_base_ = static_cast<std::uint32_t>(fields_.bytes());
            const llhttp_errno_t err = llhttp_execute(&llhttp_, data, feed);
            std::size_t consumed = feed;
            if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
                consumed = static_cast<std::size_t>(llhttp_get_error_pos(&llhttp_) - data);
                paused_ = err == HPE_PAUSED;
                paused_at_end_ = paused_ && pending_end_;
                if (err == HPE_PAUSED_UPGRADE) upgrade_delivered_ = true;  // already reported at end_of_message
            } else if (err != HPE_OK) {
                if (recording_) fields_.clear();  // its offsets reach past the bytes kept
                return fail(error_ ? error_ : translate_llhttp_error(err, llhttp_get_error_pos(&llhttp_)));
            }
            fed_ += consumed;
            // Bytes consumed while the head was open belong to it, up to and including
            // the pause at its last byte. A head that fills the room without ending
            // fails on the next turn, when the room is zero.
            if (in_head) head_bytes_ += consumed;
            // The fields are offsets into the head's bytes: keep this run's in one copy.
            if (recording_) fields_.append_raw({data, consumed});
            if (pending_head_ && recording_) {
                fields_.finish_values();
                recording_ = false;
            }
            input.remove_prefix(consumed);
        }
    }

    // The peer closed its side. Call after next() returned need_more. Returns
    // end_of_message when the close ended a body read until close (RFC 9112 §6.3,
    // item 8), closed when it came between messages, and error partial_message when
    // it cut a message short.
    event finish() noexcept {
        if (error_) return {event_type::error, {}};
        // After an upgrade that was not declined the bytes belong to another protocol.
        if (pending_head_ || pending_end_ || body_count_ > 0 || upgrade_taken_) return fail(http::error::invalid_state);
        if (paused_at_end_) {
            // Let llhttp settle after the message; an upgrade it then reports was
            // already handed out (and, since finish() is called, declined).
            resume();
            llhttp_errno_t settled = llhttp_execute(&llhttp_, no_bytes_, 0);
            if (settled == HPE_PAUSED_UPGRADE) {
                upgrade_delivered_ = true;
                decline_upgrade();
                settled = llhttp_execute(&llhttp_, no_bytes_, 0);
            }
            if (settled != HPE_OK) return fail(http::error::invalid_state);
        }
        decline_upgrade();
        if (paused_) return fail(http::error::invalid_state);
        const llhttp_errno_t err = llhttp_finish(&llhttp_);
        if (err != HPE_OK && err != HPE_PAUSED) return fail(http::error::partial_message);
        if (auto pending = take_pending()) return *pending;
        return {event_type::closed, {}};
    }

    // Forgets everything, including a sticky error; limits stay.
    void reset() noexcept {
        llhttp_reset(&llhttp_);
        clear_message();
        head_bytes_ = 0;
        error_ = {};
        paused_ = paused_at_end_ = upgrade_delivered_ = upgrade_taken_ = closed_ = recording_ = false;
        fed_ = 0;
        chunk_crlf_.reset();
        body_count_ = body_taken_ = 0;
        pending_head_ = pending_end_ = pending_upgrade_ = false;
    }

    std::error_code error() const noexcept { return error_; }
    const http::fields& fields() const noexcept { return fields_; }
    unsigned version() const noexcept { return version_; }
    bool keep_alive() const noexcept { return keep_alive_; }
    bool chunked() const noexcept { return (llhttp_.flags & F_CHUNKED) != 0; }
    std::optional<std::uint64_t> content_length() const noexcept { return content_length_; }
    bool upgrade() const noexcept { return upgrade_; }
    const http::limits& limits() const noexcept { return limits_; }
    void set_limits(const http::limits& l) noexcept { limits_ = l; }

protected:
    parser_base(llhttp_type_t type, const http::limits& l) noexcept : limits_(l) {
        llhttp_init(&llhttp_, type, &settings());
        llhttp_.data = this;
    }
    ~parser_base() = default;

    static parser_base& self(llhttp_t* p) noexcept { return *static_cast<parser_base*>(p->data); }

    int stop(http::error e) noexcept {
        error_ = e;
        return -1;  // llhttp turns -1 into HPE_USER and stops
    }

    const llhttp_t& raw() const noexcept { return llhttp_; }

    // Bytes of the start line that the subclass stores (target or reason).
    std::string start_text_;

private:
    static const llhttp_settings_t& settings() noexcept {
        static const llhttp_settings_t instance = [] {
            llhttp_settings_t s;
            llhttp_settings_init(&s);
            s.on_message_begin = [](llhttp_t* p) { return self(p).on_message_begin(); };
            s.on_url = [](llhttp_t* p, const char* at, std::size_t n) { return self(p).on_start_text(at, n, true); };
            s.on_status = [](llhttp_t* p, const char* at, std::size_t n) { return self(p).on_start_text(at, n, false); };
            s.on_version_complete = [](llhttp_t* p) { return self(p).on_version_complete(); };
            s.on_header_field = [](llhttp_t* p, const char* at, std::size_t n) { return self(p).on_field_name(at, n); };
            s.on_header_field_complete = [](llhttp_t* p) { return self(p).on_field_name_complete(); };
            s.on_header_value = [](llhttp_t* p, const char* at, std::size_t n) { return self(p).on_field_value(at, n); };
            s.on_headers_complete = [](llhttp_t* p) { return self(p).on_headers_complete(); };
            s.on_chunk_header = [](llhttp_t* p) { return self(p).on_chunk_header(); };
            s.on_body = [](llhttp_t* p, const char* at, std::size_t n) { return self(p).on_body(at, n); };
            s.on_message_complete = [](llhttp_t* p) { return self(p).on_message_complete(); };
            return s;
        }();
        return instance;
    }

    // The llhttp callbacks and what they share: impl/parser_callbacks.hpp.
    void clear_message() noexcept;
    int on_message_begin() noexcept;
    std::uint32_t offset_of(const char* at) const noexcept;
    int on_start_text(const char* at, std::size_t n, bool is_target);
    int on_version_complete() noexcept;
    int on_field_name(const char* at, std::size_t n);
    int on_field_name_complete() noexcept;
    int on_field_value(const char* at, std::size_t n);
    int count_trailer(std::size_t n) noexcept;
    int on_headers_complete() noexcept;
    int on_chunk_header() noexcept;
    int on_body(const char* at, std::size_t n) noexcept;
    int on_message_complete() noexcept;

    std::optional<event> take_pending() noexcept {
        if (pending_head_) {
            pending_head_ = false;
            return event{event_type::head, {}};
        }
        if (body_taken_ < body_count_) {
            const std::string_view data = body_queue_[body_taken_++];
            if (body_taken_ == body_count_) body_count_ = body_taken_ = 0;
            return event{event_type::body, data};
        }
        if (pending_end_) {
            pending_end_ = false;
            head_bytes_ = 0;  // the next head starts counting here
            closed_ = !keep_alive_ && !pending_upgrade_;
            return event{event_type::end_of_message, {}};
        }
        if (pending_upgrade_) {
            pending_upgrade_ = false;
            upgrade_taken_ = true;
            return event{event_type::upgrade, {}};
        }
        return std::nullopt;
    }

    // RFC 9112 §9.6: after a message with `Connection: close` a server "SHOULD NOT
    // process any further requests". llhttp's default build drops such bytes
    // silently; herald reports them. Stray CR and LF are tolerated (RFC 9112 §2.2).
    event after_close(std::string_view& input) noexcept {
        while (!input.empty() && (input.front() == '\r' || input.front() == '\n')) input.remove_prefix(1);
        if (!input.empty()) return fail(http::error::data_after_close);
        return {event_type::need_more, {}};
    }

    // llhttp stopped at an upgrade (HPE_PAUSED_UPGRADE) that was already handed out
    // at end_of_message; going on with HTTP means telling llhttp so.
    void decline_upgrade() noexcept {
        if (!upgrade_delivered_) return;
        llhttp_resume_after_upgrade(&llhttp_);
        upgrade_delivered_ = false;
    }

    void resume() noexcept {
        if (!paused_) return;
        llhttp_resume(&llhttp_);
        paused_ = paused_at_end_ = false;
    }

    event fail(std::error_code ec) noexcept {
        error_ = ec;
        return {event_type::error, {}};
    }

    // What llhttp_execute is given when there are no bytes: it needs a valid pointer
    // to let a paused parser settle (run the steps that consume nothing).
    static constexpr char no_bytes_[1] = {};

    llhttp_t llhttp_{};
    http::limits limits_;
    http::fields fields_;
    std::error_code error_;
    // Body pieces found in one run, handed out in order; they point into the input.
    std::array<std::string_view, 8> body_queue_{};
    std::size_t body_count_ = 0;
    std::size_t body_taken_ = 0;
    std::optional<std::uint64_t> content_length_;
    const char* run_data_ = nullptr;  // where the current llhttp_execute started
    std::size_t run_size_ = 0;         // and how many bytes it was given
    std::uint64_t fed_ = 0;            // bytes llhttp consumed before this run
    detail::chunk_crlf_check chunk_crlf_;
    std::uint32_t run_base_ = 0;       // offset of run_data_ in the head bytes kept
    bool recording_ = false;           // a head is open: keep each run's bytes
    std::size_t head_bytes_ = 0;
    std::size_t trailer_bytes_ = 0;
    std::uint64_t body_bytes_ = 0;
    unsigned version_ = 11;
    bool paused_ = false;
    bool paused_at_end_ = false;
    bool closed_ = false;
    bool upgrade_delivered_ = false;
    bool upgrade_taken_ = false;  // the last event was upgrade and next() was not called since
    bool pending_head_ = false;
    bool pending_end_ = false;
    bool pending_upgrade_ = false;
    bool in_body_ = false;
    bool in_trailers_ = false;
    bool name_open_ = false;
    bool keep_alive_ = false;
    bool upgrade_ = false;

protected:
    bool skip_body_ = false;
};

}  // namespace detail

class request_parser : public detail::parser_base {
public:
    explicit request_parser(const http::limits& l = {}) noexcept : parser_base(HTTP_REQUEST, l) {}

    std::string_view method() const noexcept {
        return llhttp_method_name(static_cast<llhttp_method_t>(llhttp_get_method(const_cast<llhttp_t*>(&raw()))));
    }
    std::string_view target() const noexcept { return start_text_; }
    bool expects_continue() const noexcept { return expects_100_continue(version(), fields()); }

    // Copies the head into `out` (reusing its capacity) and clears its body.
    void head_into(request& out) const {
        out.method.assign(method());
        out.target.assign(target());
        out.version = version();
        out.fields = fields();
        out.body.clear();
    }
};

class response_parser : public detail::parser_base {
public:
    explicit response_parser(const http::limits& l = {}) noexcept : parser_base(HTTP_RESPONSE, l) {}

    // A response to HEAD has fields that describe a body it does not carry
    // (RFC 9110 §9.3.2): say so before parsing it.
    void expect_no_body(bool yes) noexcept { skip_body_ = yes; }

    unsigned status() const noexcept { return static_cast<unsigned>(llhttp_get_status_code(const_cast<llhttp_t*>(&raw()))); }
    std::string_view reason() const noexcept { return start_text_; }

    void head_into(response& out) const {
        out.status = status();
        out.reason.assign(reason());
        out.version = version();
        out.fields = fields();
        out.body.clear();
    }
};

}  // namespace herald::http

#include <herald/http/impl/parser_callbacks.hpp>

#endif
