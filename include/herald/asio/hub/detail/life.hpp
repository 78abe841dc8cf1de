// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_HUB_DETAIL_LIFE_HPP
#define HERALD_ASIO_HUB_DETAIL_LIFE_HPP

#include <condition_variable>
#include <memory>
#include <mutex>
#include <utility>

namespace herald::hub::detail {

// Whether the service still runs, for a source's answer that may come after it
// is gone (from any thread). An answer counts itself in while it works on the
// service, holding no lock (its deliveries must not), and the destructor waits
// for those counted in.
struct life {
    std::mutex mutex;
    std::condition_variable idle;
    bool alive = true;
    int running = 0;

    bool enter() {
        std::lock_guard lock(mutex);
        if (!alive) return false;
        ++running;
        return true;
    }
    void leave() {
        std::lock_guard lock(mutex);
        if (--running == 0) idle.notify_all();
    }
    void end() {
        std::unique_lock lock(mutex);
        alive = false;
        idle.wait(lock, [&] { return running == 0; });
    }
};

// Counts an answer in for its scope; `in` says whether the service still runs.
struct living {
    explicit living(std::shared_ptr<life> l) : of(std::move(l)), in(of->enter()) {}
    ~living() {
        if (in) of->leave();
    }
    living(const living&) = delete;
    living& operator=(const living&) = delete;
    std::shared_ptr<life> of;
    bool in;
};

}  // namespace herald::hub::detail

#endif
