// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_WEBSOCKET_PERMESSAGE_DEFLATE_HPP
#define HERALD_WEBSOCKET_PERMESSAGE_DEFLATE_HPP

// permessage-deflate's negotiation (RFC 7692 §5, §7.1), both roles, sans-I/O.
//
// Server: accept_deflate_offer() reads the request's Sec-WebSocket-Extensions and
// accepts the first permessage-deflate offer it can honour; an offer it cannot
// (an unknown or repeated parameter, a bad value, a window of 8 bits for herald's
// compressor, which zlib cannot make) is declined and the next one tried (§5.1),
// and when none is left the connection simply goes uncompressed. Client:
// deflate_offer() is the header value to send, check_deflate_answer() verifies the
// 101's answer (§5: a client "MUST _Fail the WebSocket Connection_" on a response
// it did not ask for or cannot honour).
//
// The codec that uses the agreement is deflate_codec (deflate_codec.hpp).

#include <herald/http/message.hpp>
#include <herald/websocket/detail/extension_list.hpp>
#include <herald/websocket/error.hpp>
#include <herald/websocket/frame.hpp>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace herald::websocket {

inline constexpr std::string_view permessage_deflate_token = "permessage-deflate";

// What both sides agreed to (RFC 7692 §7.1).
struct deflate_params {
    bool server_no_context_takeover = false;  // the server starts every message afresh
    bool client_no_context_takeover = false;  // the client does
    int server_max_window_bits = 15;          // the server's LZ77 window, log2
    int client_max_window_bits = 15;

    // The agreement as seen by one side: its own compressor and its peer's.
    bool own_no_context_takeover(role r) const noexcept {
        return r == role::server ? server_no_context_takeover : client_no_context_takeover;
    }
    bool peer_no_context_takeover(role r) const noexcept {
        return r == role::server ? client_no_context_takeover : server_no_context_takeover;
    }
    int own_window_bits(role r) const noexcept { return r == role::server ? server_max_window_bits : client_max_window_bits; }
    int peer_window_bits(role r) const noexcept { return r == role::server ? client_max_window_bits : server_max_window_bits; }
};

// How an endpoint negotiates and compresses. Off unless `enabled`.
struct deflate_options {
    bool enabled = false;
    // Server: granted always (RFC 7692 §7.1.1.1 lets a server add it unasked), so
    // one compressed copy of a message serves every subscriber and no connection
    // keeps a compressor between messages. Client: asked for.
    bool server_no_context_takeover = true;
    // Server: asked of the client unasked (§7.1.1.2), so the server's inflater is
    // freed between messages and an idle connection holds no zlib memory (clients
    // of a push server send little). Client: offered.
    bool client_no_context_takeover = true;
    // Server: its compressor's window at most this (9-15). Client: asks the server
    // for at most this (15: does not ask).
    int server_max_window_bits = 15;
    // Server: limits the client's window to this when the client allows it (§7.1.2.2),
    // which bounds the server's inflater. Client: offers at most this.
    int client_max_window_bits = 15;
    // Compressor settings (zlib's deflateInit2): memory per compressor is
    // (1 << (window + 2)) + (1 << (mem_level + 9)) bytes: 256 KiB at 15 and 8.
    int level = 6;       // 1 (fast) .. 9 (small)
    int mem_level = 8;   // 1 .. 9
    // Messages shorter than this go uncompressed (their frame would barely shrink).
    std::size_t min_size = 64;
};

