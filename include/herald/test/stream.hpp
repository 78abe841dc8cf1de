// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_TEST_STREAM_HPP
#define HERALD_TEST_STREAM_HPP

// A deterministic in-memory stream, to test herald's Asio layer without sockets
// (DESIGN.md "Tests are the spec": short reads and writes, a failure at the N-th op).
//
// How it works
// ------------
// A stream is one *end*: an inbound buffer (what its reads return), an output capture,
// limits and counters. Ends live in a shared_ptr'd `detail::stream_state` guarded by
// one mutex. An unconnected stream owns a state holding its one end; `connect` moves
// the remote's end into this stream's state, so a pair shares one mutex and lifetime:
// either side may be destroyed, or driven from another thread, while the other waits.
//
// A write copies min(bytes, write_size) into the peer's inbound buffer (the output
// capture when unconnected) and wakes the peer's parked read; it never waits, buffers
// are unbounded. A read takes min(available, buffer size, read_size) bytes as soon as
// any are there; with none it parks (one per end) until bytes arrive, the inbound side
// ends (eof), or the read is cancelled.
//
// Completions never run inside the initiating call: they are posted to the stream's
// executor and dispatched to the handler's associated executor, as an Asio socket
// does. A parked read holds work on both (io_context::run() keeps waiting, as with a
// socket), so destroy streams before their execution context.
//
// Error codes are what a TCP socket reports, so code under test meets production's:
//   the N-th op of a fail_count                        its code (error::injected_failure)
//   read once the inbound side ended and drained       asio::error::eof
//   parked read ended by cancel(), close() or its slot asio::error::operation_aborted
//   op after close(), or on a moved-from stream        asio::error::bad_descriptor (EBADF)
//   write after the peer closed or close_remote()d     asio::error::broken_pipe (EPIPE)
//   async read while another is parked                 asio::error::already_started

#include <herald/test/detail/stream_state.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace herald::test {

template <class Executor = asio::any_io_executor>
class basic_stream {
public:
    using executor_type = Executor;
    // void unless the executor names a default token: then a token must be given.
    using default_token = asio::default_completion_token_t<executor_type>;

    explicit basic_stream(Executor ex) : ex_(std::move(ex)), st_(std::make_shared<detail::stream_state>()) {}
    basic_stream(Executor ex, fail_count& fc) : basic_stream(std::move(ex)) { st_->ends[0].fc = &fc; }
    basic_stream(Executor ex, std::string_view inbound) : basic_stream(std::move(ex)) { st_->ends[0].in = inbound; }

    // The executor is copied, not moved, so that a moved-from stream still has one and
    // fails its operations with bad_descriptor rather than with undefined behaviour.
    basic_stream(basic_stream&& other) noexcept : ex_(other.ex_), st_(std::move(other.st_)), side_(other.side_) {}
    basic_stream& operator=(basic_stream&& other) noexcept {
        if (this == &other) return *this;
        close();
        ex_ = other.ex_;
        st_ = std::move(other.st_);
        side_ = other.side_;
        return *this;
    }
    ~basic_stream() { close(); }

    executor_type get_executor() const noexcept { return ex_; }

    // Pairs two open, unconnected streams with no read parked. Misuse asserts in a debug
    // build and otherwise changes nothing. Connect before sharing streams with threads.
    void connect(basic_stream& remote) {
        const bool distinct = st_ && remote.st_ && st_ != remote.st_;
        assert(distinct);
        if (!distinct) return;
        const auto keep = remote.st_;  // the remote's old state outlives the lock on its mutex
        std::scoped_lock lock(st_->m, keep->m);
        detail::stream_end& mine = st_->ends[side_];
        detail::stream_end& theirs = keep->ends[remote.side_];
        const bool ok = !st_->connected && !keep->connected && mine.open && theirs.open && !mine.pending &&
                        !theirs.pending;
        assert(ok);
        if (!ok) return;
        st_->ends[1] = std::move(theirs);  // an unconnected stream is always side 0
        st_->connected = true;
        remote.st_ = st_;
        remote.side_ = 1;
    }

    // Limits per operation, to force short reads and writes. 0 counts as 1, so that an
    // operation always makes progress.
    void read_size(std::size_t n) { with_end([&](auto& e) { e.read_max = std::max<std::size_t>(n, 1); }); }
    void write_size(std::size_t n) { with_end([&](auto& e) { e.write_max = std::max<std::size_t>(n, 1); }); }

