// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_SSE_HPP
#define HERALD_ASIO_SSE_HPP

// A Server-Sent Events response over a served HTTP connection: the head
// (`text/event-stream`, `Cache-Control: no-cache`, `X-Accel-Buffering: no`), then
// events for as long as the client stays.
//
//   respond.hand_off<http::server::connection_type>([&](auto conn) {
//       auto stream = std::make_shared<sse::event_stream<http::server::socket_type>>(conn);
//       channel.subscribe(stream, sse::last_event_id(conn->request()));
//       stream->async_run([&channel, stream](std::error_code) { channel.unsubscribe(stream.get()); });
//   });
//
// How it works: the stream takes the connection's socket over; send() (any thread)
// puts the shared bytes of an event on a bounded queue and wakes the writer, which
// gathers what is queued into one write (no copy: the buffers are the shared events
// themselves). An idle stream has one operation pending, a wait for the client to
// send (it never does: EOF or a reset means it left), and one timer per execution
// context (asio_detail::coarse_deadlines) tells it when to send a `:` comment line,
// so proxies do not time it out (WHATWG HTML §9.2.7). The body is delimited by the
// close of the connection (RFC 9112 §6.3 rule 8): no chunk framing around events.
//
// A slow consumer fills the queue; the policy then either closes the stream (the
// default: the client reconnects with Last-Event-ID and replay fills the gap, so
// nothing is lost) or drops the oldest queued events (for feeds where only the
// latest matters, such as tickers). A write that takes longer than write_timeout
// ends the stream too: a client that stopped reading cannot hold it forever.

#include <herald/asio/detail/coarse_deadlines.hpp>
#include <herald/asio/detail/erased_completion.hpp>
#include <herald/asio/detail/exact_allocator.hpp>
#include <herald/asio/detail/shared_buffers.hpp>
#include <herald/asio/http.hpp>
#include <herald/detail/fifo.hpp>
#include <herald/sse/error.hpp>
#include <herald/sse/serializer.hpp>
#include <herald/sse/stream.hpp>

#include <asio/async_result.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

namespace herald::sse {

template <class Stream>
class event_stream final : public subscriber, public std::enable_shared_from_this<event_stream<Stream>> {
public:
    using connection_type = http::server_connection<Stream>;
    using executor_type = typename Stream::executor_type;
    using next_layer_type = Stream;

    // Takes the connection's stream, and its place in the server's table (so
    // server::stop() closes this stream and max_connections counts it): the
    // connection, with its request, buffers and timers, goes once its last owner
    // lets go of it. An idle stream keeps what it needs only (docs/benchmarks.md).
    explicit event_stream(std::shared_ptr<connection_type> conn, const stream_options& options = {},
                          http::response head = stream_response())
        : stream_(std::move(conn->next_layer())), ticket_(conn->take_ticket()), limits_(options),
          head_only_(conn->head_request()) {  // RFC 9110 §9.3.2: no body
        http::head_options head_options;
        head_options.keep_alive = false;
        head_options.until_close = true;
        std::string date;  // formatted once: a stream writes one head
        if (conn->options().send_date) {
            date = http::format_http_date(std::chrono::system_clock::now());
            head_options.date = date;
        }
        std::string bytes;
        if (auto ec = http::serialize_head(head, bytes, head_options)) {
            ended_ = true;  // async_run completes with it, and nothing is written
            end_reason_ = ec;
            return;
        }
        if (options.retry && !head_only_) serialize_retry(*options.retry, bytes);
        inflight_.push_back(std::make_shared<const std::string>(std::move(bytes)));  // the first write
    }
    ~event_stream() override { deadlines_.leave(); }

    executor_type get_executor() noexcept { return stream_.get_executor(); }
    Stream& next_layer() noexcept { return stream_; }

