// What every example shares: command-line options and running an http::server
// on a pool of threads until SIGINT or SIGTERM. Not part of the library.
#ifndef HERALD_EXAMPLES_COMMON_HPP
#define HERALD_EXAMPLES_COMMON_HPP

#include <herald/asio/server.hpp>
#ifdef HERALD_EXAMPLES_TLS
#include <herald/asio/tls.hpp>
#endif

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

namespace example {

// `--name value` pairs; `usage` is printed for --help and unknown options.
class options {
public:
    options(int argc, char** argv, std::string_view usage, std::initializer_list<std::string_view> names) {
        for (int i = 1; i < argc; ++i) {
            const std::string_view arg = argv[i];
            if (arg == "--help") {
                std::printf("%.*s\n", static_cast<int>(usage.size()), usage.data());
                std::exit(0);
            }
            bool known = arg.substr(0, 2) == "--";
            if (known) {
                known = false;
                for (auto n : names) known = known || arg.substr(2) == n;
            }
            if (!known || i + 1 >= argc) {
                std::fprintf(stderr, "%s: unknown option or missing value\n%.*s\n", argv[i], static_cast<int>(usage.size()),
                             usage.data());
                std::exit(2);
            }
            values_[std::string(arg.substr(2))] = argv[++i];
        }
    }

    std::string get(const std::string& name, std::string fallback) const {
        const auto found = values_.find(name);
        return found == values_.end() ? fallback : found->second;
    }

    long number(const std::string& name, long fallback) const {
        const auto found = values_.find(name);
        return found == values_.end() ? fallback : std::strtol(found->second.c_str(), nullptr, 10);
    }

private:
    std::map<std::string, std::string> values_;
};

// Servers that hold many open connections (SSE streams, parked polls) need more
// descriptors than the usual soft limit of 1024: take the hard limit.
inline void raise_descriptor_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

// The io_context's concurrency hint for --threads: with one thread every socket
// operation runs on it, so Asio's reactor may skip its per-descriptor lock
// (ASIO_CONCURRENCY_HINT_UNSAFE_IO; posting from other threads stays safe), a lock
// and an unlock per readiness wait and per completion (docs/benchmarks.md, "Fewer
// instructions per echo"). Only for servers whose sockets no other thread touches.
inline int io_concurrency_hint(const options& opts) {
    const long threads = opts.number("threads", 1);
    return threads == 1 ? static_cast<int>(ASIO_CONCURRENCY_HINT_UNSAFE_IO) : static_cast<int>(threads);
}

// Listens on --host/--port, prints where, and runs `io` on --threads threads until
// a signal; `on_stop` runs first (close streams, answer parked requests).
template <class Server, class OnStop>
int run(asio::io_context& io, Server& server, const options& opts, std::string_view what, OnStop on_stop,
        long default_port = 8080) {
    const std::string host = opts.get("host", "127.0.0.1");
    const auto port = static_cast<unsigned short>(opts.number("port", default_port));
    std::error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (!ec) ec = server.listen({address, port});
    if (ec) {
        std::fprintf(stderr, "cannot listen on %s:%u: %s\n", host.c_str(), port, ec.message().c_str());
        return 1;
    }
    // One line per episode at the descriptor limit (the server refuses and backs off).
    server.on_accept_limit([](std::error_code limit) {
        std::fprintf(stderr, "accept: %s; refusing new clients until descriptors free up\n", limit.message().c_str());
    });
    server.start();
    constexpr bool secure = !std::is_same_v<typename Server::stream_type, typename Server::socket_type>;
    std::printf("%.*s on %s://%s:%u/\n", static_cast<int>(what.size()), what.data(), secure ? "https" : "http", host.c_str(),
                server.local_endpoint().port());
    std::fflush(stdout);
    asio::signal_set signals{io, SIGINT, SIGTERM};
    signals.async_wait([&](std::error_code, int) {
        on_stop();
        server.stop();
        io.stop();
    });
    std::vector<std::thread> threads;
    for (long i = 1; i < opts.number("threads", 1); ++i) threads.emplace_back([&] { io.run(); });
    io.run();
    for (auto& t : threads) t.join();
    return 0;
}

// The same server over TLS: its transport made tls::server_transport.
template <class Server>
struct over_tls;
#ifdef HERALD_EXAMPLES_TLS
template <class Executor, class ConnectionExecutor, class Transport>
struct over_tls<herald::http::basic_server<Executor, ConnectionExecutor, Transport>> {
    using type = herald::http::basic_server<Executor, ConnectionExecutor, herald::tls::server_transport>;
};
#endif

// Calls serve(std::type_identity<S>{}, transport...) and returns what it returns:
// with S = Server and no transport, or, given --cert FILE --key FILE (PEM: the
// certificate chain, then its key), with Server over TLS and its transport, so
// one example serves http:// and ws://, or https:// and wss:// (docs/tls.md).
template <class Server, class Serve>
int serve_plain_or_tls(const options& opts, std::string_view program, Serve serve) {
    if (opts.get("cert", "").empty()) return serve(std::type_identity<Server>{});
#ifdef HERALD_EXAMPLES_TLS
    std::error_code ec;
    auto context = herald::tls::make_server_context({opts.get("cert", ""), opts.get("key", "")}, ec);
    if (!context) {
        std::fprintf(stderr, "%.*s: --cert/--key: %s\n", static_cast<int>(program.size()), program.data(),
                     ec.message().c_str());
        return 1;
    }
    return serve(std::type_identity<typename over_tls<Server>::type>{}, herald::tls::server_transport{context});
#else
    std::fprintf(stderr, "%.*s: built without herald::tls (OpenSSL): no --cert\n", static_cast<int>(program.size()),
                 program.data());
    return 1;
#endif
}

// Serves with `serve` (as serve_plain_or_tls) on a server whose connections have
// no strands when --threads is 1 (http::single_thread_server: uWebSockets' one loop
// per thread; 180 to 225 bytes less per idle connection, docs/benchmarks.md), and
// a strand each, as http::server has by default, when several threads run `io`.
template <class Executor, class Serve>
int serve_on_threads(const options& opts, std::string_view program, Serve serve) {
    if (opts.number("threads", 1) == 1)
        return serve_plain_or_tls<herald::http::single_thread_server<Executor>>(opts, program, serve);
    return serve_plain_or_tls<herald::http::basic_server<Executor>>(opts, program, serve);
}

}  // namespace example

#endif
