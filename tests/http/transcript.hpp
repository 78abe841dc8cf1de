// Turns a parser's events into the transcript lines of the golden files.
#ifndef HERALD_TESTS_HTTP_TRANSCRIPT_HPP
#define HERALD_TESTS_HTTP_TRANSCRIPT_HPP

#include "../support/golden.hpp"

#include <herald/http/parser.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace herald::test_support {

inline std::string describe_head(const http::request_parser& p) {
    std::string out = "head " + std::string(p.method()) + " " + escape(p.target()) + " " + std::to_string(p.version());
    out += p.keep_alive() ? " keep-alive" : " close";
    if (p.chunked()) out += " chunked";
    if (p.content_length()) out += " length=" + std::to_string(*p.content_length());
    if (p.upgrade()) out += " upgrade";
    if (p.expects_continue()) out += " expects-continue";
    return out + "\n";
}

inline std::string describe_head(const http::response_parser& p) {
    std::string out = "head " + std::to_string(p.status()) + " " + escape(p.reason()) + " " + std::to_string(p.version());
    out += p.keep_alive() ? " keep-alive" : " close";
    if (p.chunked()) out += " chunked";
    if (p.content_length()) out += " length=" + std::to_string(*p.content_length());
    if (p.upgrade()) out += " upgrade";
    return out + "\n";
}

struct transcript_result {
    std::string lines;
    std::string leftover;  // bytes after an upgrade, untouched by the parser
};

// Feeds `pieces` in order, pulling events after each, as a server would after each read.
template <class Parser>
transcript_result run_transcript(Parser& p, const std::vector<std::string_view>& pieces, bool eof) {
    transcript_result result;
    std::string pending;
    std::string body;
    auto flush_body = [&] {
        if (!body.empty()) result.lines += "body " + escape(body) + "\n";
        body.clear();
    };
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        pending.append(pieces[i]);
        std::string_view view{pending};
        while (true) {
            const http::event ev = p.next(view);
            if (ev.type == http::event_type::body) {
                body.append(ev.data);
                continue;
            }
            if (ev.type == http::event_type::need_more) break;
            flush_body();
            switch (ev.type) {
            case http::event_type::head:
                result.lines += describe_head(p);
                for (auto f : p.fields()) result.lines += "field " + escape(f.name) + ": " + escape(f.value) + "\n";
                break;
            case http::event_type::end_of_message: result.lines += "end\n"; break;
            case http::event_type::upgrade:
                result.lines += "upgrade\n";
                result.leftover.assign(view);
                for (std::size_t j = i + 1; j < pieces.size(); ++j) result.leftover.append(pieces[j]);
                return result;
            case http::event_type::error:
                result.lines += "error " + p.error().message() + " / " + std::to_string(http::status_for(p.error())) + "\n";
                return result;
            default: result.lines += "unexpected event\n"; return result;
            }
        }
        if (!view.empty()) {
            result.lines += "parser left bytes on need_more\n";
            return result;
        }
        pending.clear();
    }
    flush_body();
    if (eof) {
        const http::event ev = p.finish();
        if (ev.type == http::event_type::end_of_message) result.lines += "end\n";
        else if (ev.type == http::event_type::closed) result.lines += "closed\n";
        else result.lines += "error " + p.error().message() + " / " + std::to_string(http::status_for(p.error())) + "\n";
    }
    return result;
}

}  // namespace herald::test_support

#endif
