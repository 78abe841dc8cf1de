// One of two shared libraries built with -fvisibility=hidden, each handing out
// herald errors made inside it (tests/visibility/category_main.cpp compares them).
#include <herald/http/error.hpp>
#include <herald/hub/error.hpp>
#include <herald/longpoll/error.hpp>
#include <herald/memory_budget.hpp>
#include <herald/sse/error.hpp>
#include <herald/websocket/error.hpp>

#include <system_error>
#include <vector>

__attribute__((visibility("default"))) std::vector<std::error_code> HERALD_CATEGORY_LIB() {
    namespace h = herald;
    return {h::http::error::bad_chunk, h::websocket::error::invalid_utf8, h::sse::error::line_too_long,
            std::error_code(static_cast<h::longpoll::error>(1)), std::error_code(static_cast<h::hub::error>(1)),
            h::budget_error::exhausted};
}

__attribute__((visibility("default"))) const std::error_category& HERALD_CATEGORY_LIB_CONDITION() {
    return herald::condition_category();
}