    bool send(const shared_event& ev) override {
        std::lock_guard lock(mutex_);
        if (ended_ || closing_) return false;
        queued_bytes_ += ev->size();
        queue_.push_back(ev);
        while (queue_.size() > limits_.max_queued_events || queued_bytes_ > limits_.max_queued_bytes) {
            // One event larger than the whole budget still goes, alone: refusing it
            // would close every subscriber, and again after each replay.
            if (queue_.size() == 1) break;
            if (!limits_.drop_oldest) {
                end_locked(error::send_queue_full);
                return false;
            }
            queued_bytes_ -= queue_.front()->size();
            queue_.pop_front();
            ++dropped_;
        }
        wake_locked();
        return true;
    }

    // Ends the stream and closes the connection. Thread-safe; async_run completes
    // with {} (or the reason the stream had already ended for).
    void close() override {
        std::lock_guard lock(mutex_);
        end_locked({});
    }

    // Ends the stream once what is queued now has been written: a last event (a
    // `retry:` telling the client when to come back) reaches the client before the
    // connection closes. Later sends are refused. Thread-safe.
    void close_when_sent() {
        std::lock_guard lock(mutex_);
        if (ended_) return;
        closing_ = true;
        wake_locked();
    }

    bool ended() const override {
        std::lock_guard lock(mutex_);
        return ended_ || closing_;
    }

    bool can_take(std::size_t events, std::size_t bytes) const override {
        std::lock_guard lock(mutex_);
        return queue_.size() + events <= limits_.max_queued_events && queued_bytes_ + bytes <= limits_.max_queued_bytes;
    }

    // Events dropped under overflow_policy::drop_oldest.
    std::size_t dropped() const {
        std::lock_guard lock(mutex_);
        return dropped_;
    }

    // Writes the head, then events until the stream ends. Completes with {} after
    // close(), asio::error::eof when the client left, error::send_queue_full,
    // asio::error::timed_out (a write took longer than write_timeout), or the
    // stream's error, on the handler's associated executor (by default the
    // stream's). Call once, on the stream's executor (a hand-off runs there), or
    // before that executor runs. The stream runs on its executor: on a thread
    // pool, a strand (http::server gives each connection one).
    //
    // Not an async_compose state machine (DESIGN.md §3): the handler is kept aside,
    // type-erased, while the stream runs, so an idle stream has one operation
    // pending, its watch, instead of a second one carrying the run.
    template <class Token = asio::default_completion_token_t<executor_type>>
    auto async_run(Token&& token = Token()) {
        return asio::async_initiate<Token, void(std::error_code)>(
            [self = this->shared_from_this()](auto handler) { self->start(std::move(handler)); }, token);
    }

private:
    using clock = std::chrono::steady_clock;

    // Carried by the operations one of which a running stream always has pending
    // (its watch, the post that ends it). When the execution context is destroyed
    // with the stream running they are destroyed without running, and the guard
    // lets go of async_run's handler, which may hold the stream: a cycle otherwise.
    class run_guard {
    public:
        explicit run_guard(std::shared_ptr<event_stream> self) noexcept : self_(std::move(self)) {}
        run_guard(run_guard&&) noexcept = default;
        run_guard& operator=(run_guard&&) = delete;
        ~run_guard() {
            if (self_) auto abandoned = std::move(self_->done_);
        }
        // The operation runs: the guard's work is over.
        std::shared_ptr<event_stream> release() noexcept { return std::move(self_); }

    private:
        std::shared_ptr<event_stream> self_;
    };

    // On the stream's executor (a hand-off runs there), as the rest but for what the
    // mutex guards. The head's write starts here, before async_run returns, so a
    // close() from another thread from then on finds it under way and the client
    // gets at least the head.
    template <class Handler>
    void start(Handler handler) {
        done_ = asio_detail::erase_completion(std::move(handler), stream_.get_executor());
        // server::stop() and disconnect_all() close the stream now, as they closed its
        // connection; one that ran since the hand-off closes it at once.
        if (ticket_.follow(this->weak_from_this(), [](const std::shared_ptr<void>& self) { static_cast<event_stream*>(self.get())->close(); }))
            close();
        if (const auto early = ended_early()) {  // completes after async_run returns, never inside it
            return asio::post(stream_.get_executor(), [self = this->shared_from_this(), ec = *early] { self->finish(ec); });
        }
        const auto zero = clock::duration::zero();
        const auto ka = limits_.keepalive_interval, wt = limits_.write_timeout;
        if (ka > zero || wt > zero)
            deadlines_.join(stream_.get_executor(), ka > zero && (wt <= zero || ka < wt) ? ka : wt, this, &deadline_passed);
        watch();
        write(asio_detail::shared_buffers(inflight_));  // the head
    }