    // Adds inbound bytes as if the peer had written them; ignored once closed.
    void append(std::string_view bytes) {
        change([&](detail::stream_end& me, detail::ready* done) {
            if (!me.open) return;
            me.in.append(bytes);
            done[0] = st_->wake(side_);
        });
    }

    std::string str() const { return with_end([](auto& e) { return e.out; }); }
    void clear() { with_end([](auto& e) { e.out.clear(); }); }
    std::size_t nread() const { return with_end([](auto& e) { return e.nread; }); }
    std::size_t nwrite() const { return with_end([](auto& e) { return e.nwrite; }); }
    std::size_t nread_bytes() const { return with_end([](auto& e) { return e.nread_bytes; }); }
    std::size_t nwrite_bytes() const { return with_end([](auto& e) { return e.nwrite_bytes; }); }
    bool is_open() const { return with_end([](auto& e) { return e.open; }); }

    // Local close: a parked read ends with operation_aborted, later operations fail with
    // bad_descriptor; the peer reads what it has, then eof, and its writes fail with
    // broken_pipe. The output capture stays, for str().
    void close() {
        change([&](detail::stream_end& me, detail::ready* done) {
            if (!me.open) return;
            me.open = false;
            me.in.clear();
            me.in_pos = 0;
            done[0] = st_->abort(side_);
            if (st_->connected) {
                st_->ends[1 - side_].eof = true;
                done[1] = st_->wake(1 - side_);
            }
            st_->cv.notify_all();
        });
    }

    // As if the peer shut down its sending side: our reads drain the buffered bytes, then
    // get eof. Our writes still work (a TCP half-close); the peer's now fail.
    void close_remote() {
        change([&](detail::stream_end& me, detail::ready* done) {
            me.eof = true;
            done[0] = st_->wake(side_);
        });
    }

    // A parked async read ends with operation_aborted; the stream stays usable.
    void cancel() {
        change([&](detail::stream_end&, detail::ready* done) { done[0] = st_->abort(side_); });
    }

    // The initiations capture `this`: as with an Asio socket, the stream must outlive a
    // deferred operation until it is launched.
    template <class MutableBufferSequence, ASIO_COMPLETION_TOKEN_FOR(detail::signature) Token = default_token>
    auto async_read_some(const MutableBufferSequence& buffers, Token&& token = default_token()) {
        return asio::async_initiate<Token, detail::signature>(
            [this](auto handler, const auto& b) { this->start_read(std::move(handler), b); }, token, buffers);
    }

    template <class ConstBufferSequence, ASIO_COMPLETION_TOKEN_FOR(detail::signature) Token = default_token>
    auto async_write_some(const ConstBufferSequence& buffers, Token&& token = default_token()) {
        return asio::async_initiate<Token, detail::signature>(
            [this](auto handler, const auto& b) {
                std::error_code ec;
                const std::size_t n = write_some(b, ec);
                detail::post_completion(ex_, std::move(handler), ec, n, false);
            },
            token, buffers);
    }

    // Blocks, as SyncReadStream requires, until bytes, eof or close. With no other thread
    // to write, preload the bytes (and call close_remote()) first.
    template <class MutableBufferSequence>
    std::size_t read_some(const MutableBufferSequence& buffers, std::error_code& ec) {
        ec = {};
        if (!st_) { ec = asio::error::bad_descriptor; return 0; }
        std::unique_lock lock(st_->m);
        detail::stream_end& me = st_->ends[side_];
        std::size_t n = 0;
        if (!begin_read(me, buffers, ec, n)) st_->cv.wait(lock, [&] { return try_read(me, buffers, ec, n); });
        return n;
    }

    // Never blocks: inbound buffers are unbounded.
    template <class ConstBufferSequence>
    std::size_t write_some(const ConstBufferSequence& buffers, std::error_code& ec) {
        ec = asio::error::bad_descriptor;  // kept only when moved from
        std::size_t n = 0;
        change([&](detail::stream_end& me, detail::ready* done) {
            ec = {};
            ++me.nwrite;
            if (me.fc && me.fc->fail(ec)) return;
            if (!me.open) { ec = asio::error::bad_descriptor; return; }
            detail::stream_end* peer = st_->connected ? &st_->ends[1 - side_] : nullptr;
            if (peer && (!peer->open || peer->eof)) { ec = asio::error::broken_pipe; return; }
            std::string& dst = peer ? peer->in : me.out;
            n = std::min(asio::buffer_size(buffers), me.write_max);
            dst.resize(dst.size() + n);
            asio::buffer_copy(asio::buffer(dst.data() + dst.size() - n, n), buffers);
            me.nwrite_bytes += n;
            if (peer) done[0] = st_->wake(1 - side_);
        });
        return n;
    }

