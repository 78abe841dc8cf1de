// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_WEBSOCKET_DETAIL_FRAME_WRITER_HPP
#define HERALD_WEBSOCKET_DETAIL_FRAME_WRITER_HPP

// The sending half of websocket::connection: frames appended to one output
// buffer, masked when this side is a client (RFC 6455 §5.3), and the pong
// bookkeeping of §5.5.3 (an unsent pong is replaced by the next one).

#include <herald/websocket/frame.hpp>
#include <herald/websocket/mask.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace herald::websocket::detail {

class frame_writer {
public:
    frame_writer(role r, std::function<std::uint32_t()> random)
        : random_(random ? std::make_unique<std::function<std::uint32_t()>>(std::move(random)) : nullptr),
          masked_(r == role::client) {}

    std::string_view output() const noexcept { return output_; }

    void consume(std::size_t n) noexcept {
        n = std::min(n, output_.size());
        output_.erase(0, n);
        if (pong_pending_) {
            if (n > pong_at_)
                pong_pending_ = false;  // (part of) it is on its way
            else
                pong_at_ -= n;
        }
    }

    void take(std::string& out) noexcept {
        out.clear();
        out.swap(output_);
        pong_pending_ = false;
    }

    void append_frame(opcode op, std::string_view payload, bool fin, std::uint8_t rsv = 0) {
        frame_header h{fin, rsv, op, masked_, payload.size(), {}};
        if (h.masked) {
            const std::uint32_t r = (*random_)();
            h.key = {static_cast<std::uint8_t>(r >> 24), static_cast<std::uint8_t>(r >> 16),
                     static_cast<std::uint8_t>(r >> 8), static_cast<std::uint8_t>(r)};
        }
        char head[max_header_size];
        output_.append(head, write_header(h, head));
        const std::size_t at = output_.size();
        output_.append(payload);
        if (h.masked) apply_mask(output_.data() + at, payload.size(), h.key);
    }

    void append_close(std::uint16_t code, std::string_view reason) {
        char payload[125];
        payload[0] = static_cast<char>(code >> 8);
        payload[1] = static_cast<char>(code & 0xff);
        reason.copy(payload + 2, reason.size());
        append_frame(opcode::close, {payload, 2 + reason.size()}, true);
    }

    // §5.5.3: "If an endpoint receives a Ping frame and has not yet sent Pong
    // frame(s) in response to previous Ping frame(s), the endpoint MAY elect to send
    // a Pong frame for only the most recently processed Ping frame." The unsent pong
    // is rewritten in place when it is the last frame queued or has the same size
    // (the usual heartbeat); otherwise the new one is queued and the old one stays,
    // which happens at most once per frame of ours queued after it.
    void answer_ping(std::string_view payload) {
        if (pong_pending_) {
            if (pong_at_ + pong_size_ == output_.size()) {  // the last frame: replace it
                output_.resize(pong_at_);
                append_frame(opcode::pong, payload, true);
                pong_size_ = static_cast<std::uint8_t>(output_.size() - pong_at_);
                return;
            }
            const frame_header pong{true, 0, opcode::pong, masked_, payload.size(), {}};
            if (header_size(pong) + payload.size() == pong_size_) {  // same size: overwrite it
                const std::size_t at = output_.size();
                append_frame(opcode::pong, payload, true);
                std::memcpy(output_.data() + pong_at_, output_.data() + at, pong_size_);
                output_.resize(at);
                return;
            }
        }
        pong_at_ = output_.size();
        append_frame(opcode::pong, payload, true);
        pong_size_ = static_cast<std::uint8_t>(output_.size() - pong_at_);
        pong_pending_ = true;
    }

private:
    // Only a client masks: a server's connection (one per idle client) keeps a
    // pointer, not a 32-byte std::function.
    std::unique_ptr<std::function<std::uint32_t()>> random_;
    std::string output_;
    std::size_t pong_at_ = 0;
    std::uint8_t pong_size_ = 0;  // a control frame: at most 2 + 4 + 125 bytes (§5.5)
    bool masked_;
    bool pong_pending_ = false;  // a pong waits unsent in output_ at pong_at_
};

}  // namespace herald::websocket::detail

#endif
