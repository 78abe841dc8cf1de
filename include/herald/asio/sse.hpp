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
// How it works: send() (any thread) puts the shared bytes of an event on a bounded
// queue and wakes the writer; the writer gathers what is queued into one write
// (no copy: the buffers are the shared events themselves), and when idle waits on
// a timer set to the heartbeat's next deadline, which sends a `:` comment line so
// proxies do not time the stream out (WHATWG HTML §9.2.7). A read stays out the
// whole time, to notice the client leaving. The body is delimited by the close of
// the connection (RFC 9112 §6.3 rule 8): no chunk framing around the events.
//
// A slow consumer fills the queue; the policy then either closes the stream (the
// default: the client reconnects with Last-Event-ID and replay fills the gap, so
// nothing is lost) or drops the oldest queued events (for feeds where only the
// latest matters, such as tickers). A write that takes longer than write_timeout
// ends the stream too: a client that stopped reading cannot hold it forever.

#include <herald/asio/detail/deadline.hpp>
#include <herald/asio/detail/exact_allocator.hpp>
#include <herald/asio/http.hpp>
#include <herald/detail/fifo.hpp>
#include <herald/sse/error.hpp>
#include <herald/sse/serializer.hpp>
#include <herald/timing/heartbeat.hpp>

#include <asio/compose.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <array>
#include <tuple>
#include <type_traits>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

namespace herald::sse {

enum class overflow_policy { close, drop_oldest };

struct stream_options {
    std::size_t max_queued_events = 4096;
    std::size_t max_queued_bytes = 4 * 1024 * 1024;
    overflow_policy on_overflow = overflow_policy::close;
    std::chrono::steady_clock::duration keepalive_interval = std::chrono::seconds(15);  // zero: none
    std::chrono::steady_clock::duration write_timeout = std::chrono::seconds(30);
    std::optional<std::uint32_t> retry;  // a `retry:` line right after the head
    std::size_t max_batch = 64;          // events gathered into one write
};

// Whatever takes shared events: an event_stream, or anything a channel fans out to.
class subscriber {
public:
    virtual ~subscriber() = default;
    // Queues `ev`; false once the subscriber has ended, so a channel drops it.
    virtual bool send(const shared_event& ev) = 0;
    // Ends the subscriber (closes its connection). Thread-safe.
    virtual void close() = 0;
    // True once ended: a channel forgets it.
    virtual bool ended() const = 0;
    // Whether `events` events of `bytes` bytes can be queued at once (a replay)
    // without overflowing; when not, a channel sends history-lost instead.
    virtual bool can_take(std::size_t events, std::size_t bytes) const = 0;
};

// The response head of an event stream (fields beyond these may be added).
inline http::response stream_response() {
    http::response res{200};
    res.fields.append("Content-Type", "text/event-stream");
    res.fields.append("Cache-Control", "no-cache");
    res.fields.append("X-Accel-Buffering", "no");  // nginx: pass events on, do not buffer them
    return res;
}

// The Last-Event-ID a reconnecting client sent (WHATWG HTML §9.2.4), if any.
inline std::optional<std::string_view> last_event_id(const http::request& req) {
    return req.fields.find("Last-Event-ID");
}

template <class Stream>
class event_stream final : public subscriber, public std::enable_shared_from_this<event_stream<Stream>> {
public:
    using connection_type = http::server_connection<Stream>;
    using executor_type = typename connection_type::executor_type;

    explicit event_stream(std::shared_ptr<connection_type> conn, const stream_options& options = {},
                          http::response head = stream_response())
        : conn_(std::move(conn)), options_(options), head_response_(std::move(head)),
          wake_(conn_->get_executor(), asio::steady_timer::time_point::max()), write_deadline_(conn_->get_executor(), options.write_timeout),
          heartbeat_(keepalive_only(options), timing::heartbeat::clock::now()) {}

    executor_type get_executor() noexcept { return conn_->get_executor(); }

