// asio_detail::small_callback: the move-only void() that keeps a callable of up to
// two words without a heap block (responder::on_abandon keeps one per parked poll).
#include <herald/asio/detail/small_callback.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <functional>
#include <memory>
#include <utility>

using herald::asio_detail::small_callback;

namespace {

// Counts its calls and destructions through shared counters; `moved_from` ones do
// not count as destroyed, so a count of 1 means exactly one live copy went away.
struct counted {
    int* calls;
    int* destroyed;
    counted(int* c, int* d) noexcept : calls(c), destroyed(d) {}
    counted(counted&& o) noexcept : calls(std::exchange(o.calls, nullptr)), destroyed(std::exchange(o.destroyed, nullptr)) {}
    counted(const counted&) = delete;
    ~counted() {
        if (destroyed) ++*destroyed;
    }
    void operator()() { ++*calls; }
};

// As counted, but too large to be kept inline.
struct counted_large : counted {
    std::array<char, 64> pad{};
    using counted::counted;
};

// Small, but its move may throw: it goes on the heap so that moving the callback cannot.
struct throwing_move {
    int* calls;
    explicit throwing_move(int* c) : calls(c) {}
    throwing_move(throwing_move&& o) noexcept(false) : calls(o.calls) {}
    void operator()() { ++*calls; }
};

}  // namespace

// The callable long polling registers: a lambda holding a weak_ptr to its waiter.
using weak_lambda = decltype([w = std::weak_ptr<int>()] { (void)w.lock(); });
static_assert(small_callback::keeps_inline<weak_lambda>);
static_assert(small_callback::keeps_inline<counted>);
static_assert(!small_callback::keeps_inline<counted_large>);
static_assert(!small_callback::keeps_inline<throwing_move>);
static_assert(sizeof(small_callback) == 3 * sizeof(void*));
static_assert(std::is_nothrow_move_constructible_v<small_callback>);
static_assert(!std::is_copy_constructible_v<small_callback>);

TEMPLATE_TEST_CASE("small_callback: calls, moves and destroys its callable once", "[asio][small_callback]", counted,
                   counted_large) {
    int calls = 0, destroyed = 0;
    {
        small_callback a{TestType(&calls, &destroyed)};
        REQUIRE(a);
        a();
        CHECK(calls == 1);

        small_callback b{std::move(a)};
        CHECK_FALSE(a);  // NOLINT: moved-from is empty, as documented
        REQUIRE(b);
        b();
        CHECK(calls == 2);
        CHECK(destroyed == 0);

        small_callback c;
        c = std::move(b);
        CHECK_FALSE(b);  // NOLINT
        c();
        CHECK(calls == 3);
        CHECK(destroyed == 0);
    }
    CHECK(destroyed == 1);
}

TEST_CASE("small_callback: assigning over a held callable destroys it first", "[asio][small_callback]") {
    int calls_a = 0, destroyed_a = 0, calls_b = 0, destroyed_b = 0;
    small_callback cb{counted(&calls_a, &destroyed_a)};
    cb = small_callback{counted_large(&calls_b, &destroyed_b)};
    CHECK(destroyed_a == 1);
    cb();
    CHECK(calls_a == 0);
    CHECK(calls_b == 1);

    cb = nullptr;
    CHECK_FALSE(cb);
    CHECK(destroyed_b == 1);
    cb = nullptr;  // empty to empty: nothing to destroy
    CHECK(destroyed_b == 1);
}

TEST_CASE("small_callback: std::exchange with nullptr takes the callable out, as serve does", "[asio][small_callback]") {
    int calls = 0, destroyed = 0;
    small_callback cb{counted(&calls, &destroyed)};
    std::exchange(cb, nullptr)();
    CHECK(calls == 1);
    CHECK(destroyed == 1);  // the temporary holding it is gone
    CHECK_FALSE(cb);
}

TEST_CASE("small_callback: an empty one is false and moves as empty", "[asio][small_callback]") {
    small_callback a;
    CHECK_FALSE(a);
    small_callback b{nullptr};
    CHECK_FALSE(b);
    small_callback c{std::move(a)};
    CHECK_FALSE(c);
    auto& self = c;
    c = std::move(self);  // self-move keeps it as it was
    CHECK_FALSE(c);
}

TEST_CASE("small_callback: a null function pointer or an empty std::function makes an empty one", "[asio][small_callback]") {
    void (*null_function)() = nullptr;
    CHECK_FALSE(small_callback{null_function});
    CHECK_FALSE(small_callback{std::function<void()>{}});
    int calls = 0;
    static int* counter = nullptr;
    counter = &calls;
    void (*function)() = [] { ++*counter; };
    small_callback a{function};
    small_callback b{std::function<void()>([&] { ++calls; })};
    REQUIRE(a);
    REQUIRE(b);
    a();
    b();
    CHECK(calls == 2);
}

TEST_CASE("small_callback: a callable whose move may throw is kept on the heap and still works", "[asio][small_callback]") {
    int calls = 0;
    small_callback a{throwing_move(&calls)};
    small_callback b{std::move(a)};
    b();
    CHECK(calls == 1);
}

TEST_CASE("small_callback: a weak_ptr lambda sees its owner only while it lives", "[asio][small_callback]") {
    auto owner = std::make_shared<int>(0);
    small_callback cb{[w = std::weak_ptr<int>(owner)] {
        if (auto o = w.lock()) ++*o;
    }};
    cb();
    CHECK(*owner == 1);
    CHECK(owner.use_count() == 1);  // the callback holds no strong reference
    std::weak_ptr<int> watch = owner;
    owner.reset();
    CHECK(watch.expired());
    cb();  // owner gone: nothing to do, and no crash
}
