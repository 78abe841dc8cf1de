// herald's error categories are one object in a program of several shared libraries
// built with -fvisibility=hidden (herald/config.hpp, HERALD_VISIBLE): an error made
// in one library compares equal to the same error made in another, and to its
// enumerator and condition here. Exit status 0 when it holds.
#include <herald/http/error.hpp>
#include <herald/hub/error.hpp>
#include <herald/longpoll/error.hpp>
#include <herald/memory_budget.hpp>
#include <herald/sse/error.hpp>
#include <herald/websocket/error.hpp>

#include <cstdio>
#include <system_error>
#include <vector>

std::vector<std::error_code> category_lib_a();
std::vector<std::error_code> category_lib_b();
const std::error_category& category_lib_a_condition();
const std::error_category& category_lib_b_condition();

int main() {
    namespace h = herald;
    const std::vector<std::error_code> here{h::http::error::bad_chunk, h::websocket::error::invalid_utf8,
                                            h::sse::error::line_too_long, std::error_code(static_cast<h::longpoll::error>(1)),
                                            std::error_code(static_cast<h::hub::error>(1)), h::budget_error::exhausted};
    const auto a = category_lib_a();
    const auto b = category_lib_b();
    int failures = 0;
    for (std::size_t i = 0; i < here.size(); ++i) {
        if (a[i] != b[i] || a[i] != here[i]) {
            std::fprintf(stderr, "%s: the error from each library compares unequal\n", here[i].category().name());
            ++failures;
        }
    }
    if (a[0] != h::condition::protocol_violation || &category_lib_a_condition() != &category_lib_b_condition() ||
        &category_lib_a_condition() != &h::condition_category()) {
        std::fprintf(stderr, "herald: the condition category is not one object\n");
        ++failures;
    }
    if (failures == 0) std::printf("one category object per module across shared libraries\n");
    return failures == 0 ? 0 : 1;
}
