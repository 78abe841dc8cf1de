// detail::fifo: the send queue that holds no memory while empty.
#include <herald/detail/fifo.hpp>

#include <catch2/catch.hpp>

#include <deque>
#include <memory>
#include <random>

using herald::detail::fifo;

TEST_CASE("fifo: elements come out in order through interleaved pushes and pops, as std::deque's", "[fifo]") {
    fifo<int> q;
    std::deque<int> model;
    std::mt19937 gen(7);
    int next = 0;
    for (int step = 0; step < 20000; ++step) {
        if (model.empty() || gen() % 3 != 0) {  // grows on average, then drains below
            q.push_back(next);
            model.push_back(next++);
        } else {
            REQUIRE(q.front() == model.front());
            q.pop_front();
            model.pop_front();
        }
        REQUIRE(q.size() == model.size());
        REQUIRE(q.empty() == model.empty());
    }
    while (!model.empty()) {
        REQUIRE(q.front() == model.front());
        q.pop_front();
        model.pop_front();
    }
    CHECK(q.empty());
    q.push_back(1);  // usable again after draining
    CHECK(q.front() == 1);
}

TEST_CASE("fifo: a popped element and a cleared queue let go of what they held at once", "[fifo]") {
    auto event = std::make_shared<int>(1);
    fifo<std::shared_ptr<int>> q;
    for (int i = 0; i < 40; ++i) q.push_back(event);
    CHECK(event.use_count() == 41);
    q.pop_front();
    CHECK(event.use_count() == 40);  // not kept in the gap at the front
    for (int i = 0; i < 20; ++i) q.pop_front();  // past half: the gap is closed
    CHECK(event.use_count() == 20);
    CHECK(q.size() == 19);
    q.clear();
    CHECK(event.use_count() == 1);
    CHECK(q.empty());
}
