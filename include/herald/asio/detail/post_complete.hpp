// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_DETAIL_POST_COMPLETE_HPP
#define HERALD_ASIO_DETAIL_POST_COMPLETE_HPP

// Completing a composed operation from inside its initiating call would run the
// user's handler before async_xxx returns; Asio's rule is that it never does.
// This posts the completion through the operation's executor instead.

#include <asio/post.hpp>

#include <system_error>
#include <utility>

namespace herald::asio_detail {

template <class Self, class Executor>
void post_complete(Self& self, const Executor& ex, std::error_code ec) {
    asio::post(ex, [self = std::move(self), ec]() mutable { self.complete(ec); });
}

}  // namespace herald::asio_detail

#endif