    // close() (or a bad head) before the run began.
    std::optional<std::error_code> ended_early() const {
        std::lock_guard lock(mutex_);
        if (ended_) return end_reason_;
        return std::nullopt;
    }

    void end_locked(std::error_code reason) {
        if (ended_) return;
        ended_ = true;
        end_reason_ = reason;
        queue_.clear();
        queued_bytes_ = 0;
        asio::post(stream_.get_executor(), [guard = run_guard(this->shared_from_this())]() mutable {
            const auto self = guard.release();
            self->close_stream();
            if (!self->writing_) self->finish({});  // a write in flight finishes when it completes
        });
    }

    // Between writes, over TLS, with close_notify first: the client sees the end of
    // the stream, not a truncation.
    void close_stream() {
        if (!writing_) asio_detail::send_close_notify(stream_);
        asio_detail::close_stream(stream_);
    }

    // A writer that is writing takes the queue when its write completes (pump()),
    // so only an idle one needs waking, and only once: under a burst the writer is
    // nearly always busy, and the publishing thread posts nothing to the executor.
    void wake_locked() {
        if (!writer_idle_ || wake_pending_) return;
        wake_pending_ = true;
        asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
            {
                std::lock_guard lock(self->mutex_);
                self->wake_pending_ = false;
            }
            self->pump();
        });
    }

    // Writes what is queued, or goes idle until a send wakes it or the deadline
    // passes.
    void pump() {
        if (writing_ || !done_) return;
        bool ended;
        {
            std::lock_guard lock(mutex_);
            ended = ended_;
            writer_idle_ = queue_.empty();  // from here a send wakes the writer
            while (!queue_.empty() && inflight_.size() < limits_.max_batch) {
                queued_bytes_ -= queue_.front()->size();
                inflight_.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
            if (!ended && closing_ && inflight_.empty()) {  // close_when_sent(): all of it is out
                end_locked({});
                ended = true;
            }
        }
        // Ended while a write was out (end_locked's post found it writing): done now.
        if (ended) return finish({});
        if (!inflight_.empty()) return write(asio_detail::shared_buffers(inflight_));
        // Idle. One slot is kept, so a stream of single events allocates nothing
        // per event; a burst's room is let go of.
        if (inflight_.capacity() > 1) std::vector<shared_event>().swap(inflight_);
        if (limits_.keepalive_interval > clock::duration::zero()) deadlines_.expires_at(last_sent_ + limits_.keepalive_interval);
        else deadlines_.clear();
    }

    template <class Buffers>
    void write(const Buffers& buffers) {
        writing_ = true;
        write_started_ = clock::now();
        if (limits_.write_timeout > clock::duration::zero()) deadlines_.expires_at(write_started_ + limits_.write_timeout);
        else deadlines_.clear();
        asio::async_write(stream_, buffers, [self = this->shared_from_this()](std::error_code ec, std::size_t) { self->written(ec); });
    }

    void written(std::error_code ec) {
        writing_ = false;
        inflight_.clear();  // the head too, once written
        if (ec) return finish(ec);
        last_sent_ = clock::now();
        if (head_only_) return finish({});
        pump();
    }

    // The sweep's thread, under its lock (coarse_deadlines): only posts.
    static void deadline_passed(void* owner) {
        if (auto self = static_cast<event_stream*>(owner)->weak_from_this().lock()) {
            auto ex = self->stream_.get_executor();
            asio::post(ex, [self = std::move(self)] { self->deadline(); });
        }
    }
    // A write that took write_timeout ends the stream, a client that stopped
    // reading cannot hold it for ever; an idle stream sends a `:` comment line, so
    // proxies do not time it out (WHATWG HTML §9.2.7).
    void deadline() {
        const auto zero = clock::duration::zero();
        if (!done_ || ended_early()) return;  // ending: a write in flight or end_locked's post finishes
        const auto now = clock::now();
        if (writing_) {
            if (limits_.write_timeout <= zero) return;  // a keep-alive deadline set before the write
            if (now - write_started_ < limits_.write_timeout) return deadlines_.expires_at(write_started_ + limits_.write_timeout);
            std::lock_guard lock(mutex_);
            return end_locked(asio::error::timed_out);
        }
        if (limits_.keepalive_interval <= zero || now - last_sent_ < limits_.keepalive_interval) return pump();  // re-arms, or writes what came meanwhile
        static constexpr std::string_view comment = ":\n";
        write(std::array<asio::const_buffer, 1>{asio::buffer(comment)});
    }

    // Reads and discards until the client leaves: an EventSource sends nothing after
    // its request, so the read ends only with EOF, a reset, or close(). On a socket
    // it waits for readability and reads into the stack: an idle stream holds no
    // buffer for it.
    void watch() {
        if constexpr (asio_detail::nonblocking_socket<Stream>) {
            // One read per wake-up: a client that keeps sending does not hold the
            // thread, and what it leaves makes the next wait complete at once (Asio
            // re-arms epoll for each wait).
            stream_.async_wait(asio::socket_base::wait_read, asio_detail::for_long_wait([guard = run_guard(this->shared_from_this())](std::error_code ec) mutable {
                const auto self = guard.release();
                char discard[4096];
                if (!ec) (void)asio_detail::read_now(self->stream_, asio::buffer(discard), ec);
                if (!ec) return self->watch();
                self->watched_end(ec);
            }));
        } else {
            stream_.async_read_some(asio::buffer(discard_), [guard = run_guard(this->shared_from_this())](std::error_code ec, std::size_t) mutable {
                const auto self = guard.release();
                if (!ec) return self->watch();
                self->watched_end(ec);
            });
        }
    }
    void watched_end(std::error_code ec) {
        const bool left = ec == asio::error::eof || ec == asio::error::connection_reset;
        std::lock_guard lock(mutex_);
        end_locked(left ? std::error_code{asio::error::eof} : ec);
    }

    // Completes async_run once: the first cause of the end wins (a write aborted by
    // close() reports why it closed).
    void finish(std::error_code ec) {
        if (!done_) return;
        {
            std::lock_guard lock(mutex_);
            if (ended_) ec = end_reason_;
            else end_locked(ec);
        }
        if (ec) asio_detail::close_stream(stream_);
        else close_stream();
        deadlines_.leave();
        const auto done = std::move(done_);
        done->complete(ec);
    }

    Stream stream_;
    asio_detail::connection_table::ticket ticket_;
    detail::stream_limits limits_;
    std::unique_ptr<asio_detail::erased_completion> done_;  // async_run's handler, while running
    asio_detail::coarse_deadlines::entry deadlines_;
    clock::time_point last_sent_ = clock::now();
    clock::time_point write_started_{};
    // watch()'s, for a stream that cannot wait for readability (TLS).
    [[no_unique_address]] std::conditional_t<asio_detail::nonblocking_socket<Stream>, std::tuple<>, std::array<char, 512>> discard_{};
    std::vector<shared_event> inflight_;  // what the write on the stream holds (the head first)

    mutable std::mutex mutex_;  // guards what send() and close() touch from other threads
    herald::detail::fifo<shared_event> queue_;
    std::size_t queued_bytes_ = 0;
    std::size_t dropped_ = 0;
    std::error_code end_reason_{};
    bool wake_pending_ = false;
    bool writer_idle_ = false;  // the writer has seen an empty queue and may be idle
    bool writing_ = false;      // a write is on the stream (the executor only)
    bool ended_ = false;
    bool closing_ = false;  // close_when_sent(): ends once the queue is written
    bool head_only_;        // a HEAD request: the head and no stream
};

}  // namespace herald::sse

#endif
