// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_WEBSOCKET_DEFLATE_CODEC_HPP
#define HERALD_WEBSOCKET_DEFLATE_CODEC_HPP

// permessage-deflate's codec (RFC 7692 §7.2) over zlib, for one connection and
// one agreement (permessage_deflate.hpp).
//
// How it works. Sending, a whole message is deflated with a sync flush and the
// flush's `00 00 ff ff` tail removed (§7.2.1). Receiving, the payload is inflated
// as it arrives, in steps the caller bounds, and the tail is put back at the end
// of the message (§7.2.2), so a message is checked against the size limit while it
// inflates and a small frame that would inflate to gigabytes is stopped at the
// limit (a decompression bomb costs at most one step past it).
//
// Memory. A compressor that starts every message afresh (own_no_context_takeover,
// the server's default) is not the connection's: one per thread serves every
// connection (compress_message), as uWebSockets' shared compressor does, and the
// same compressed bytes may go to many receivers (compress once, send to many).
// A compressor that keeps its context is the connection's, made at its first
// message: (1 << (window + 2)) + (1 << (mem_level + 9)) bytes, 256 KiB at 15 and 8.
// The inflater is made at the first compressed message: about 7 KiB plus a 32 KiB
// window, kept between messages only when the peer keeps its
// context (otherwise freed at the end of each message).

#include <herald/websocket/permessage_deflate.hpp>

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

namespace herald::websocket {

// The tail a sender removed from each compressed message (RFC 7692 §7.2.1).
inline constexpr std::string_view deflate_tail{"\0\0\xff\xff", 4};

namespace detail {

class zlib_deflater {
public:
    zlib_deflater() = default;
    zlib_deflater(const zlib_deflater&) = delete;
    zlib_deflater& operator=(const zlib_deflater&) = delete;
    ~zlib_deflater() { end(); }

    // Ready with this window and `options`' level and memLevel (made, or remade
    // when they differ). False: zlib could not (out of memory).
    bool ready(int window_bits, const deflate_options& options) {
        window_bits = std::clamp(window_bits, 9, 15);
        const int level = std::clamp(options.level, 1, 9), mem_level = std::clamp(options.mem_level, 1, 9);
        if (live_ && window_bits == window_bits_ && level == level_ && mem_level == mem_level_) return true;
        end();
        z_ = {};
        if (deflateInit2(&z_, level, Z_DEFLATED, -window_bits, mem_level, Z_DEFAULT_STRATEGY) != Z_OK) return false;
        live_ = true;
        window_bits_ = window_bits;
        level_ = level;
        mem_level_ = mem_level;
        return true;
    }

    // Appends `in` deflated with a sync flush, the flush's 4-byte tail removed
    // (RFC 7692 §7.2.1). False when zlib failed (the output is then undefined).
    bool compress(std::string_view in, std::string& out) {
        std::size_t at = out.size();
        out.resize(at + deflateBound(&z_, static_cast<uLong>(std::min<std::size_t>(in.size(), ULONG_MAX))) + 16);
        z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        std::size_t left = in.size();
        while (true) {
            const auto take = static_cast<uInt>(std::min<std::size_t>(left, UINT_MAX));
            z_.avail_in = take;
            const std::size_t room = out.size() - at;
            z_.next_out = reinterpret_cast<Bytef*>(out.data() + at);
            z_.avail_out = static_cast<uInt>(std::min<std::size_t>(room, UINT_MAX));
            const uInt out_before = z_.avail_out;
            const int rc = deflate(&z_, left == take ? Z_SYNC_FLUSH : Z_NO_FLUSH);
            if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
            left -= take - z_.avail_in;
            at += out_before - z_.avail_out;
            if (left == 0 && z_.avail_out != 0) break;  // flushed whole
            if (z_.avail_out == 0) out.resize(out.size() * 2);
        }
        out.resize(at);
        if (std::string_view(out).ends_with(deflate_tail)) out.resize(out.size() - deflate_tail.size());
        return true;
    }

    void reset() noexcept {
        if (live_) deflateReset(&z_);
    }
    void end() noexcept {
        if (live_) deflateEnd(&z_);
        live_ = false;
    }

private:
    z_stream z_{};
    bool live_ = false;
    int window_bits_ = 0, level_ = 0, mem_level_ = 0;
};

class zlib_inflater {
public:
    zlib_inflater() = default;
    zlib_inflater(const zlib_inflater&) = delete;
    zlib_inflater& operator=(const zlib_inflater&) = delete;
    ~zlib_inflater() { end(); }

    bool ready() {
        if (live_) return true;
        z_ = {};
        // Always the largest window, whatever the peer agreed to: zlib checks a
        // distance against a smaller window only when the data it points at has
        // left the output buffer, so a peer that reaches past its agreed window
        // would be refused or not depending on how its bytes were cut into reads
        // (the frames fuzzer found it). With 32 KiB every valid deflate distance
        // reads the same way every time.
        if (inflateInit2(&z_, -15) != Z_OK) return false;
        live_ = true;
        return true;
    }
    z_stream& z() noexcept { return z_; }
    bool live() const noexcept { return live_; }

    // After a block with BFINAL set (§7.2.3.4 allows one): a new deflate stream
    // follows, which may still refer to the window, so the window is carried over.
    bool restart_keeping_window() {
        unsigned char window[1u << 15];
        uInt size = sizeof window;
        if (inflateGetDictionary(&z_, window, &size) != Z_OK) return false;
        if (inflateReset(&z_) != Z_OK) return false;
        return size == 0 || inflateSetDictionary(&z_, window, size) == Z_OK;
    }

