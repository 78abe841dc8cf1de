// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_DETAIL_DESCRIPTOR_RESERVE_HPP
#define HERALD_ASIO_DETAIL_DESCRIPTOR_RESERVE_HPP

// What an acceptor does at the process's descriptor limit (EMFILE, ENFILE). Left
// alone, accept() fails at once again and again (a core spinning) while the clients
// in the listen backlog wait until their own timeouts. libuv's answer, used here:
// hold one spare descriptor; at the limit, give it up, accept each waiting client
// and close it at once (it is refused now, not left hanging), then take the spare
// back. The acceptor then waits a backoff before it accepts again, and recovers
// when descriptors free up.

#include <asio/error.hpp>

#include <cerrno>
#include <system_error>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

namespace herald::asio_detail {

// True for the accept errors that mean "no descriptor or no memory for one".
// Compared as Asio reports them: standalone Asio's system category maps to no
// std::errc condition.
inline bool out_of_descriptors(const std::error_code& ec) noexcept {
    return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space || ec == asio::error::no_memory ||
           ec == std::error_code(ENFILE, asio::error::get_system_category());
}

class descriptor_reserve {
public:
    descriptor_reserve() noexcept { take(); }
    ~descriptor_reserve() { give_up(); }
    descriptor_reserve(const descriptor_reserve&) = delete;
    descriptor_reserve& operator=(const descriptor_reserve&) = delete;

    // Refuses every client waiting on `listener` (a non-blocking listening socket)
    // by accepting and closing it with the spare descriptor.
    template <class NativeHandle>
    void refuse_waiting(NativeHandle listener) noexcept {
#if defined(__unix__) || defined(__APPLE__)
        give_up();
        for (int fd; (fd = ::accept(listener, nullptr, nullptr)) >= 0;) ::close(fd);
        take();
#else
        (void)listener;
#endif
    }

private:
    void take() noexcept {
#if defined(__unix__) || defined(__APPLE__)
        if (spare_ < 0) spare_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
#endif
    }
    void give_up() noexcept {
#if defined(__unix__) || defined(__APPLE__)
        if (spare_ >= 0) ::close(spare_);
        spare_ = -1;
#endif
    }
    int spare_ = -1;
};

}  // namespace herald::asio_detail

#endif
