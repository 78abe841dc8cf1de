// No read outside the span the parser is given (DESIGN.md "Speed without sharp
// edges"): every golden input is placed so that its last byte is the last byte
// before a PROT_NONE page. A read past the end faults and fails the test run.
#include "transcript.hpp"

#include "../support/guard_page.hpp"

#include <catch2/catch.hpp>


#include <cstring>
#include <string>

using namespace herald;

namespace {


// Feeds `piece` straight from the guarded page, pulling events until the parser
// wants more; returns false once it stopped (error or upgrade).
template <class Parser>
bool feed_guarded(Parser& p, std::string_view piece) {
    while (true) {
        const http::event ev = p.next(piece);
        if (ev.type == http::event_type::need_more) return true;
        if (ev.type == http::event_type::error || ev.type == http::event_type::upgrade) return false;
    }
}

template <class Parser>
void run_guarded(const std::string& file) {
    test_support::guarded_buffer buffer(64 * 1024);
    for (const auto& v : test_support::load_golden(std::string(HERALD_TEST_DATA_DIR) + "/http/" + file)) {
        const std::string_view input{v.input};
        // Split in two at every position; each piece in turn ends at the guard page.
        for (std::size_t cut = 1; cut <= input.size(); ++cut) {
            Parser p;
            if (feed_guarded(p, buffer.place(input.substr(0, cut)))) feed_guarded(p, buffer.place(input.substr(cut)));
            if (v.has_flag("eof")) p.finish();
        }
        // Whole, from the guard, gives the golden error or not.
        Parser p;
        if (feed_guarded(p, buffer.place(input)) && v.has_flag("eof")) p.finish();
        INFO(v.name);
        CHECK((v.expect.find("error ") != std::string::npos) == static_cast<bool>(p.error()));
    }
}

}  // namespace

TEST_CASE("parsers never read past the end of their input (guard page)", "[http][parser][guard]") {
    run_guarded<http::request_parser>("requests.txt");
    run_guarded<http::response_parser>("responses.txt");
}
