// A server's table of open connections (asio_detail::connection_table): a ticket
// is an entry for as long as it lives, a new owner takes it over, and one that
// takes it after close_all() learns that it must close.
#include <herald/asio/detail/connection_table.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <vector>

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

TEST_CASE("connection table: a place given up is reused, and close_all() reaches only the owners with a ticket", "[asio][http]") {
    auto table = std::make_shared<connection_table>();
    std::vector<std::shared_ptr<closable>> owners;
    std::vector<connection_table::ticket> tickets;
    for (int i = 0; i < 100; ++i) {  // more than one chunk of places
        owners.push_back(std::make_shared<closable>());
        tickets.push_back(table->add(owners.back(), &closable::close));
    }
    CHECK(table->size() == 100);
    // Give up every third place; new connections take them over.
    for (std::size_t i = 0; i < tickets.size(); i += 3) tickets[i] = connection_table::ticket{};
    CHECK(table->size() == 66);
    std::vector<std::shared_ptr<closable>> later;
    for (int i = 0; i < 20; ++i) {
        later.push_back(std::make_shared<closable>());
        tickets.push_back(table->add(later.back(), &closable::close));
    }
    CHECK(table->size() == 86);

    table->close_all();
    for (std::size_t i = 0; i < owners.size(); ++i) CHECK(owners[i]->closed == (i % 3 == 0 ? 0 : 1));
    for (const auto& o : later) CHECK(o->closed == 1);

    tickets.clear();
    CHECK(table->size() == 0);
    // Every place is free again: a new ticket is not told it was closed.
    auto fresh = table->add(std::make_shared<closable>(), &closable::close);
    CHECK_FALSE(fresh.follow(std::make_shared<closable>(), &closable::close));
    CHECK(table->size() == 1);
}
