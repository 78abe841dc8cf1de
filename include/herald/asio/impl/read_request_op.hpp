// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_IMPL_READ_REQUEST_OP_HPP
#define HERALD_ASIO_IMPL_READ_REQUEST_OP_HPP

// Included at the end of http.hpp; including it first works too.
#include <herald/asio/http.hpp>

// How it works: pull events from the parser over the buffered bytes; on need_more,
// read_some into the buffer and pull again (on a socket, a connection with no
// buffer waits for readability first). The head is copied into the request,
// body pieces appended; end_of_message completes. A parse error or an expired
// header/body deadline is answered (status_for(ec), or 408) and the stream closed
// before the operation completes with the error.

namespace herald::http {

template <class Stream>
struct read_request_op {
    server_connection<Stream>* conn;
    enum class step { start, readable, read, wrote_continue, wrote_answer } at = step::start;
    std::error_code failure{};

    template <class Self>
    void operator()(Self& self, std::error_code ec = {}, std::size_t bytes = 0) {
        auto& c = *conn;
        switch (at) {
        case step::start:
            if (c.request_) c.request_->request.clear();
            c.let_go_ = {};  // a request let go of is no longer the one answered
            c.forget_body();
            if (!c.keep_alive_) return asio_detail::post_complete(self, c.get_executor(), asio::error::eof);
            c.arm(c.buffered().empty() ? server_connection<Stream>::phase::idle : server_connection<Stream>::phase::head);
            break;
        case step::readable:  // sockets only (pull): the read follows
            // Expired whatever `ec` says: a completion queued before the deadline's
            // cancel found nothing to cancel must not carry on without a deadline.
            if (c.deadline_.expired()) return timed_out(self);
            if (ec) return finish(self, ec);
            break;
        case step::read:
            if (c.deadline_.expired()) return timed_out(self);
            if (ec == asio::error::eof) return end_of_stream(self);
            if (ec) return finish(self, ec);
            c.buffer().commit(bytes);
            break;
        case step::wrote_continue:
            if (ec) return finish(self, ec);
            break;
        case step::wrote_answer:
            c.close();
            return self.complete(failure);
        }
        pull(self);
    }

private:
    using phase = typename server_connection<Stream>::phase;

    template <class Self>
    void pull(Self& self) {
        auto& c = *conn;
        auto& io = c.io();  // kept while a request is read (rest() is for between requests)
        while (true) {
            std::string_view input = io.buffer.data();
            const std::size_t before = input.size();
            const event ev = io.parser.next(input);
            io.buffer.consume(before - input.size());
            switch (ev.type) {
            case event_type::head:
                io.parser.head_into(c.request());
                if (auto bad = c.request().check_host()) return answer(self, bad, status_for(bad));  // RFC 9112 §3.2
                c.arm(phase::body);
                // RFC 9110 §10.1.1: a client that sent `Expect: 100-continue` may wait
                // for this interim answer before it sends the body.
                if (auto& p = io.parser; p.expects_continue() && (p.chunked() || p.content_length().value_or(0) > 0)) {
                    at = step::wrote_continue;
                    asio::async_write(c.stream_, asio::buffer(std::string_view{"HTTP/1.1 100 Continue\r\n\r\n"}),
                                      std::move(self));
                    return;
                }
                continue;
            case event_type::body: {
                // A body the process's memory budget cannot hold now: 503, try later.
                auto& body = c.request().body;
                if (!c.held().body_held.hold(body.size() + ev.data.size())) return answer(self, budget_error::exhausted, 503);
                body.append(ev.data);
                continue;
            }
            case event_type::end_of_message: return finish(self, {});
            case event_type::upgrade:
                // Reached only when the previous request asked for an upgrade and was
                // answered with plain HTTP instead: the parser goes on (RFC 9110 §7.8).
                continue;
            case event_type::error: return answer(self, io.parser.error(), status_for(io.parser.error()));
            case event_type::need_more:
            case event_type::closed: break;
            }
            if (c.phase_ == phase::idle && before > 0) c.arm(phase::head);  // the first bytes arrived
            if constexpr (asio_detail::nonblocking_socket<Stream>) {
                // A connection with no read buffer (new, or after a parked request or
                // a hand-off let it go: rest()) waits for the request's bytes before it
                // makes one, so a thousand long polls answered at once do not each
                // hold 16 KiB until their next poll comes (as uWebSockets reads into
                // memory only once there is something to read).
                // The read that follows finds the bytes at once (Asio tries it before
                // it waits).
                if (io.buffer.capacity() == 0 && at != step::readable) {
                    at = step::readable;
                    c.stream_.async_wait(asio::socket_base::wait_read, std::move(self));
                    return;
                }
            }
            const auto space = io.buffer.prepare(c.options_->read_size);
            at = step::read;
            c.stream_.async_read_some(asio::buffer(space.data(), space.size()), std::move(self));
            return;
        }
    }

    template <class Self>
    void end_of_stream(Self& self) {
        auto& c = *conn;
        const event ev = c.parser().finish();
        c.keep_alive_ = false;
        // An EOF between requests is the normal end of a connection; inside one the
        // client is gone, so there is nobody to answer.
        finish(self, ev.type == event_type::closed ? std::error_code{asio::error::eof} : c.parser().error());
    }

    template <class Self>
    void timed_out(Self& self) {
        // RFC 9110 §15.5.9: 408 tells a client that started a request why it is
        // closed; an idle keep-alive connection is simply closed.
        if (conn->phase_ == phase::idle) return finish(self, asio::error::timed_out);
        answer(self, asio::error::timed_out, 408);
    }

    template <class Self>
    void answer(Self& self, std::error_code ec, unsigned status) {
        auto& c = *conn;
        c.pause_deadline();
        failure = ec;
        if (status == 0) return finish(self, ec);
        c.keep_alive_ = false;
        auto& refusal = c.held().error_response;
        refusal = std::make_unique<response>(status, "text/plain; charset=utf-8", ec.message() + "\n");
        if (status == 503) refusal->fields.append("Retry-After", "1");  // RFC 9110 §10.2.3
        if (c.prepare_head(*refusal)) return finish(self, ec);
        at = step::wrote_answer;
        c.arm(phase::write);  // a client that sent garbage and reads nothing is cut too
        // RFC 9110 §9.3.2: to a HEAD read whole (a bad Host, a body refused), the
        // fields and no content; before its head is read the method is not known.
        const auto content = c.head_request() ? asio::const_buffer() : asio::buffer(refusal->body);
        const std::array<asio::const_buffer, 2> buffers{asio::buffer(c.io().head), content};
        asio::async_write(c.stream_, buffers, std::move(self));
    }

    template <class Self>
    void finish(Self& self, std::error_code ec) {
        auto& c = *conn;
        c.pause_deadline();
        if (ec) {
            c.keep_alive_ = false;
            if (ec != asio::error::eof) c.close();
        }
        self.complete(ec);
    }
};

template <class Stream>
template <class Token>
auto server_connection<Stream>::async_read_request(Token&& token) {
    return asio::async_compose<Token, void(std::error_code)>(read_request_op<Stream>{this}, token, stream_);
}

}  // namespace herald::http

#endif
