// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_DETAIL_ERASED_COMPLETION_HPP
#define HERALD_ASIO_DETAIL_ERASED_COMPLETION_HPP

// The completion handler of a long-running operation, kept aside while the
// operation has nothing pending of its own: an idle SSE stream waits only for its
// client to leave, and the user's handler waits here rather than in a second
// pending operation (sse::event_stream::async_run). Its executor counts as having
// work until the handler runs, as a pending operation's would.

#include <asio/associated_executor.hpp>
#include <asio/dispatch.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/prefer.hpp>

#include <memory>
#include <system_error>
#include <type_traits>
#include <utility>

namespace herald::asio_detail {

class erased_completion {
public:
    virtual ~erased_completion() = default;
    // Runs the handler on its associated executor (at once when that is the
    // caller's): call from a handler of the operation, never from its initiation.
    virtual void complete(std::error_code ec) = 0;
};

template <class Handler, class IoExecutor>
class erased_completion_for final : public erased_completion {
public:
    erased_completion_for(Handler handler, const IoExecutor& io)
        : handler_(std::move(handler)),
          work_(asio::prefer(asio::get_associated_executor(handler_, io), asio::execution::outstanding_work.tracked)) {}

    void complete(std::error_code ec) override {
        asio::dispatch(work_, [h = std::move(handler_), ec]() mutable { h(ec); });
    }

private:
    Handler handler_;
    std::decay_t<decltype(asio::prefer(std::declval<asio::associated_executor_t<Handler, IoExecutor>>(),
                                       asio::execution::outstanding_work.tracked))>
        work_;
};

template <class Handler, class IoExecutor>
std::unique_ptr<erased_completion> erase_completion(Handler handler, const IoExecutor& io) {
    return std::make_unique<erased_completion_for<Handler, IoExecutor>>(std::move(handler), io);
}

}  // namespace herald::asio_detail

#endif
