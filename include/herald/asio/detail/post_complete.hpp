// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_DETAIL_POST_COMPLETE_HPP
#define HERALD_ASIO_DETAIL_POST_COMPLETE_HPP

// Completing a composed operation from inside its initiating call would run the
// user's handler before async_xxx returns; Asio's rule is that it never does.
// This posts the completion through the I/O executor instead, and from there to
// the handler's associated executor: a handler bound to a strand (bind_executor)
// must run on that strand, as it does when the operation completes after I/O.

#include <asio/associated_executor.hpp>
#include <asio/bind_executor.hpp>
#include <asio/post.hpp>

#include <system_error>
#include <utility>

namespace herald::asio_detail {

template <class Self, class Executor>
void post_complete(Self& self, const Executor& ex, std::error_code ec) {
    auto handler_ex = asio::get_associated_executor(self, ex);
    asio::post(ex, asio::bind_executor(std::move(handler_ex), [self = std::move(self), ec]() mutable { self.complete(ec); }));
}

}  // namespace herald::asio_detail

#endif