    void end() noexcept {
        if (live_) inflateEnd(&z_);
        live_ = false;
    }

private:
    z_stream z_{};
    bool live_ = false;
};

// The calling thread's compressor for messages compressed afresh.
inline zlib_deflater& thread_deflater() {
    thread_local zlib_deflater instance;
    return instance;
}

}  // namespace detail

// Compresses a whole message afresh (no context from earlier messages) into `out`
// (replaced): bytes any peer that agreed to permessage-deflate with a window of at
// least `window_bits` can inflate, whatever else it agreed to. False: send it
// uncompressed (zlib failed, or the result would not be smaller).
inline bool compress_message(std::string_view message, int window_bits, const deflate_options& options, std::string& out) {
    auto& z = detail::thread_deflater();
    out.clear();
    if (!z.ready(window_bits, options)) return false;
    // Reset however compress() ends (a bad_alloc from the output's growth too): the
    // thread's next message, for any connection, must start afresh.
    struct reset_after {
        detail::zlib_deflater& z;
        ~reset_after() { z.reset(); }
    } guard{z};
    const bool ok = z.compress(message, out);
    return ok && out.size() < message.size();
}

class deflate_codec {
public:
    deflate_codec(const deflate_params& params, role r, const deflate_options& options)
        : params_(params), role_(r), options_(options) {}

    // Sending: whether a message of `size` bytes is worth compressing. zlib has no
    // 8-bit window, so a client limited to 8 sends uncompressed (allowed, §6).
    bool compresses(std::size_t size) const noexcept {
        return size >= options_.min_size && params_.own_window_bits(role_) >= 9;
    }

    // Compresses a whole message into `out` (replaced). False: send it
    // uncompressed (zlib failed, or with no context kept, it would not shrink).
    bool compress(std::string_view message, std::string& out) {
        if (params_.own_no_context_takeover(role_)) return compress_message(message, params_.own_window_bits(role_), options_, out);
        if (!own_) own_ = std::make_unique<detail::zlib_deflater>();
        out.clear();
        if (!own_->ready(params_.own_window_bits(role_), options_)) return false;
        // Sent even when larger: the peer's window must see it. A failure leaves the
        // compressor's window ahead of the peer's: it starts afresh instead.
        if (own_->compress(message, out)) return true;
        own_.reset();
        return false;
    }

    // Receiving: inflates from `in` (what it used is removed) into `out`, adding
    // at most `max_add` bytes. `full` tells that it stopped for room, not for input.
    std::error_code inflate_some(std::string_view& in, std::string& out, std::size_t max_add, bool& full) {
        full = false;
        if (stream_ended_) {  // the rest of a message whose stream ended (its tail included)
            in = {};
            return {};
        }
        if (!inflater_.ready()) return budget_error::exhausted;
        auto& z = inflater_.z();
        // Into one buffer per thread, then appended: `out` grows as a string does
        // (geometrically, never zero-filled ahead of the data).
        thread_local char chunk[32 * 1024];
        const std::size_t room = std::min(max_add, sizeof chunk);
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        z.avail_in = static_cast<uInt>(std::min<std::size_t>(in.size(), UINT_MAX));
        z.next_out = reinterpret_cast<Bytef*>(chunk);
        z.avail_out = static_cast<uInt>(room);
        const uInt in_before = z.avail_in;
        const int rc = ::inflate(&z, Z_SYNC_FLUSH);
        in.remove_prefix(in_before - z.avail_in);
        out.append(chunk, room - z.avail_out);
        if (rc == Z_STREAM_END) {
            // The sender ended its stream (a BFINAL block, §7.2.3.4): what follows
            // in this message, the tail put back included, is ignored, and the
            // next message's stream starts afresh with the window kept.
            in = {};
            stream_ended_ = true;
            if (!inflater_.restart_keeping_window()) return error::bad_compressed_data;
            return {};
        }
        if (rc == Z_MEM_ERROR) return budget_error::exhausted;
        if (rc != Z_OK && rc != Z_BUF_ERROR) return error::bad_compressed_data;
        full = z.avail_out == 0;
        if (!full && !in.empty()) return error::bad_compressed_data;  // zlib stopped with room and input left
        return {};
    }

    // After the last frame of a compressed message (and its tail) is inflated.
    void end_message() noexcept {
        stream_ended_ = false;
        if (params_.peer_no_context_takeover(role_)) inflater_.end();  // nothing to keep: freed
    }

    const deflate_params& params() const noexcept { return params_; }
    // Whether this side may send the bytes of compress_message(…, window_bits):
    // it starts each message afresh, with a window at least that large.
    bool takes_shared(int window_bits) const noexcept {
        return params_.own_no_context_takeover(role_) && params_.own_window_bits(role_) >= window_bits;
    }
    // Whether zlib memory is held now (an inflater kept between messages, or a
    // compressor of the connection's own).
    bool holds_memory() const noexcept { return inflater_.live() || own_ != nullptr; }

private:
    deflate_params params_;
    role role_;
    deflate_options options_;
    std::unique_ptr<detail::zlib_deflater> own_;  // only with context takeover
    detail::zlib_inflater inflater_;
    bool stream_ended_ = false;  // a BFINAL block ended the message being inflated
};

}  // namespace herald::websocket

#endif
