// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_IMPL_WEBSOCKET_HANDSHAKE_OPS_HPP
#define HERALD_ASIO_IMPL_WEBSOCKET_HANDSHAKE_OPS_HPP

// The opening handshake's two operations for websocket::stream (RFC 6455 §4):
// the server's accept_op (read the request when not handed one, answer 101 or
// the refusal) and the client's handshake_op (write the upgrade, read and check
// the 101). The checks themselves are the core's (websocket/handshake.hpp).

#include <herald/asio/websocket.hpp>

namespace herald::websocket {

// What only the opening handshake needs, let go of when it ends (an idle stream
// keeps none of it): the handshake's options, the bytes of the answer or the
// upgrade request, the client's key and its random source for the key.
template <class NextLayer>
struct stream<NextLayer>::opening {
    explicit opening(const stream_options& o, std::function<std::uint32_t()> r = {})
        : server(o.handshake), client(o.client), request_limits(o.request_limits), random(std::move(r)) {}
    websocket::server_options server;
    websocket::client_options client;
    http::limits request_limits;
    std::function<std::uint32_t()> random;
    accepted agreed;    // what the server's answer agrees to
    std::string bytes;  // the answer, or the upgrade request
    std::string key;    // the client's Sec-WebSocket-Key
};

template <class NextLayer>
struct stream<NextLayer>::accept_op {
    stream* s;
    bool read_first;            // read the request from the stream; else opening_ holds the answer
    std::error_code refused{};  // what the answer refuses, if anything
    enum class step { start, read, wrote } at = step::start;
    std::unique_ptr<http::request_parser> parser{};  // not movable
    std::unique_ptr<http::request> request{};

    template <class Self>
    void operator()(Self& self, std::error_code ec = {}, std::size_t n = 0) {
        auto& st = *s;
        switch (at) {
        case step::start:
            if (!st.opening_) return asio_detail::post_complete(self, st.get_executor(), error::invalid_state);  // accepted already
            if (!read_first) return write(self);
            parser = std::make_unique<http::request_parser>(st.opening_->request_limits);
            request = std::make_unique<http::request>();
            break;
        case step::read:
            if (ec) {
                asio_detail::close_stream(st.next_);
                st.opening_.reset();
                return self.complete(ec);
            }
            st.in_.commit(n);
            break;
        case step::wrote:
            if (refused || ec) asio_detail::close_stream(st.next_);
            st.opening_.reset();
            return self.complete(refused ? refused : ec);
        }
        while (true) {
            std::string_view input = st.in_.data();
            const std::size_t before = input.size();
            const http::event ev = parser->next(input);
            st.in_.consume(before - input.size());  // the request only: frames after it stay
            switch (ev.type) {
            case http::event_type::head: parser->head_into(*request); continue;
            case http::event_type::body: continue;  // a body on an upgrade GET means nothing (§4.1)
            case http::event_type::need_more: break;
            case http::event_type::error: refused = st.prepare_answer(*request, parser->error()); return write(self);
            default: refused = st.prepare_answer(*request, {}); return write(self);  // the whole request is in
            }
            break;
        }
        const auto space = st.in_.prepare(st.settings_.read_size);
        at = step::read;
        st.next_.async_read_some(asio::buffer(space.data(), space.size()), std::move(self));
    }

    template <class Self>
    void write(Self& self) {
        // Another accept ended the handshake meanwhile (calls that overlap: misuse).
        if (!s->opening_) return self.complete(error::invalid_state);
        at = step::wrote;
        asio::async_write(s->next_, asio::buffer(s->opening_->bytes), std::move(self));
    }
};

template <class NextLayer>
struct stream<NextLayer>::handshake_op {
    stream* s;
    enum class step { start, wrote, read } at = step::start;
    std::unique_ptr<http::response_parser> parser = std::make_unique<http::response_parser>();  // not movable

    template <class Self>
    void operator()(Self& self, std::error_code ec = {}, std::size_t n = 0) {
        auto& st = *s;
        switch (at) {
        case step::start:
            if (!st.opening_) return asio_detail::post_complete(self, st.get_executor(), error::invalid_state);  // done already
            at = step::wrote;
            return asio::async_write(st.next_, asio::buffer(st.opening_->bytes), std::move(self));
        case step::wrote:
            if (ec) return finish(self, ec);
            break;
        case step::read:
            if (ec) return finish(self, ec);
            st.in_.commit(n);
            break;
        }
        std::string_view input = st.in_.data();
        const std::size_t before = input.size();
        const http::event ev = parser->next(input);
        st.in_.consume(before - input.size());  // the head only: frames after it stay
        if (ev.type == http::event_type::head) {
            http::response res;
            parser->head_into(res);
            std::optional<deflate_params> agreed;
            const auto& client = st.opening_->client;
            std::string chosen;
            std::error_code refused = check_response(res, st.opening_->key, client.subprotocols, chosen, client.deflate, agreed);
            st.keep_subprotocol(std::move(chosen));
            if (refused) asio_detail::close_stream(st.next_);
            else if (agreed) st.conn_.enable_deflate(*agreed, client.deflate);
            return finish(self, refused);
        }
        if (ev.type == http::event_type::error) {
            asio_detail::close_stream(st.next_);
            return finish(self, parser->error());
        }
        const auto space = st.in_.prepare(st.settings_.read_size);
        at = step::read;
        st.next_.async_read_some(asio::buffer(space.data(), space.size()), std::move(self));
    }

    template <class Self>
    void finish(Self& self, std::error_code ec) {
        s->opening_.reset();
        self.complete(ec);
    }
};

template <class NextLayer>
std::error_code stream<NextLayer>::prepare_answer(const http::request& req, std::error_code not_http) {
    if (!opening_) return error::invalid_state;  // accepted already
    auto& o = *opening_;
    const std::error_code refused = write_answer(req, not_http, o.server, o.agreed, o.bytes);
    if (!refused && o.agreed.deflate) conn_.enable_deflate(o.agreed.deflate->params, o.server.deflate);
    keep_subprotocol(std::move(o.agreed.subprotocol));
    return refused;
}

// Kept only when there is one: most streams have none, and pay a pointer, not a string.
template <class NextLayer>
void stream<NextLayer>::keep_subprotocol(std::string chosen) {
    if (!chosen.empty()) subprotocol_ = std::make_unique<const std::string>(std::move(chosen));
}

}  // namespace herald::websocket

#endif
