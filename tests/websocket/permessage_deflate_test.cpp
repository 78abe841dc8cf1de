#include <herald/websocket/permessage_deflate.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace herald;
namespace ws = herald::websocket;

namespace {

http::request offering(std::vector<std::string> values) {
    http::request req;
    for (const auto& v : values) req.fields.append("Sec-WebSocket-Extensions", v);
    return req;
}

ws::deflate_options on() {
    ws::deflate_options o;
    o.enabled = true;
    return o;
}

http::response answering(std::string value) {
    http::response res{101};
    res.fields.append("Sec-WebSocket-Extensions", value);
    return res;
}

}  // namespace

TEST_CASE("a browser's offer is accepted with the server's defaults", "[websocket][deflate]") {
    // What Chromium and Firefox send (RFC 7692 §7.1.2.2: client_max_window_bits with no value).
    const auto a = ws::accept_deflate_offer(offering({"permessage-deflate; client_max_window_bits"}), on());
    REQUIRE(a);
    CHECK(a->response == "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
    CHECK(a->params.server_no_context_takeover);
    CHECK(a->params.client_no_context_takeover);
    CHECK(a->params.server_max_window_bits == 15);
    CHECK(a->params.client_max_window_bits == 15);
    CHECK(a->params.own_no_context_takeover(ws::role::server));
    CHECK(a->params.peer_window_bits(ws::role::server) == 15);
}

TEST_CASE("no offer, or deflate not enabled, means no extension", "[websocket][deflate]") {
    CHECK_FALSE(ws::accept_deflate_offer(offering({}), on()));
    CHECK_FALSE(ws::accept_deflate_offer(offering({"permessage-deflate"}), ws::deflate_options{}));
    CHECK_FALSE(ws::accept_deflate_offer(offering({"x-webkit-deflate-frame"}), on()));
}

TEST_CASE("each offer that cannot be honoured is declined and the next one tried", "[websocket][deflate]") {
    // RFC 7692 §5.1: unknown, repeated or badly valued parameters decline that offer.
    const std::vector<std::string> bad = {
        "permessage-deflate; foo",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=08",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; client_max_window_bits=x",
        "permessage-deflate; client_max_window_bits=\"1 0\"",
        "permessage-deflate; =10",
        "permessage-deflate client_max_window_bits",
        // zlib's raw deflate has no 8-bit window: the server cannot compress so.
        "permessage-deflate; server_max_window_bits=8",
    };
    for (const auto& offer : bad) {
        INFO(offer);
        CHECK_FALSE(ws::accept_deflate_offer(offering({offer}), on()));
        const auto next = ws::accept_deflate_offer(offering({offer + ", permessage-deflate; server_max_window_bits=10"}), on());
        REQUIRE(next);
        CHECK(next->params.server_max_window_bits == 10);
        CHECK(next->response == "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
                                "server_max_window_bits=10");
    }
}

TEST_CASE("offers in several fields and quoted values are read as one list", "[websocket][deflate]") {
    const auto a = ws::accept_deflate_offer(
        offering({"x-unknown; a=\"b,c\"", "permessage-deflate; client_max_window_bits=\"12\"; server_max_window_bits=11"}), on());
    REQUIRE(a);
    CHECK(a->params.client_max_window_bits == 12);
    CHECK(a->params.server_max_window_bits == 11);
    CHECK(a->response == "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
                         "server_max_window_bits=11; client_max_window_bits=12");
}

TEST_CASE("the server limits windows only where the rules let it", "[websocket][deflate]") {
    auto o = on();
    o.client_max_window_bits = 10;
    o.server_max_window_bits = 12;
    o.server_no_context_takeover = false;
    o.client_no_context_takeover = false;
    // The client said it can be limited: it is.
    auto a = ws::accept_deflate_offer(offering({"permessage-deflate; client_max_window_bits"}), o);
    REQUIRE(a);
    CHECK(a->response == "permessage-deflate; server_max_window_bits=12; client_max_window_bits=10");
    CHECK(a->params.client_max_window_bits == 10);
    CHECK_FALSE(a->params.server_no_context_takeover);
    // It did not: the server may not name client_max_window_bits (§7.1.2.2).
    a = ws::accept_deflate_offer(offering({"permessage-deflate"}), o);
    REQUIRE(a);
    CHECK(a->response == "permessage-deflate; server_max_window_bits=12");
    CHECK(a->params.client_max_window_bits == 15);
    // A client's own requests are granted whatever the server prefers.
    a = ws::accept_deflate_offer(offering({"permessage-deflate; server_no_context_takeover; client_no_context_takeover"}), o);
    REQUIRE(a);
    CHECK(a->params.server_no_context_takeover);
    CHECK(a->params.client_no_context_takeover);
}

TEST_CASE("the client offers what its options say and checks the answer", "[websocket][deflate]") {
    auto o = on();
    CHECK(ws::deflate_offer(ws::deflate_options{}).empty());
    CHECK(ws::deflate_offer(o) == "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
                                  "client_max_window_bits");
    o.server_no_context_takeover = false;
    o.client_no_context_takeover = false;
    o.server_max_window_bits = 10;
    o.client_max_window_bits = 12;
    CHECK(ws::deflate_offer(o) == "permessage-deflate; server_max_window_bits=10; client_max_window_bits=12");

    std::optional<ws::deflate_params> p;
    http::response none{101};
    CHECK_FALSE(ws::check_deflate_answer(none, o, p));
    CHECK_FALSE(p);

    REQUIRE_FALSE(ws::check_deflate_answer(answering("permessage-deflate; server_max_window_bits=9"), o, p));
    REQUIRE(p);
    CHECK(p->server_max_window_bits == 9);
    CHECK(p->client_max_window_bits == 12);  // what the client offered
    CHECK_FALSE(p->server_no_context_takeover);

    // RFC 7692 §5 and §7.1: answers the client must fail on.
    const std::vector<std::string> bad = {
        "x-unknown",
        "permessage-deflate, permessage-deflate",
        "permessage-deflate",                                   // asked for server_max_window_bits=10: not answered
        "permessage-deflate; server_max_window_bits=11",        // more than asked
        "permessage-deflate; server_max_window_bits=10; client_max_window_bits",      // no value in a response
        "permessage-deflate; server_max_window_bits=10; client_max_window_bits=13",   // more than offered
        "permessage-deflate; server_max_window_bits=10; mystery",
        "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
    };
    for (const auto& answer : bad) {
        INFO(answer);
        CHECK(ws::check_deflate_answer(answering(answer), o, p) == ws::error::bad_extension);
    }
    // An answer to no offer at all.
    CHECK(ws::check_deflate_answer(answering("permessage-deflate"), ws::deflate_options{}, p) == ws::error::bad_extension);
    // Asked for server_no_context_takeover: the server must grant it.
    auto strict = on();
    CHECK(ws::check_deflate_answer(answering("permessage-deflate"), strict, p) == ws::error::bad_extension);
    REQUIRE_FALSE(ws::check_deflate_answer(answering("permessage-deflate; server_no_context_takeover"), strict, p));
    CHECK(p->client_no_context_takeover);  // offered, so the client keeps to it
}
