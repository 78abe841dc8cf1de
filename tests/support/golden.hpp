// Golden vectors as data (DESIGN.md "Tests are the spec"): a text file of records
//
//   === name [flag ...]
//   --- input
//   GET / HTTP/1.1\r\n          <- lines are joined without their newlines;
//   \r\n                           \r \n \t \0 \xHH \\ are escapes
//   --- expect
//   head GET / 11 keep-alive    <- the transcript, one event per line
//   end
//
// and the runner that feeds each input whole, one byte at a time, split in two at
// every position, and followed by trailing bytes, expecting the same transcript.
#ifndef HERALD_TESTS_SUPPORT_GOLDEN_HPP
#define HERALD_TESTS_SUPPORT_GOLDEN_HPP

#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace herald::test_support {

inline std::string unescape(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\' || i + 1 == text.size()) { out += text[i]; continue; }
        const char c = text[++i];
        switch (c) {
        case 'r': out += '\r'; break;
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case '0': out += '\0'; break;
        case '\\': out += '\\'; break;
        case 'x': out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)); i += 2; break;
        default: throw std::runtime_error("bad escape in golden file: \\" + std::string(1, c));
        }
    }
    return out;
}

// Escapes bytes for a transcript line, so CR, LF and binary show up readably.
inline std::string escape(std::string_view bytes) {
    std::string out;
    for (unsigned char c : bytes) {
        switch (c) {
        case '\r': out += "\\r"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\\': out += "\\\\"; break;
        default:
            if (c < 0x20 || c >= 0x7f) {
                char hex[5];
                std::snprintf(hex, sizeof hex, "\\x%02x", c);
                out += hex;
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    return out;
}

struct golden_vector {
    std::string name;
    std::vector<std::string> flags;
    std::string input;
    std::string expect;  // transcript lines, each ending in '\n'

    bool has_flag(std::string_view flag) const {
        for (const auto& f : flags) if (f == flag) return true;
        return false;
    }
};

inline std::vector<golden_vector> load_golden(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) throw std::runtime_error("cannot open golden file " + path);
    std::vector<golden_vector> out;
    std::string line;
    enum { none, input, expect } section = none;
    while (std::getline(file, line)) {
        if (line.rfind("=== ", 0) == 0) {
            std::istringstream words(line.substr(4));
            golden_vector v;
            words >> v.name;
            for (std::string flag; words >> flag;) v.flags.push_back(flag);
            out.push_back(std::move(v));
            section = none;
        } else if (line == "--- input") {
            section = input;
        } else if (line == "--- expect") {
            section = expect;
        } else if (line.empty() || line[0] == '#') {
            continue;
        } else if (section == input) {
            out.back().input += unescape(line);
        } else if (section == expect) {
            out.back().expect += line + '\n';
        }
    }
    return out;
}

// Every way of cutting `input` into pieces that DESIGN.md asks for, with a label.
inline void for_each_split(const std::string& input,
                           const std::function<void(const std::string&, const std::vector<std::string_view>&)>& run) {
    const std::string_view all{input};
    run("whole", {all});
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < all.size(); ++i) bytes.push_back(all.substr(i, 1));
    run("one byte at a time", bytes);
    for (std::size_t cut = 1; cut < all.size(); ++cut)
        run("split at " + std::to_string(cut), {all.substr(0, cut), all.substr(cut)});
}

}  // namespace herald::test_support

#endif