    // The throwing overloads, for test code only: the library itself never throws.
    template <class MutableBufferSequence>
    std::size_t read_some(const MutableBufferSequence& buffers) {
        return or_throw([&](std::error_code& ec) { return read_some(buffers, ec); });
    }
    template <class ConstBufferSequence>
    std::size_t write_some(const ConstBufferSequence& buffers) {
        return or_throw([&](std::error_code& ec) { return write_some(buffers, ec); });
    }

private:
    template <class Op>
    static std::size_t or_throw(Op&& op) {
        std::error_code ec;
        const std::size_t n = op(ec);
        if (ec) throw std::system_error(ec, "herald::test::stream");
        return n;
    }

    // Runs f(end, completions) under the lock, then delivers what it completed.
    template <class F>
    void change(F&& f) {
        if (!st_) return;
        detail::ready done[2];
        {
            std::lock_guard lock(st_->m);
            f(st_->ends[side_], done);
        }
        for (auto& r : done) r.deliver();
    }

    template <class F>
    auto with_end(F&& f) const {
        using result = decltype(f(std::declval<detail::stream_end&>()));
        if (!st_) return result();
        std::lock_guard lock(st_->m);
        return f(st_->ends[side_]);
    }

    // Under the lock: true when a read of `b` completes now, with ec and n set.
    template <class Buffers>
    static bool try_read(detail::stream_end& me, const Buffers& b, std::error_code& ec, std::size_t& n) {
        if (!me.open) { ec = asio::error::bad_descriptor; return true; }
        if (asio::buffer_size(b) == 0) return true;  // as on a socket, an empty read completes at once
        if (me.available() != 0) {
            n = me.take([&](const char* p, std::size_t s) { return asio::buffer_copy(b, asio::buffer(p, s)); });
            return true;
        }
        if (me.eof) { ec = asio::error::eof; return true; }
        return false;
    }

    // Under the lock: counts the operation and asks the fail_count first, so that
    // fail_count{n} fails the n-th operation whatever the state of the stream.
    template <class Buffers>
    static bool begin_read(detail::stream_end& me, const Buffers& b, std::error_code& ec, std::size_t& n) {
        ++me.nread;
        if (me.fc && me.fc->fail(ec)) return true;
        return try_read(me, b, ec, n);
    }

    template <class Handler, class Buffers>
    void start_read(Handler handler, const Buffers& buffers) {
        std::error_code ec = asio::error::bad_descriptor;  // kept only when moved from
        std::size_t n = 0;
        if (st_) {
            std::lock_guard lock(st_->m);
            detail::stream_end& me = st_->ends[side_];
            ec = {};
            if (!begin_read(me, buffers, ec, n)) {
                if (!me.pending) return park(me, std::move(handler), buffers);
                ec = asio::error::already_started;  // one reader at a time, as on any stream
            }
        }
        detail::post_completion(ex_, std::move(handler), ec, n, false);
    }

    // Under the lock: keeps the read until wake(), close(), cancel() or its slot ends it.
    template <class Handler, class Buffers>
    void park(detail::stream_end& me, Handler handler, const Buffers& buffers) {
        auto slot = asio::get_associated_cancellation_slot(handler);
        const std::uint64_t id = ++st_->next_id;
        me.pending = std::make_unique<detail::read_op<Buffers, Handler, Executor>>(id, buffers, std::move(handler),
                                                                                   ex_, slot.is_connected());
        if (!slot.is_connected()) return;
        // Per-operation cancellation (awaitable operators, parallel_group, timeouts). The
        // handler holds a weak reference and the id, so it neither keeps the pair alive
        // nor ends a later read. A parked read has done nothing yet: any type applies.
        slot.assign([state = std::weak_ptr(st_), side = side_, id](asio::cancellation_type type) {
            using ct = asio::cancellation_type;
            const auto s = state.lock();
            if (!s || (type & (ct::terminal | ct::partial | ct::total)) == ct::none) return;
            detail::ready r;
            {
                std::lock_guard lock(s->m);
                r = s->abort(side, id);
            }
            r.deliver();
        });
    }

    Executor ex_;
    std::shared_ptr<detail::stream_state> st_;  // null only when moved from
    int side_ = 0;                              // this stream's end in *st_
};

using stream = basic_stream<>;

}  // namespace herald::test

#endif
