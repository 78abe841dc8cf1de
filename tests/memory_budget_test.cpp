// The process-wide memory budget, and what the WebSocket core holds against it.
#include <herald/memory_budget.hpp>
#include <herald/websocket/connection.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

using namespace herald;
namespace ws = herald::websocket;

namespace {

// A masked client text frame with a zero key, fin set unless `more`.
std::string masked_frame(std::string_view payload, bool more = false, ws::opcode op = ws::opcode::text) {
    ws::frame_header h{!more, 0, op, true, payload.size(), {0, 0, 0, 0}};
    char head[ws::max_header_size];
    const std::size_t n = ws::write_header(h, head);
    return std::string(head, n).append(payload);
}

}  // namespace

TEST_CASE("memory budget: takes what fits, refuses what does not, and counts refusals", "[budget]") {
    memory_budget budget{100};
    CHECK(budget.try_take(60));
    CHECK_FALSE(budget.try_take(41));
    CHECK(budget.used() == 60);
    CHECK(budget.try_take(40));
    CHECK_FALSE(budget.try_take(1));
    budget.give_back(100);
    CHECK(budget.used() == 0);
    CHECK(budget.refusals() == 2);
    CHECK(std::error_code(budget_error::exhausted) == condition::limit_exceeded);
}

TEST_CASE("memory budget: a share grows, shrinks, moves, and gives everything back when destroyed", "[budget]") {
    memory_budget budget{1000};
    {
        budget_share a{&budget};
        CHECK(a.hold(300));
        CHECK(budget.used() == 300);
        CHECK_FALSE(a.hold(1001));  // refused: nothing changes
        CHECK(a.held() == 300);
        CHECK(a.hold(100));  // shrinking gives back the difference
        CHECK(budget.used() == 100);
        a.shrink_to(500);  // never takes
        CHECK(a.held() == 100);
        budget_share b = std::move(a);
        CHECK(a.held() == 0);
        CHECK(b.held() == 100);
        budget_share c{&budget};
        CHECK(c.hold(900));
        CHECK_FALSE(b.hold(101));
        c = std::move(b);  // c's 900 go back, b's 100 come with it
        CHECK(budget.used() == 100);
    }
    CHECK(budget.used() == 0);
    budget_share unbounded;  // no budget: only the holder's own limits apply
    CHECK(unbounded.hold(std::size_t(1) << 40));
}

TEST_CASE("memory budget: threads taking and giving back never pass the limit or lose a byte", "[budget]") {
    memory_budget budget{1000};
    std::vector<std::thread> threads;
    std::atomic<bool> passed{false};
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 20000; ++i) {
                if (!budget.try_take(300)) continue;
                if (budget.used() > budget.limit()) passed = true;
                budget.give_back(300);
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK_FALSE(passed);
    CHECK(budget.used() == 0);
}

TEST_CASE("websocket core: a message the budget cannot hold fails the connection with 1009", "[budget][websocket]") {
    memory_budget budget{10000};
    ws::limits limits;
    limits.budget = &budget;
    ws::connection a{ws::role::server, limits};
    ws::connection b{ws::role::server, limits};
    // a holds the first 6,000 bytes of a fragmented message.
    std::string_view in;
    const std::string first = masked_frame(std::string(6000, 'a'), true);
    in = first;
    CHECK(a.next(in) == ws::event_type::need_more);
    CHECK(budget.used() == 6000);
    // A header alone holds nothing, whatever length it announces.
    const std::string frame_b = masked_frame(std::string(5000, 'b'));
    in = std::string_view(frame_b).substr(0, 8);
    CHECK(b.next(in) == ws::event_type::need_more);
    CHECK(budget.used() == 6000);
    // Its bytes are held as they come, up to what the budget has left.
    in = std::string_view(frame_b).substr(8, 3000);
    CHECK(b.next(in) == ws::event_type::need_more);
    CHECK(budget.used() == 9000);
    in = std::string_view(frame_b).substr(8 + 3000);
    CHECK(b.next(in) == ws::event_type::error);
    CHECK(b.error() == budget_error::exhausted);
    CHECK(b.output().substr(0, 4) == std::string("\x88\x02\x03\xf1", 4));  // close 1009 (0x03f1)
    CHECK(budget.used() == 6000);  // a failed connection gives its message's bytes back at once
    b = ws::connection{ws::role::server, limits};
    CHECK(budget.used() == 6000);
    // a's message ends; once a's next call comes, its bytes go back to the budget.
    const std::string last = masked_frame(std::string(100, 'a'), false, ws::opcode::continuation);
    in = last;
    REQUIRE(a.next(in) == ws::event_type::message);
    CHECK(a.data().size() == 6100);
    CHECK(budget.used() == 6100);
    CHECK(a.next(in) == ws::event_type::need_more);
    CHECK(budget.used() == 0);
    // The limit is the budget's, not the connection's: the same frame now fits.
    ws::connection c{ws::role::server, limits};
    const std::string fits = masked_frame(std::string(5000, 'c'));
    in = fits;
    CHECK(c.next(in) == ws::event_type::message);
}