namespace detail {

// "server_max_window_bits=10": 8-15, digits only, no leading zero (§7.1.2).
inline bool parse_window_bits(std::string_view v, int& out) noexcept {
    if (v.size() == 1 && v[0] >= '8' && v[0] <= '9') return out = v[0] - '0', true;
    if (v.size() == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5') return out = 10 + (v[1] - '0'), true;
    return false;
}

// Every element of every Sec-WebSocket-Extensions field of `fields`.
inline std::vector<extension> read_extensions(const http::fields& fields) {
    std::vector<extension> all;
    for (auto f : fields)
        if (http::iequals(f.name, "Sec-WebSocket-Extensions")) extension_reader{f.value}.read_all(all);
    return all;
}

// One permessage-deflate element's parameters, checked as §5.1 and §5.2 require:
// each known, each once, each with a valid value (or none where none is allowed).
struct deflate_element {
    bool server_no_context_takeover = false, client_no_context_takeover = false;
    std::optional<int> server_max_window_bits;
    bool client_max_window_bits = false;  // present
    std::optional<int> client_max_window_bits_value;
};

inline bool read_deflate_element(const extension& e, bool is_offer, deflate_element& out) {
    if (!e.valid) return false;
    std::vector<std::string_view> seen;
    for (const auto& p : e.params) {
        if (std::find(seen.begin(), seen.end(), p.name) != seen.end()) return false;
        seen.push_back(p.name);
        int bits = 0;
        if (p.name == "server_no_context_takeover" && !p.has_value) {
            out.server_no_context_takeover = true;
        } else if (p.name == "client_no_context_takeover" && !p.has_value) {
            out.client_no_context_takeover = true;
        } else if (p.name == "server_max_window_bits" && p.has_value && parse_window_bits(p.value, bits)) {
            out.server_max_window_bits = bits;
        } else if (p.name == "client_max_window_bits" && !p.has_value && is_offer) {
            out.client_max_window_bits = true;  // §7.1.2.2: "may have no value" in an offer
        } else if (p.name == "client_max_window_bits" && p.has_value && parse_window_bits(p.value, bits)) {
            out.client_max_window_bits = true;
            out.client_max_window_bits_value = bits;
        } else {
            return false;
        }
    }
    return true;
}

}  // namespace detail

struct deflate_agreement {
    deflate_params params;
    std::string response;  // the Sec-WebSocket-Extensions value of the 101
};

// Server: the first acceptable permessage-deflate offer in `req`, or nothing
// (no offer, every offer declined, or `options` not enabled). Other extensions
// offered are ignored: herald speaks none.
inline std::optional<deflate_agreement> accept_deflate_offer(const http::request& req, const deflate_options& options) {
    if (!options.enabled) return std::nullopt;
    const int own_limit = std::clamp(options.server_max_window_bits, 9, 15);
    for (const auto& e : detail::read_extensions(req.fields)) {
        detail::deflate_element offer;
        if (e.name != permessage_deflate_token || !detail::read_deflate_element(e, true, offer)) continue;
        deflate_agreement a;
        auto& p = a.params;
        // §7.1.2.1: the server's window at most what the client asked; zlib's raw
        // deflate has no 8-bit window, so an offer that asks for 8 is declined.
        p.server_max_window_bits = std::min(own_limit, offer.server_max_window_bits.value_or(15));
        if (p.server_max_window_bits < 9) continue;
        p.server_no_context_takeover = offer.server_no_context_takeover || options.server_no_context_takeover;
        p.client_no_context_takeover = offer.client_no_context_takeover || options.client_no_context_takeover;
        // §7.1.2.2: the client's window may be limited only when it said it can be.
        p.client_max_window_bits = 15;
        if (offer.client_max_window_bits)
            p.client_max_window_bits = std::clamp(
                std::min(options.client_max_window_bits, offer.client_max_window_bits_value.value_or(15)), 8, 15);
        a.response = permessage_deflate_token;
        if (p.server_no_context_takeover) a.response += "; server_no_context_takeover";
        if (p.client_no_context_takeover) a.response += "; client_no_context_takeover";
        // §7.1.2.1: an offer's server_max_window_bits is answered with one.
        if (offer.server_max_window_bits || p.server_max_window_bits < 15)
            a.response += "; server_max_window_bits=" + std::to_string(p.server_max_window_bits);
        if (offer.client_max_window_bits && p.client_max_window_bits < 15)
            a.response += "; client_max_window_bits=" + std::to_string(p.client_max_window_bits);
        return a;
    }
    return std::nullopt;
}

// Client: the Sec-WebSocket-Extensions value to offer (empty when not enabled).
// client_max_window_bits is always offered, with no value at 15, so the server may
// limit the client's window (§7.1.2.2).
inline std::string deflate_offer(const deflate_options& options) {
    if (!options.enabled) return {};
    std::string offer{permessage_deflate_token};
    if (options.server_no_context_takeover) offer += "; server_no_context_takeover";
    if (options.client_no_context_takeover) offer += "; client_no_context_takeover";
    if (options.server_max_window_bits < 15)
        offer += "; server_max_window_bits=" + std::to_string(std::clamp(options.server_max_window_bits, 8, 15));
    offer += "; client_max_window_bits";
    if (options.client_max_window_bits < 15) offer += "=" + std::to_string(std::clamp(options.client_max_window_bits, 8, 15));
    return offer;
}

// Client: checks the server's answer to deflate_offer(options). `out` gets the
// agreement, or nothing when the server declined. error::bad_extension for an
// extension that was not offered, two answers, or parameters the offer did not
// allow (§5, §7.1: the client fails the connection). A client window of 8 bits is
// accepted, and the client then sends uncompressed (zlib cannot compress at 8).
inline std::error_code check_deflate_answer(const http::response& res, const deflate_options& options,
                                            std::optional<deflate_params>& out) {
    out.reset();
    const auto all = detail::read_extensions(res.fields);
    if (all.empty()) return {};
    detail::deflate_element answer;
    if (!options.enabled || all.size() != 1 || all[0].name != permessage_deflate_token ||
        !detail::read_deflate_element(all[0], false, answer))
        return error::bad_extension;
    const int asked_server = std::clamp(options.server_max_window_bits, 8, 15);
    const int offered_client = std::clamp(options.client_max_window_bits, 8, 15);
    if (options.server_max_window_bits < 15 && !answer.server_max_window_bits) return error::bad_extension;
    if (answer.server_max_window_bits.value_or(15) > asked_server) return error::bad_extension;
    if (answer.client_max_window_bits_value.value_or(offered_client) > offered_client) return error::bad_extension;
    if (options.server_no_context_takeover && !answer.server_no_context_takeover) return error::bad_extension;
    deflate_params p;
    p.server_no_context_takeover = answer.server_no_context_takeover;
    p.client_no_context_takeover = answer.client_no_context_takeover || options.client_no_context_takeover;
    p.server_max_window_bits = answer.server_max_window_bits.value_or(15);
    p.client_max_window_bits = answer.client_max_window_bits_value.value_or(offered_client);
    out = p;
    return {};
}

}  // namespace herald::websocket

#endif
