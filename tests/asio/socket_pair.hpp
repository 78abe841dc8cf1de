// A connected pair of loopback sockets for tests of websocket::stream on a socket
// (websocket_write_test.cpp, websocket_direct_write_test.cpp): the server's end
// for a stream, the client's read with blocking calls and a client connection.
#ifndef HERALD_TESTS_ASIO_SOCKET_PAIR_HPP
#define HERALD_TESTS_ASIO_SOCKET_PAIR_HPP

#include "../support/websocket_wire.hpp"
#include "support.hpp"

#include <herald/websocket/connection.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace herald::testing {

// A connected pair of sockets on loopback: the server's end for a stream, the
// client's read with blocking calls.
struct socket_pair {
    explicit socket_pair(asio::io_context& io) : server(io), client(io) {
        asio::ip::tcp::acceptor acceptor{io, {asio::ip::make_address("127.0.0.1"), 0}};
        client.connect(acceptor.local_endpoint());
        acceptor.accept(server);
    }
    // Bounded kernel buffers (the server's to send, the client's to receive): a
    // client that does not read fills them soon.
    void bound_buffers(int bytes) {
        server.set_option(asio::socket_base::send_buffer_size(bytes));
        client.set_option(asio::socket_base::receive_buffer_size(bytes));
    }
    // Fills the kernel's buffers from the server's end (16 KiB each) before a stream
    // has it, so that the stream's first write is refused whole; returns how many
    // filler bytes the client must read (skip_filler) before the stream's frames.
    std::size_t fill_from_server() {
        bound_buffers(16 * 1024);
        server.non_blocking(true);
        const std::string chunk(4096, 'f');
        std::size_t filler = 0;
        std::error_code full;
        while (!full) filler += server.write_some(asio::buffer(chunk), full);
        REQUIRE(full == asio::error::would_block);
        return filler;
    }
    void skip_filler(std::size_t filler) {
        std::string skipped(filler, '\0');
        asio::read(client, asio::buffer(skipped));
    }
    asio::ip::tcp::socket server, client;
};

// Reads from `socket` until `count` messages came.
inline std::vector<std::string> read_messages(asio::ip::tcp::socket& socket, std::size_t count) {
    websocket::connection conn(websocket::role::client, {}, test::rng(7));
    std::vector<std::string> messages;
    testing::read_ws_messages(socket, conn, messages, count);
    return messages;
}

inline std::string pattern(std::size_t size, unsigned seed) {
    std::string s(size, '\0');
    auto draw = test::rng(seed);
    for (auto& c : s) c = static_cast<char>(draw());
    return s;
}

}  // namespace herald::testing

#endif
