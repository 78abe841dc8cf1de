// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_HUB_IN_PROCESS_BROKER_HPP
#define HERALD_ASIO_HUB_IN_PROCESS_BROKER_HPP

// Joins the hubs of one process (one per thread, or per shard of connections):
// what any of them publishes, every one delivers, with the same ids, so a client
// resumes on any hub from its cursor.
//
// How it works: the broker numbers messages in a hub core of its own (ids
// "<broker epoch>-<seq>", one epoch for all hubs; a topic followed on any hub is
// never reclaimed), under a short lock, and queues
// them; whoever queued while nobody was applying applies the queue to every hub in
// order, outside the lock (the pattern of service.hpp's drain), so a subscriber
// that publishes from inside a delivery neither deadlocks nor reorders anything.
// Idempotency keys are remembered here (the last 10,000), for all hubs.

#include <herald/asio/hub/service.hpp>

#include <algorithm>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace herald::hub {

class in_process_broker final : public broker {
public:
    explicit in_process_broker(std::string epoch, hub_limits limits = {}) : numbering_(std::move(epoch), limits) {}

    // Joins `hub`; before it publishes. The broker outlives the hubs' use of it.
    void join(service& hub) {
        std::lock_guard lock(mutex_);
        hubs_.push_back(&hub);
        hub.attach(this);
    }

    void publish(service& origin, std::string_view topic, std::string_view data, std::string_view idempotency_key,
                 published_handler done) override {
        (void)origin;  // applied like every other hub's
        std::error_code ec;
        message_ptr m;
        bool mine = false;
        {
            std::lock_guard lock(mutex_);
            auto was = idempotency_key.empty() ? std::nullopt : keys_.retry(topic, idempotency_key, data, ec);
            if (was) m = std::move(*was);  // stored once already (or the key reused: refused)
            // A topic followed on any hub is never reclaimed (its ids would change epoch).
            else m = numbering_.publish(topic, data, ec, [this](const hub::topic& t) {
                return std::any_of(hubs_.begin(), hubs_.end(), [&](const service* h) { return h->followed(t.name()); });
            });
            if (m && !was) {
                queue_.push_back({std::string(topic), numbering_.find(topic)->epoch(), m});
                mine = !std::exchange(applying_, true);
                if (!idempotency_key.empty()) keys_.remember(topic, idempotency_key, m->id, data);
            }
        }
        if (mine) apply_queued();
        done(ec, std::move(m));
    }

    bool answers_at_once() const noexcept override { return true; }

    // A hub being destroyed leaves: later publishes do not reach it. (One being
    // applied on another thread right now still may: destroy a hub only when no
    // other hub of this broker publishes.)
    void detach(service& hub) noexcept override {
        std::lock_guard lock(mutex_);
        std::erase(hubs_, &hub);
    }

private:
    struct numbered {
        std::string topic;
        std::string epoch;
        message_ptr m;
    };

    void apply_queued() {
        std::vector<numbered> batch;
        std::vector<service*> hubs;
        for (;;) {
            {
                std::lock_guard lock(mutex_);
                if (queue_.empty()) {
                    applying_ = false;
                    return;
                }
                batch.swap(queue_);
                hubs = hubs_;
            }
            for (const auto& n : batch) {
                for (service* hub : hubs) {
                    std::error_code ignored;  // accepted once already: valid everywhere with the same limits
                    hub->apply(n.topic, n.epoch, n.m->seq, n.m->data, ignored);
                }
            }
            batch.clear();
        }
    }

    std::mutex mutex_;
    core numbering_;
    std::vector<service*> hubs_;
    std::vector<numbered> queue_;
    bool applying_ = false;
    idempotency_memory keys_;
};

}  // namespace herald::hub

#endif
