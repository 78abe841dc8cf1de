// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_DETAIL_LIFELINE_HPP
#define HERALD_ASIO_DETAIL_LIFELINE_HPP

// What an object shares with the handlers that nothing keeps it alive for (a
// timer's wait, a post, a write of its own): a block they hold, which tells them
// whether the object is still there (`owner_gone`) and keeps what it holds (`T`:
// bytes being written, say) alive past the object.
//
// The block is made on first need (get()), not with the object: an idle
// connection that never waited on a timer of its own, posted to itself or left a
// write unfinished has none (an allocation of 32 bytes or more each, once per connection; "Memory
// per idle connection" in docs/benchmarks.md). The object's lifeline marks the
// block when it goes, destroyed or overwritten by a move, so the owner's special
// members stay the defaults.

#include <atomic>
#include <memory>
#include <utility>

namespace herald::asio_detail {

struct nothing_shared {};

template <class T = nothing_shared>
struct lifeline_block : T {
    // Atomic, so that an owner let go of on another thread than its handlers' (a
    // session's last reference dropped elsewhere, in order with them) is no data
    // race on the flag; one byte either way.
    std::atomic<bool> owner_gone{false};
};

template <class T = nothing_shared>
class lifeline {
public:
    using block = lifeline_block<T>;

    lifeline() = default;
    lifeline(lifeline&& other) noexcept : block_(std::move(other.block_)) {}
    lifeline& operator=(lifeline&& other) noexcept {
        if (this != &other) {
            let_go();
            block_ = std::move(other.block_);
        }
        return *this;
    }
    ~lifeline() { let_go(); }

    // The block for a handler to hold, made on the first call.
    const std::shared_ptr<block>& get() {
        if (!block_) block_ = std::make_shared<block>();
        return block_;
    }

    // The block if made yet (null otherwise), for the owner to look into.
    block* operator->() const noexcept { return block_.get(); }
    explicit operator bool() const noexcept { return block_ != nullptr; }

private:
    void let_go() noexcept {
        if (block_) block_->owner_gone = true;
    }

    std::shared_ptr<block> block_;
};

}  // namespace herald::asio_detail

#endif
