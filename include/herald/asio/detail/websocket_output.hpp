// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_DETAIL_WEBSOCKET_OUTPUT_HPP
#define HERALD_ASIO_DETAIL_WEBSOCKET_OUTPUT_HPP

// What a websocket::stream has to write, in the order it was queued: the
// connection's own output (control frames, messages copied in by send()) and
// frames whose bytes are shared with other streams (a hub's message, written once
// for all its subscribers: DESIGN.md "fan-out serializes an event once and shares
// the bytes among all receivers"). take() hands everything to one gathered write.
//
// How it works: a shared frame is kept as (owner, head, body) and written from
// where it lies. Whatever the connection had queued before it is moved behind the
// previous pieces first ("sealed"), so the order on the wire is the order of the
// calls. The common cases cost no copy: only shared frames (no connection output),
// or only connection output (swapped out whole, as before).

#include <herald/buffer.hpp>
#include <herald/memory_budget.hpp>
#include <herald/websocket/connection.hpp>

#include <asio/buffer.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace herald::asio_detail {

class websocket_output {
public:

    // The bytes this stream owns, queued or being written, are held against `budget`
    // (may be null). Shared frames are not: their bytes are one copy for every
    // receiver, owned (and counted, if at all) by whoever made them, a hub's history.
    explicit websocket_output(memory_budget* budget = nullptr) noexcept : held_(budget) {}

    // One write's worth of bytes; they live here until the write completes.
    struct flight {
        std::vector<asio::const_buffer> buffers;
        std::size_t bytes = 0;

        void clear() noexcept {
            buffers.clear();
            pieces.clear();
            // A large buffer is let go of (to the thread's spares), not kept by an idle
            // stream: take() swaps it with the connection's output, so it would come
            // back there otherwise.
            free_if_large(owned);
            owned.clear();
            bytes = 0;
        }

        // Calls `send` with the one buffer when there is one (the usual case): Asio
        // then writes it by send(), not sendmsg() (no message header or vector for
        // the kernel to copy in), and copies no buffer sequence. Else with all.
        template <class Send>
        decltype(auto) with_buffers(Send&& send) const {
            return buffers.size() == 1 ? send(buffers.front()) : send(buffers);
        }

        // After a write that took the first `n` bytes (fewer than all): the
        // buffers keep only the rest.
        void skip(std::size_t n) noexcept {
            bytes -= n;
            auto first = buffers.begin();
            for (; n >= first->size(); ++first) n -= first->size();
            buffers.erase(buffers.begin(), first);
            buffers.front() += n;
        }

    private:
        friend class websocket_output;
        std::vector<std::shared_ptr<const void>> pieces;  // the shared frames' owners
        std::string owned;                                // the connection's output
    };

    // Bytes queued and not yet taken, the connection's output included.
    std::size_t queued(const websocket::connection& conn) const noexcept { return queued_ + conn.output().size(); }
    bool empty(const websocket::connection& conn) const noexcept { return queued(conn) == 0; }

    // Whether `n` more bytes of the stream's own fit in the budget beside those
    // queued and those being written (`in_flight`, null: none); if so they are held
    // from now on.
    bool admit(const websocket::connection& conn, const flight* in_flight, std::size_t n) noexcept {
        return n == 0 || held_.hold(owned(conn) + (in_flight ? in_flight->owned.size() : 0) + n);
    }
    // After a write completed: only what is still queued is held.
    void settle(const websocket::connection& conn) noexcept { held_.shrink_to(owned(conn)); }

    // Queues a frame of `head` + `body` that `owner` keeps alive, after whatever
    // the connection queued so far.
    void push_shared(websocket::connection& conn, std::shared_ptr<const void> owner, std::string_view head, std::string_view body) {
        seal(conn);
        pieces_.push_back({std::move(owner), head, body, 0, 0});
        queued_ += head.size() + body.size();
    }

    // Queues bytes of the stream's own that are already framed, `a` then `b` (the
    // rest of a frame written in part), after whatever the connection queued.
    void push_framed(websocket::connection& conn, std::string_view a, std::string_view b = {}) {
        seal(conn);
        const std::size_t from = owned_.size();
        reuse_spare(owned_, from + a.size() + b.size());  // the rest of a large message: a spare's room
        owned_.append(a);
        owned_.append(b);
        pieces_.push_back({nullptr, {}, {}, from, owned_.size()});
        queued_ += a.size() + b.size();
    }

    // Moves everything queued into `f` (cleared first) and lays out its buffers.
    void take(websocket::connection& conn, flight& f) {
        f.clear();
        if (pieces_.empty()) {
            conn.take_output(f.owned);  // the plain case: no copy
        } else {
            seal(conn);
            f.owned.swap(owned_);
        }
        if (pieces_.empty() && !f.owned.empty()) f.buffers.push_back(asio::buffer(f.owned));
        for (auto& p : pieces_) {
            if (p.owner) {
                if (!p.head.empty()) f.buffers.push_back(asio::buffer(p.head.data(), p.head.size()));
                f.buffers.push_back(asio::buffer(p.body.data(), p.body.size()));
                f.pieces.push_back(std::move(p.owner));
            } else {
                f.buffers.push_back(asio::buffer(f.owned.data() + p.from, p.to - p.from));
            }
        }
        for (const auto& b : f.buffers) f.bytes += b.size();
        pieces_.clear();
        owned_.clear();
        queued_ = 0;
    }

private:
    std::size_t owned(const websocket::connection& conn) const noexcept { return conn.output().size() + owned_.size(); }

    struct piece {
        std::shared_ptr<const void> owner;  // null: owned_[from, to)
        std::string_view head, body;
        std::size_t from, to;
    };

    // What the connection queued so far goes before what is queued next.
    void seal(websocket::connection& conn) {
        const auto out = conn.output();
        if (out.empty()) return;
        const std::size_t from = owned_.size();
        owned_.append(out);
        conn.consume_output(out.size());
        pieces_.push_back({nullptr, {}, {}, from, owned_.size()});
        queued_ += out.size();
    }

    std::vector<piece> pieces_;
    std::string owned_;
    std::size_t queued_ = 0;
    budget_share held_;
};

}  // namespace herald::asio_detail

#endif
