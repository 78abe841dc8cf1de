// A server's table of open connections (asio_detail::connection_table): a ticket
// is an entry for as long as it lives, a new owner takes it over, and one that
// takes it after close_all() learns that it must close.
#include <herald/asio/detail/connection_table.hpp>

#include <catch2/catch.hpp>

#include <memory>

using herald::asio_detail::connection_table;

namespace {

struct closable {
    int closed = 0;
    static void close(const std::shared_ptr<void>& self) { ++static_cast<closable*>(self.get())->closed; }
};

}  // namespace

TEST_CASE("connection table: an entry lives as long as its ticket, and follows the owner that takes it", "[asio][http]") {
    auto table = std::make_shared<connection_table>();
    auto owner = std::make_shared<closable>();
    auto stream = std::make_shared<closable>();
    {
        auto ticket = table->add(owner, &closable::close);
        CHECK(table->size() == 1);
        auto taken = std::move(ticket);  // the stream takes the connection's place
        CHECK_FALSE(taken.follow(stream, &closable::close));
        owner.reset();  // the connection goes; its place stays
        CHECK(table->size() == 1);
        table->close_all();
        CHECK(stream->closed == 1);
    }
    CHECK(table->size() == 0);
}

TEST_CASE("connection table: an owner taking a ticket after close_all() is told to close itself", "[asio][http]") {
    // stop() while the connection was being handed off: the closer it ran reached
    // the connection, whose stream had already moved out.
    auto table = std::make_shared<connection_table>();
    auto owner = std::make_shared<closable>();
    auto ticket = table->add(owner, &closable::close);
    table->close_all();
    CHECK(owner->closed == 1);
    auto stream = std::make_shared<closable>();
    CHECK(ticket.follow(stream, &closable::close));
    auto later = table->add(std::make_shared<closable>(), &closable::close);  // a new connection is not affected
    CHECK_FALSE(later.follow(stream, &closable::close));
}
