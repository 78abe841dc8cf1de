// The heartbeat over a fake clock: nothing sleeps.
#include <herald/timing/heartbeat.hpp>

#include <catch2/catch.hpp>

using namespace herald::timing;
using namespace std::chrono;
using action = heartbeat::action;

namespace {
const heartbeat::time_point start{seconds(1000)};
}

TEST_CASE("keep-alive: a ping is due after the send-idle interval - and traffic pushes it back", "[timing][heartbeat]") {
    heartbeat_config c;
    c.keepalive_interval = seconds(15);
    c.idle_timeout = heartbeat::clock::duration::zero();  // SSE: liveness off
    heartbeat h{c, start};
    CHECK(h.next_deadline() == start + seconds(15));
    CHECK(h.poll(start + seconds(14)) == action::none);
    h.on_sent(start + seconds(10));  // an event went out
    CHECK(h.next_deadline() == start + seconds(25));
    CHECK(h.poll(start + seconds(15)) == action::none);
    CHECK(h.poll(start + seconds(25)) == action::send_ping);
    h.on_sent(start + seconds(25));
    CHECK(h.poll(start + seconds(26)) == action::none);
    CHECK(h.next_deadline() == start + seconds(40));
    // Receiving nothing for ever never declares an SSE client dead.
    CHECK(h.poll(start + hours(5)) == action::send_ping);
    CHECK_FALSE(h.peer_dead());
}

TEST_CASE("liveness: silence brings a probe - then death if nothing answers", "[timing][heartbeat]") {
    heartbeat_config c;
    c.keepalive_interval = heartbeat::clock::duration::zero();
    c.idle_timeout = seconds(30);
    c.pong_timeout = seconds(10);
    heartbeat h{c, start};
    CHECK(h.next_deadline() == start + seconds(30));
    CHECK(h.poll(start + seconds(29)) == action::none);
    CHECK(h.poll(start + seconds(30)) == action::send_ping);
    h.on_sent(start + seconds(30));
    CHECK(h.next_deadline() == start + seconds(40));
    CHECK(h.poll(start + seconds(35)) == action::none);  // one probe, not a ping per poll
    CHECK(h.poll(start + seconds(40)) == action::peer_dead);
    CHECK(h.peer_dead());
    CHECK(h.poll(start + seconds(41)) == action::peer_dead);  // sticky
}

TEST_CASE("liveness: an answer to the probe keeps the peer alive", "[timing][heartbeat]") {
    heartbeat_config c;
    c.keepalive_interval = heartbeat::clock::duration::zero();
    c.idle_timeout = seconds(30);
    c.pong_timeout = seconds(10);
    heartbeat h{c, start};
    REQUIRE(h.poll(start + seconds(30)) == action::send_ping);
    h.on_received(start + seconds(33));  // the pong
    CHECK(h.poll(start + seconds(40)) == action::none);
    CHECK(h.next_deadline() == start + seconds(63));
    CHECK_FALSE(h.peer_dead());
    // Data received counts as much as a pong.
    h.on_received(start + seconds(60));
    CHECK(h.next_deadline() == start + seconds(90));
}

TEST_CASE("both rules: the nearer deadline wins", "[timing][heartbeat]") {
    heartbeat_config c;
    c.keepalive_interval = seconds(20);
    c.idle_timeout = seconds(30);
    heartbeat h{c, start};
    CHECK(h.next_deadline() == start + seconds(20));
    CHECK(h.poll(start + seconds(20)) == action::send_ping);
    h.on_sent(start + seconds(20));
    CHECK(h.next_deadline() == start + seconds(30));
    CHECK(h.poll(start + seconds(30)) == action::send_ping);  // the liveness probe
    h.on_sent(start + seconds(30));
    CHECK(h.next_deadline() == start + seconds(40));
}

TEST_CASE("both rules off: no deadline ever", "[timing][heartbeat]") {
    heartbeat h{heartbeat_config{heartbeat::clock::duration::zero(), heartbeat::clock::duration::zero(), seconds(1)}, start};
    CHECK(h.next_deadline() == heartbeat::time_point::max());
    CHECK(h.poll(start + hours(100)) == action::none);
}
