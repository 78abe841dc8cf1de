// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_HUB_SSE_HPP
#define HERALD_ASIO_HUB_SSE_HPP

// The SSE transport of the hub: an sse::event_stream as a hub subscriber. Each
// message goes out as its SSE form, the one string every subscriber shares (no
// copy); the signals as `event: history-lost` / `event: ready` (hub/wire.hpp).
// The stream's own bounded queue and close policy handle a client too slow to read.

#include <herald/asio/hub/service.hpp>
#include <herald/asio/sse.hpp>

#include <memory>
#include <string_view>
#include <utility>
#include <vector>

namespace herald::hub {

template <class Stream>
class sse_subscriber final : public subscriber {
public:
    explicit sse_subscriber(std::shared_ptr<sse::event_stream<Stream>> stream) : stream_(std::move(stream)) {}

    std::string_view transport() const noexcept override { return "sse"; }
    std::size_t deliver(const message_ptr& m) override {
        return stream_->send(sse::shared_event(m, &m->sse)) ? m->sse.size() : 0;
    }
    void lost(std::string_view topic, std::string_view id) override { stream_->send(sse_lost(topic, id)); }
    // EventSource carries ready's id as its last event id, and resumes from it.
    void ready(std::string_view topic, std::string_view id) override { stream_->send(sse_ready(topic, id)); }
    // EventSource reconnects after `retry:` with the same Last-Event-ID.
    bool unavailable(std::string_view, std::string_view) override {
        stream_->send(sse_retry_later());
        stream_->close_when_sent();
        return true;
    }
    bool ended() const override { return stream_->ended(); }
    bool can_take(const std::vector<message_ptr>& messages) const override {
        std::size_t bytes = 0;
        for (const auto& m : messages) bytes += m->sse.size();
        return stream_->can_take(messages.size(), bytes);
    }
    asio::any_io_executor executor() const override { return stream_->get_executor(); }

private:
    std::shared_ptr<sse::event_stream<Stream>> stream_;
};

// Serves `conn` (handed off by the server) as an SSE stream of `topic_name` from
// `cursor`, until the client leaves, with `head` as its response head. `report`
// (may be empty) hears "open" and "close".
template <class Connection, class Report>
void serve_events(service& hub, const std::shared_ptr<Connection>& conn, const std::string& topic_name,
                  const std::optional<std::string>& cursor, const sse::stream_options& options, Report report,
                  http::response head = sse::stream_response()) {
    using stream_type = sse::event_stream<typename Connection::next_layer_type>;
    auto stream = std::make_shared<stream_type>(conn, options, std::move(head));
    auto sub = std::make_shared<sse_subscriber<typename Connection::next_layer_type>>(stream);
    std::optional<std::string_view> from;
    if (cursor) from = *cursor;
    (void)hub.subscribe(topic_name, from, sub);  // the name was checked before the hand-off
    if (report) report("open", sub->transport(), topic_name);
    stream->async_run([&hub, sub, topic_name, report = std::move(report)](std::error_code ec) {
        if (ec == sse::error::send_queue_full) hub.count_drop();
        hub.unsubscribe(sub.get());
        if (report) report("close", sub->transport(), topic_name);
    });
}

}  // namespace herald::hub

#endif
