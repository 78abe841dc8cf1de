// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_TIMING_HEARTBEAT_HPP
#define HERALD_TIMING_HEARTBEAT_HPP

// Heartbeats, sans-I/O: the caller reports traffic with the time, asks what to do
// when the deadline it was given passes, and never needs a clock of its own here.
//
// How it works: two independent rules, either of which may be off (zero):
//   keep-alive  nothing sent for `keepalive_interval` -> send a ping (a WebSocket
//               ping, an SSE comment line): proxies and NATs drop quiet connections.
//   liveness    nothing received for `idle_timeout` -> send a ping as a probe; still
//               nothing received `pong_timeout` after the probe -> the peer is dead.
// SSE turns liveness off (the client never speaks after its request); WebSocket
// uses both. poll(now) returns one action; after send_ping the caller sends it and
// reports on_sent(now). next_deadline() says when to poll again.

#include <algorithm>
#include <chrono>

namespace herald::timing {

struct heartbeat_config {
    std::chrono::steady_clock::duration keepalive_interval = std::chrono::seconds(15);
    std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds(30);
    std::chrono::steady_clock::duration pong_timeout = std::chrono::seconds(10);
};

class heartbeat {
public:
    using clock = std::chrono::steady_clock;
    using time_point = clock::time_point;
    enum class action { none, send_ping, peer_dead };

    heartbeat(const heartbeat_config& config, time_point now) noexcept
        : config_(config), last_sent_(now), last_received_(now) {}

    // Any bytes from the peer: data, a pong, a ping. A probe is answered by them.
    void on_received(time_point now) noexcept {
        last_received_ = std::max(last_received_, now);
        probe_outstanding_ = false;
    }

    // Any bytes to the peer, pings included.
    void on_sent(time_point now) noexcept { last_sent_ = std::max(last_sent_, now); }

    // What to do at `now`. Call when next_deadline() has passed (calling earlier is
    // harmless: it answers none).
    action poll(time_point now) noexcept {
        if (dead_) return action::peer_dead;
        if (liveness_on()) {
            if (probe_outstanding_) {
                if (now - probe_sent_ >= config_.pong_timeout) {
                    dead_ = true;
                    return action::peer_dead;
                }
            } else if (now - last_received_ >= config_.idle_timeout) {
                probe_outstanding_ = true;
                probe_sent_ = now;
                return action::send_ping;
            }
        }
        if (keepalive_on() && now - last_sent_ >= config_.keepalive_interval) return action::send_ping;
        return action::none;
    }

    // When poll() may next answer something other than none; time_point::max() when
    // both rules are off.
    time_point next_deadline() const noexcept {
        if (dead_) return time_point::min();
        time_point next = time_point::max();
        if (liveness_on())
            next = probe_outstanding_ ? probe_sent_ + config_.pong_timeout : last_received_ + config_.idle_timeout;
        if (keepalive_on()) next = std::min(next, last_sent_ + config_.keepalive_interval);
        return next;
    }

    bool peer_dead() const noexcept { return dead_; }
    const heartbeat_config& config() const noexcept { return config_; }

private:
    bool keepalive_on() const noexcept { return config_.keepalive_interval > clock::duration::zero(); }
    bool liveness_on() const noexcept { return config_.idle_timeout > clock::duration::zero(); }

    heartbeat_config config_;
    time_point last_sent_;
    time_point last_received_;
    time_point probe_sent_{};
    bool probe_outstanding_ = false;
    bool dead_ = false;
};

}  // namespace herald::timing

#endif
