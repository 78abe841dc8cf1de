// The ids of hub messages, for comparing what a test got with what it expects.
#ifndef HERALD_TESTS_HUB_IDS_HPP
#define HERALD_TESTS_HUB_IDS_HPP

#include <herald/hub/wire.hpp>

#include <string>
#include <vector>

inline std::vector<std::string> ids(const std::vector<herald::hub::message_ptr>& messages) {
    std::vector<std::string> out;
    for (const auto& m : messages) out.push_back(m->id);
    return out;
}

#endif
