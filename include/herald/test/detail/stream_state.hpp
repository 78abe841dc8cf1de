// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_TEST_DETAIL_STREAM_STATE_HPP
#define HERALD_TEST_DETAIL_STREAM_STATE_HPP

// The parts of herald::test::stream (test/stream.hpp) behind its interface: its
// error category, fail_count, and the shared state of a pair of ends with its
// parked reads and completions. See stream.hpp for how they work together.

#include <herald/config.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/bind_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/error.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace herald::test {

enum class error {
    injected_failure = 1,  // a fail_count made this operation fail
};

namespace detail {

class error_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "herald.test"; }
    std::string message(int value) const override {
        return value == static_cast<int>(error::injected_failure) ? "injected failure" : "unknown herald.test error";
    }
};

}  // namespace detail

HERALD_VISIBLE inline const std::error_category& error_category() noexcept {
    static const detail::error_category_impl instance;
    return instance;
}

inline std::error_code make_error_code(error e) noexcept { return {static_cast<int>(e), error_category()}; }

}  // namespace herald::test

template <>
struct std::is_error_code_enum<herald::test::error> : std::true_type {};

namespace herald::test {

// Fails exactly one operation: the n-th (0-based) read or write, sync or async, among
// the streams that share it. Atomic, so both ends of a pair on two threads may share
// one. It must outlive those streams.
class fail_count {
public:
    explicit fail_count(std::size_t n, std::error_code ec = error::injected_failure) noexcept : n_(n), ec_(ec) {}
    fail_count(const fail_count&) = delete;
    fail_count& operator=(const fail_count&) = delete;

    // Called once per operation: true, with ec set, when this one must fail.
    bool fail(std::error_code& ec) noexcept {
        if (count_.fetch_add(1, std::memory_order_relaxed) != n_) return false;
        ec = ec_;
        return true;
    }

private:
    std::size_t n_;
    std::error_code ec_;
    std::atomic<std::size_t> count_{0};
};

namespace detail {

using signature = void(std::error_code, std::size_t);

// A parked async read, type-erased so that an end can hold one whatever its handler.
struct read_op_base {
    std::uint64_t id = 0;  // tells a stale cancellation slot handler from the current read
    virtual ~read_op_base() = default;
    virtual std::size_t fill(const char* data, std::size_t size) = 0;  // under the lock
    virtual void complete(std::error_code ec, std::size_t n) = 0;      // without the lock
};

struct stream_end {
    std::string in;  // inbound bytes; [in_pos, size) is not read yet
    std::size_t in_pos = 0;
    std::string out;  // output capture: what was written while unconnected
    std::size_t read_max = std::numeric_limits<std::size_t>::max();
    std::size_t write_max = std::numeric_limits<std::size_t>::max();
    std::size_t nread = 0, nwrite = 0, nread_bytes = 0, nwrite_bytes = 0;
    fail_count* fc = nullptr;
    bool open = true;  // false after close()
    bool eof = false;  // nothing more will arrive: the peer closed, or close_remote()
    std::unique_ptr<read_op_base> pending;

    std::size_t available() const noexcept { return in.size() - in_pos; }

    // Hands at most read_max unread bytes to `copy`, which returns how many it took.
    template <class Copy>
    std::size_t take(Copy&& copy) {
        const std::size_t n = copy(in.data() + in_pos, std::min(available(), read_max));
        in_pos += n;
        nread_bytes += n;
        // Compact once half is consumed: each erase moves fewer bytes than were read
        // since the last one, so reading a big input a byte at a time stays linear.
        if (in_pos * 2 >= in.size()) in.erase(0, std::exchange(in_pos, 0));
        return n;
    }
};

// A completion decided under the lock and delivered once it is released, so that no
// handler is posted or destroyed while the mutex is held.
struct ready {
    std::unique_ptr<read_op_base> op;
    std::error_code ec;
    std::size_t n = 0;
    void deliver() {
        if (op) op->complete(ec, n);
        op.reset();
    }
};

struct stream_state {
    std::mutex m;
    std::condition_variable cv;  // wakes blocking (sync) reads
    stream_end ends[2];
    bool connected = false;
    std::uint64_t next_id = 0;

    // Under the lock, after end i gained bytes or reached end of file.
    ready wake(int i) {
        cv.notify_all();
        stream_end& e = ends[i];
        if (!e.pending) return {};
        if (e.available() != 0) {
            const std::size_t n = e.take([&](const char* p, std::size_t s) { return e.pending->fill(p, s); });
            return {std::move(e.pending), {}, n};
        }
        if (e.eof) return {std::move(e.pending), asio::error::eof, 0};
        return {};
    }
    // Under the lock: ends end i's parked read, if any (and if it is `id`, when given).
    ready abort(int i, std::uint64_t id = 0) {
        stream_end& e = ends[i];
        if (!e.pending || (id != 0 && e.pending->id != id)) return {};
        return {std::move(e.pending), asio::error::operation_aborted, 0};
    }
};

// Posts to the I/O executor and dispatches from there to the handler's associated
// executor, as Asio's sockets do: never inline, and a handler's strand is honoured.
template <class IoExecutor, class Handler>
void post_completion(const IoExecutor& io, Handler handler, std::error_code ec, std::size_t n, bool clear_slot) {
    auto handler_ex = asio::get_associated_executor(handler, io);
    asio::post(io, asio::bind_executor(handler_ex, [h = std::move(handler), ec, n, clear_slot]() mutable {
        // The slot served this operation only; free it before the handler starts another.
        if (clear_slot) asio::get_associated_cancellation_slot(h).clear();
        std::move(h)(ec, n);
    }));
}

template <class Buffers, class Handler, class IoExecutor>
struct read_op final : read_op_base {
    Buffers buffers;
    Handler handler;
    asio::executor_work_guard<IoExecutor> io_work;  // a socket's pending read keeps both busy
    asio::executor_work_guard<asio::associated_executor_t<Handler, IoExecutor>> handler_work;
    bool uses_slot;

    read_op(std::uint64_t op_id, const Buffers& b, Handler h, const IoExecutor& io, bool slot)
        : buffers(b), handler(std::move(h)), io_work(io), handler_work(asio::get_associated_executor(handler, io)),
          uses_slot(slot) {
        id = op_id;
    }
    std::size_t fill(const char* data, std::size_t size) override {
        return asio::buffer_copy(buffers, asio::buffer(data, size));
    }
    void complete(std::error_code ec, std::size_t n) override {
        post_completion(io_work.get_executor(), std::move(handler), ec, n, uses_slot);
    }
};

}  // namespace detail

}  // namespace herald::test

#endif