    bool send(const shared_event& ev) override {
        std::lock_guard lock(mutex_);
        if (ended_ || closing_) return false;
        queued_bytes_ += ev->size();
        queue_.push_back(ev);
        while (queue_.size() > options_.max_queued_events || queued_bytes_ > options_.max_queued_bytes) {
            // One event larger than the whole budget still goes, alone: refusing it
            // would close every subscriber, and again after each replay.
            if (queue_.size() == 1) break;
            if (options_.on_overflow == overflow_policy::close) {
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
        return queue_.size() + events <= options_.max_queued_events && queued_bytes_ + bytes <= options_.max_queued_bytes;
    }

    // Events dropped under overflow_policy::drop_oldest.
    std::size_t dropped() const {
        std::lock_guard lock(mutex_);
        return dropped_;
    }

    // Writes the head, then events until the stream ends. Completes with {} after
    // close(), asio::error::eof when the client left, error::send_queue_full,
    // asio::error::timed_out (a write took longer than write_timeout), or the
    // stream's error. Call once. The operation runs on the connection's executor:
    // give a token with no executor of its own, or one bound to that executor
    // (send()'s wake-up is ordered after the writer's wait by it).
    template <class Token>
    auto async_run(Token&& token) {
        return asio::async_compose<Token, void(std::error_code)>(run_op{this->shared_from_this()}, token,
                                                                 conn_->next_layer());
    }

private:
    static timing::heartbeat_config keepalive_only(const stream_options& options) {
        // The client says nothing after its request, so only keep-alive applies.
        return {options.keepalive_interval, timing::heartbeat::clock::duration::zero(), {}};
    }

    void end_locked(std::error_code reason) {
        if (ended_) return;
        ended_ = true;
        end_reason_ = reason;
        queue_.clear();
        queued_bytes_ = 0;
        asio::post(conn_->get_executor(), [self = this->shared_from_this()] {
            self->close_connection();
            self->wake_.cancel();
        });
    }

    // On the connection's executor. Between writes, over TLS, with close_notify
    // first: the client sees the end of the stream, not a truncation.
    void close_connection() {
        if (writing_) conn_->close();
        else conn_->close_gracefully();
    }

    // A writer that is writing takes the queue when its write completes (next()),
    // so only an idle one needs waking, and only once: under a burst the writer is
    // nearly always busy, and the publishing thread posts nothing to the
    // connection's executor.
    void wake_locked() {
        if (!writer_idle_ || wake_pending_) return;
        wake_pending_ = true;
        asio::post(conn_->get_executor(), [self = this->shared_from_this()] {
            {
                std::lock_guard lock(self->mutex_);
                self->wake_pending_ = false;
            }
            self->wake_.cancel();
        });
    }

    // Reads and discards until the client leaves: an EventSource sends nothing after
    // its request, so the read ends only with EOF, a reset, or close(). On a socket
    // it waits for readability and reads into the stack: an idle stream holds no
    // buffer for it.
    void watch() {
        auto& next = conn_->next_layer();
        if constexpr (asio_detail::nonblocking_socket<Stream>) {
            // One read per wake-up: a client that keeps sending does not hold the
            // thread, and what it leaves makes the next wait complete at once (Asio
            // re-arms epoll for each wait).
            next.async_wait(asio::socket_base::wait_read, asio_detail::for_long_wait([self = this->shared_from_this()](std::error_code ec) {
                char discard[4096];
                auto& socket = self->conn_->next_layer();
                if (!ec) (void)asio_detail::read_now(socket, asio::buffer(discard), ec);
                if (!ec) return self->watch();
                self->watched_end(ec);
            }));
        } else {
            next.async_read_some(asio::buffer(discard_), [self = this->shared_from_this()](std::error_code ec, std::size_t) {
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

    struct run_op {
        std::shared_ptr<event_stream> s;
        enum class step { start, head, write, wait } at = step::start;

        template <class Self>
        void operator()(Self& self, std::error_code ec = {}, std::size_t = 0) {
            auto& st = *s;
            switch (at) {
            case step::start: return write_head(self);
            case step::head:
                std::string().swap(st.head_);  // written: an idle stream keeps no copy of it
                [[fallthrough]];
            case step::write:
                st.writing_ = false;
                st.write_deadline_.stop();
                st.inflight_.clear();
                if (ec) return finish(self, ec);
                st.heartbeat_.on_sent(timing::heartbeat::clock::now());
                if (at == step::head && st.conn_->request().method == "HEAD") return finish(self, {});
                break;
            case step::wait: break;
            }
            next(self);
        }

    private:
        template <class Self>
        void write_head(Self& self) {
            auto& st = *s;
            http::head_options options;
            options.keep_alive = false;
            options.until_close = true;
            if (st.conn_->options().send_date) options.date = st.dates_.get(std::chrono::system_clock::now());
            if (auto ec = http::serialize_head(st.head_response_, st.head_, options)) return finish(self, ec);
            st.write_deadline_.on_expire([weak = std::weak_ptr<event_stream>(s)] {
                if (auto alive = weak.lock()) {
                    std::lock_guard lock(alive->mutex_);
                    alive->end_locked(asio::error::timed_out);
                }
            });
            const bool head_only = st.conn_->request().method == "HEAD";  // RFC 9110 §9.3.2: no body
            if (st.options_.retry && !head_only) serialize_retry(*st.options_.retry, st.head_);
            st.watch();
            at = step::head;
            write(self, std::array<asio::const_buffer, 1>{asio::buffer(st.head_)});
        }

        template <class Self>
        void next(Self& self) {
            auto& st = *s;
            bool ended;
            {
                std::lock_guard lock(st.mutex_);
                ended = st.ended_;
                // Idle from here until the queue is looked at again: a send from now
                // on wakes the writer. The wake is posted to the connection's
                // executor, which serialises it after this handler has started the
                // wait below (a connection's executor is a strand, or one thread's).
                st.writer_idle_ = st.queue_.empty();
                while (!st.queue_.empty() && st.inflight_.size() < st.options_.max_batch) {
                    st.queued_bytes_ -= st.queue_.front()->size();
                    st.inflight_.push_back(std::move(st.queue_.front()));
                    st.queue_.pop_front();
                }
                if (!ended && st.closing_ && st.inflight_.empty()) {  // close_when_sent(): all of it is out
                    st.end_locked({});
                    ended = true;
                }
            }
            if (ended) return finish(self, {});
            if (!st.inflight_.empty()) {
                st.buffers_.clear();
                for (const auto& ev : st.inflight_) st.buffers_.push_back(asio::buffer(*ev));
                at = step::write;
                return write(self, st.buffers_);
            }
            const auto now = timing::heartbeat::clock::now();
            if (st.heartbeat_.poll(now) == timing::heartbeat::action::send_ping) {
                at = step::write;
                static constexpr std::string_view comment = ":\n";
                return write(self, std::array<asio::const_buffer, 1>{asio::buffer(comment)});
            }
            at = step::wait;
            st.wake_.expires_at(st.heartbeat_.next_deadline());
            st.wake_.async_wait(asio_detail::for_long_wait(std::move(self)));  // an idle stream's wait
        }

        template <class Self, class Buffers>
        void write(Self& self, const Buffers& buffers) {
            auto& st = *s;
            st.write_deadline_.start();
            st.writing_ = true;
            asio::async_write(st.conn_->next_layer(), buffers, std::move(self));
        }

        template <class Self>
        void finish(Self& self, std::error_code ec) {
            auto& st = *s;
            {
                std::lock_guard lock(st.mutex_);
                // The first cause wins: a write aborted by close() reports why it closed.
                if (st.ended_) ec = st.end_reason_;
                else st.end_locked(ec);
            }
            if (ec) st.conn_->close();
            else st.close_connection();
            st.write_deadline_.cancel();
            auto keep = std::move(s);  // the stream outlives the completion
            self.complete(ec);
        }
    };

    std::shared_ptr<connection_type> conn_;
    stream_options options_;
    http::response head_response_;
    asio::steady_timer wake_;
    asio_detail::write_watchdog write_deadline_;
    timing::heartbeat heartbeat_;
    http::date_cache dates_;
    std::string head_;
    // watch()'s, for a stream that cannot wait for readability (TLS).
    [[no_unique_address]] std::conditional_t<asio_detail::nonblocking_socket<Stream>, std::tuple<>, std::array<char, 512>> discard_{};
    std::vector<shared_event> inflight_;
    std::vector<asio::const_buffer> buffers_;

    mutable std::mutex mutex_;  // guards what send() and close() touch from other threads
    herald::detail::fifo<shared_event> queue_;
    std::size_t queued_bytes_ = 0;
    std::size_t dropped_ = 0;
    bool wake_pending_ = false;
    bool writer_idle_ = false;  // the writer has seen an empty queue and may be waiting
    bool writing_ = false;      // a write is on the stream (the connection's executor only)
    bool ended_ = false;
    bool closing_ = false;  // close_when_sent(): ends once the queue is written
    std::error_code end_reason_{};
};

}  // namespace herald::sse

#endif
