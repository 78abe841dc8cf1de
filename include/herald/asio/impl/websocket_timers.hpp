// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_IMPL_WEBSOCKET_TIMERS_HPP
#define HERALD_ASIO_IMPL_WEBSOCKET_TIMERS_HPP

// websocket::stream's timers, each made only when first needed, so that an idle
// stream without heartbeats carries none (an Asio timer is 120 bytes; under
// "Memory per idle connection" in docs/benchmarks.md every byte of the
// stream counts once per connection): the heartbeat's, the close timeout's, and
// the one that operations waiting for their frames to be written wait on.

#include <herald/asio/websocket.hpp>

#include <memory>

namespace herald::websocket {

template <class NextLayer>
struct stream<NextLayer>::heartbeat_state {
    heartbeat_state(const timing::heartbeat_config& config, const executor_type& ex)
        : rule(config, timing::heartbeat::clock::now()), timer(ex) {}
    timing::heartbeat rule;
    asio::steady_timer timer;
};

template <class NextLayer>
void stream<NextLayer>::beat() {
    if (transport_ended_ || conn_.state() == state::closed) return;  // nothing left to keep alive
    auto& hb = heartbeat_->rule;
    switch (hb.poll(timing::heartbeat::clock::now())) {
    case timing::heartbeat::action::peer_dead: return asio_detail::close_stream(next_);
    case timing::heartbeat::action::send_ping:
        if (!conn_.write_ping({})) flush();
        hb.on_sent(timing::heartbeat::clock::now());  // a ping queued counts as sent
        break;
    case timing::heartbeat::action::none: break;
    }
    heartbeat_->timer.expires_at(hb.next_deadline());
    heartbeat_->timer.async_wait([this, life = detached_.get()](std::error_code ec) {
        if (ec || life->owner_gone) return;
        beat();
    });
}

template <class NextLayer>
void stream<NextLayer>::start_close_timer() {
    if (settings_.close_timeout.count() <= 0) return;
    close_timer_ = std::make_unique<asio::steady_timer>(next_.get_executor(), settings_.close_timeout);
    close_timer_->async_wait([this, life = detached_.get()](std::error_code ec) {
        if (ec || life->owner_gone || conn_.state() == state::closed) return;
        asio_detail::close_stream(next_);
    });
}

template <class NextLayer>
asio::steady_timer& stream<NextLayer>::flushed() {
    if (!flushed_) flushed_ = std::make_unique<asio::steady_timer>(next_.get_executor(), asio::steady_timer::time_point::max());
    return *flushed_;
}

}  // namespace herald::websocket

#endif
