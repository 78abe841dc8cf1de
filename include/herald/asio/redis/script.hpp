// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_REDIS_SCRIPT_HPP
#define HERALD_ASIO_REDIS_SCRIPT_HPP

// A Lua script run with EVALSHA (the script's text is sent once, not with every
// call). Its SHA1 comes from SCRIPT LOAD on first use; when Redis answers NOSCRIPT
// (a restarted Redis, or SCRIPT FLUSH, has none), it is loaded again and the call
// is made once more. Thread-safe: one script may be run on several connections.
// A call reloaded that way answers after calls issued later on the connection
// (those that found the script loaded): callers that need order must not rely on
// the connection's order across a reload.

#include <herald/asio/redis/connection.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace herald::redis {

class script {
public:
    explicit script(std::string text) : state_(std::make_shared<shared>()) { state_->text = std::move(text); }

    // Runs the script on `c` with `keys` and `args`; `done(ec, reply)` as for
    // connection::command (an error reply from the script is a reply).
    void run(const std::shared_ptr<connection>& c, std::vector<std::string> keys, std::vector<std::string> args,
             connection::reply_handler done) const {
        auto call = std::make_shared<invocation>(invocation{state_, c, std::move(keys), std::move(args), std::move(done)});
        const std::string sha = state_->known_sha();
        if (sha.empty()) return load_then_run(call);
        run_sha(call, sha, true);
    }

private:
    struct shared {
        std::mutex mutex;
        std::string text;
        std::string sha;
        std::string known_sha() {
            std::lock_guard lock(mutex);
            return sha;
        }
    };
    struct invocation {
        std::shared_ptr<shared> state;
        std::shared_ptr<connection> c;
        std::vector<std::string> keys, args;
        connection::reply_handler done;
    };

    static void run_sha(const std::shared_ptr<invocation>& call, const std::string& sha, bool may_reload) {
        const std::string count = std::to_string(call->keys.size());
        std::vector<std::string_view> argv{"EVALSHA", sha, count};
        for (const auto& k : call->keys) argv.push_back(k);
        for (const auto& a : call->args) argv.push_back(a);
        call->c->command(argv, [call, may_reload](std::error_code ec, reply r) {
            if (!ec && may_reload && r.is_error("NOSCRIPT")) return load_then_run(call);
            call->done(ec, std::move(r));
        });
    }

    static void load_then_run(const std::shared_ptr<invocation>& call) {
        call->c->command({"SCRIPT", "LOAD", call->state->text}, [call](std::error_code ec, reply r) {
            if (ec || r.type != reply::kind::string) return call->done(ec, std::move(r));
            {
                std::lock_guard lock(call->state->mutex);
                call->state->sha = r.text;
            }
            run_sha(call, r.text, false);
        });
    }

    std::shared_ptr<shared> state_;
};

}  // namespace herald::redis

#endif
