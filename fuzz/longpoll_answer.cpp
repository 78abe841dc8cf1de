// libFuzzer target for herald::longpoll's wire format: the poll query reader and
// the JSON answer reader a client runs on whatever a server sent.
//
// The oracle: neither reader may crash or read outside its input (ASan, UBSan); an
// answer that decodes must, written again by the hub's encoder (hub::poll_body),
// decode to the same answer; a query that parses must, written again by
// append_poll_query, parse the same.
#include <herald/hub/wire.hpp>
#include <herald/longpoll/answer.hpp>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#define HERALD_FUZZ_CHECK(condition)        \
    do {                                    \
        if (!(condition)) __builtin_trap(); \
    } while (0)

namespace longpoll = herald::longpoll;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // An allocation of exactly the input's size, so a read past it is caught.
    auto copy = std::make_unique<char[]>(size);
    if (size) std::memcpy(copy.get(), data, size);
    const std::string_view input{copy.get(), size};

    longpoll::answer a;
    if (!longpoll::decode_answer(input, a)) {
        std::vector<herald::hub::message_ptr> messages;
        for (std::size_t i = 0; i < a.messages.size(); ++i) messages.push_back(herald::hub::make_message("t", "e", i + 1, a.messages[i]));
        const std::string again = herald::hub::poll_body(a.cursor, a.reset, messages);
        longpoll::answer b;
        HERALD_FUZZ_CHECK(!longpoll::decode_answer(again, b));
        HERALD_FUZZ_CHECK(b.cursor == a.cursor && b.reset == a.reset && b.messages == a.messages);
    }

    longpoll::poll_query q;
    if (!longpoll::parse_poll_query(input, q)) {
        std::string target = "/poll";
        longpoll::append_poll_query(q.topic.value_or(""), q.since.value_or(""), q.timeout_seconds, target);
        longpoll::poll_query r;
        HERALD_FUZZ_CHECK(!longpoll::parse_poll_query(target, r));
        HERALD_FUZZ_CHECK(r.topic.value_or("") == q.topic.value_or("") && r.since.value_or("") == q.since.value_or("") &&
                          r.timeout_seconds == q.timeout_seconds);
    }
    return 0;
}
