// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_ASIO_DETAIL_SMALL_CALLBACK_HPP
#define HERALD_ASIO_DETAIL_SMALL_CALLBACK_HPP

// A move-only `void()` callable that keeps a callable of up to two words in
// itself, a std::weak_ptr among them. std::function keeps only trivially copyable
// callables in itself (libstdc++), so the usual "call me if the client leaves"
// callable, a lambda holding a weak_ptr to its owner, costs it a heap block of 32
// bytes: one per parked long poll, of which there are many thousands
// (responder::on_abandon). Larger callables, or ones that may throw when moved,
// go on the heap as they would there.

#include <cassert>
#include <cstddef>
#include <functional>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace herald::asio_detail {

template <class Fn>
inline constexpr bool is_std_function = false;
template <class R, class... Args>
inline constexpr bool is_std_function<std::function<R(Args...)>> = true;

class small_callback {
public:
    small_callback() noexcept = default;
    small_callback(std::nullptr_t) noexcept {}

    template <class F, class Fn = std::decay_t<F>,
              class = std::enable_if_t<!std::is_same_v<Fn, small_callback> && std::is_invocable_v<Fn&>>>
    small_callback(F&& f) {  // NOLINT: converting, as std::function's
        // A null function pointer or an empty std::function makes an empty
        // callback, as std::function's own constructor does.
        if constexpr (std::is_pointer_v<Fn> || is_std_function<Fn>) {
            if (f == nullptr) return;
        }
        if constexpr (keeps_inline<Fn>) {
            ::new (static_cast<void*>(&storage_)) Fn(std::forward<F>(f));
            ops_ = &inline_ops<Fn>;
        } else {
            ::new (static_cast<void*>(&storage_)) Fn*(new Fn(std::forward<F>(f)));
            ops_ = &heap_ops<Fn>;
        }
    }

    small_callback(small_callback&& other) noexcept { take(other); }
    small_callback& operator=(small_callback&& other) noexcept {
        if (this != &other) {
            reset();
            take(other);
        }
        return *this;
    }
    small_callback& operator=(std::nullptr_t) noexcept {
        reset();
        return *this;
    }
    small_callback(const small_callback&) = delete;
    small_callback& operator=(const small_callback&) = delete;
    ~small_callback() { reset(); }

    // Whether a callable of type Fn is kept in the callback itself, with no heap block.
    template <class Fn>
    static constexpr bool keeps_inline = sizeof(Fn) <= 2 * sizeof(void*) && alignof(Fn) <= alignof(void*) &&
                                         std::is_nothrow_move_constructible_v<Fn>;

    explicit operator bool() const noexcept { return ops_ != nullptr; }
    // Only when not empty.
    void operator()() {
        assert(ops_);
        ops_->call(&storage_);
    }

private:
    struct storage {
        alignas(void*) std::byte bytes[2 * sizeof(void*)];
    };
    struct ops {
        void (*call)(void*);
        void (*move)(void* from, void* to) noexcept;  // and destroys `from`
        void (*destroy)(void*) noexcept;
    };

    template <class Fn>
    static constexpr ops inline_ops{
        [](void* s) { (*static_cast<Fn*>(s))(); },
        [](void* from, void* to) noexcept {
            ::new (to) Fn(std::move(*static_cast<Fn*>(from)));
            static_cast<Fn*>(from)->~Fn();
        },
        [](void* s) noexcept { static_cast<Fn*>(s)->~Fn(); },
    };
    template <class Fn>
    static constexpr ops heap_ops{
        [](void* s) { (**static_cast<Fn**>(s))(); },
        [](void* from, void* to) noexcept { ::new (to) Fn*(*static_cast<Fn**>(from)); },
        [](void* s) noexcept { delete *static_cast<Fn**>(s); },
    };

    void take(small_callback& other) noexcept {
        if (!other.ops_) return;
        other.ops_->move(&other.storage_, &storage_);
        ops_ = std::exchange(other.ops_, nullptr);
    }
    void reset() noexcept {
        if (ops_) std::exchange(ops_, nullptr)->destroy(&storage_);
    }

    storage storage_;
    const ops* ops_ = nullptr;
};

}  // namespace herald::asio_detail

#endif
