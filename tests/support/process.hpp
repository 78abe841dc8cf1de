// Starts an example server as a child process on a free loopback port, for tests
// that drive the examples the way a user would. The child is killed on scope exit.
#ifndef HERALD_TESTS_SUPPORT_PROCESS_HPP
#define HERALD_TESTS_SUPPORT_PROCESS_HPP

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace herald::test_support {

// A port nobody listens on right now (bind to 0, read it, release it).
inline unsigned short free_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor a{io, {asio::ip::make_address("127.0.0.1"), 0}};
    return a.local_endpoint().port();
}

// Runs `command` through the shell: what it printed, and its exit status (-1 when
// it did not exit). Throws when no shell can be started.
inline std::pair<std::string, int> run_shell(const std::string& command) {
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) throw std::runtime_error("popen failed: " + command);
    char chunk[4096];
    for (std::size_t n; (n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0;) out.append(chunk, n);
    const int status = ::pclose(pipe);
    return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

class child_server {
public:
    // On `port`, or on a free one when 0 (a restart passes the port it had).
    child_server(const std::string& program, std::vector<std::string> args, unsigned short port = 0)
        : port_(port ? port : free_port()) {
        args.insert(args.begin(), {program, "--port", std::to_string(port_)});
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        if (posix_spawn(&pid_, program.c_str(), nullptr, nullptr, argv.data(), environ) != 0)
            throw std::runtime_error("cannot start " + program);
        // Ready when it accepts a connection; give up after five seconds.
        for (int i = 0; i < 500; ++i) {
            asio::io_context io;
            asio::ip::tcp::socket s{io};
            std::error_code ec;
            s.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
            if (!ec) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        stop();
        throw std::runtime_error(program + " did not start listening");
    }
    ~child_server() { stop(); }
    child_server(const child_server&) = delete;
    child_server& operator=(const child_server&) = delete;

    unsigned short port() const noexcept { return port_; }
    asio::ip::tcp::endpoint endpoint() const { return {asio::ip::make_address("127.0.0.1"), port_}; }
    pid_t pid() const noexcept { return pid_; }

    // The server's resident memory (VmRSS), in KiB: for tests that show a hostile
    // client cannot grow it without bound.
    long resident_kib() const { return status_kib("VmRSS:"); }
    // Its peak resident memory so far (VmHWM), in KiB: catches a spike between polls.
    long peak_resident_kib() const { return status_kib("VmHWM:"); }

    // SIGTERM: the server shuts down as it would be asked to; SIGKILL: kill -9.
    void stop(int signal = SIGTERM) {
        if (pid_ <= 0) return;
        ::kill(pid_, signal);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }

private:
    long status_kib(const std::string& field) const {
        std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
        std::string line;
        while (std::getline(status, line))
            if (line.rfind(field, 0) == 0) return std::stol(line.substr(field.size()));
        return -1;
    }

    unsigned short port_;
    pid_t pid_ = -1;
};

}  // namespace herald::test_support

#endif
