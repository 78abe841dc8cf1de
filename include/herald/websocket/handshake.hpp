// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_WEBSOCKET_HANDSHAKE_HPP
#define HERALD_WEBSOCKET_HANDSHAKE_HPP

// The opening handshake (RFC 6455 §4), both roles, over herald's HTTP types (the
// one crossing between protocol folders that DESIGN.md allows).
//
// Server: check_request() validates an upgrade request as §4.2.1 lists it, runs the
// Origin hook and picks a subprotocol; accept_response() is the 101 answer;
// refusal_response(ec) is the answer to a refused request (400, 403, 405, or 426
// with `Sec-WebSocket-Version: 13` as §4.4 asks). Client: make_key() draws the
// 16-byte nonce from the caller's generator; upgrade_request() writes the request;
// check_response() verifies the 101 and its Sec-WebSocket-Accept. Both sides
// negotiate permessage-deflate (permessage_deflate.hpp) when their options enable it.

#include <herald/http/message.hpp>
#include <herald/http/serializer.hpp>
#include <herald/websocket/detail/base64.hpp>
#include <herald/websocket/detail/sha1.hpp>
#include <herald/websocket/error.hpp>
#include <herald/websocket/permessage_deflate.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace herald::websocket {

// §1.3: the GUID appended to the key before hashing.
inline constexpr std::string_view accept_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)).
inline std::string accept_key(std::string_view key) {
    detail::sha1 hash;
    hash.update(key);
    hash.update(accept_guid);
    const auto digest = hash.finish();
    return detail::base64_encode({reinterpret_cast<const char*>(digest.data()), digest.size()});
}

struct server_options {
    // Called with the Origin field (empty when absent); false refuses with 403.
    // Browsers send Origin; checking it is the defence against cross-site
    // WebSocket hijacking (§10.2). Unset: every origin is accepted.
    std::function<bool(std::string_view origin)> check_origin{};
    // Subprotocols this server speaks, most preferred first (§4.2.2 /subprotocol/).
    std::vector<std::string> subprotocols{};
    // permessage-deflate (RFC 7692): off unless enabled.
    deflate_options deflate{};
};

struct client_options {
    // Subprotocols to offer, most preferred first; the server picks one or none.
    std::vector<std::string> subprotocols{};
    // An Origin field to send (browsers always do; other clients may, §4.1 item 8).
    std::string origin{};
    // permessage-deflate (RFC 7692): offered when enabled.
    deflate_options deflate{};
};

struct accepted {
    std::string accept;       // the Sec-WebSocket-Accept value
    std::string subprotocol;  // empty: none
    std::optional<deflate_agreement> deflate;  // permessage-deflate, when agreed
};

// Whether `req` asks for a WebSocket at all (so a server can route it here).
inline bool is_upgrade(const http::request& req) noexcept { return req.fields.has_token("Upgrade", "websocket"); }

// The first of the server's subprotocols that the client offered, or "".
inline std::string choose_subprotocol(const http::request& req, const std::vector<std::string>& mine) {
    for (const auto& p : mine)
        for (auto f : req.fields)
            if (http::iequals(f.name, "Sec-WebSocket-Protocol") && http::token_list{f.value}.contains(p)) return p;
    return {};
}

// Validates an upgrade request (§4.2.1). On success fills `out`.
inline std::error_code check_request(const http::request& req, const server_options& options, accepted& out) {
    // §4.2.1 items 1-6, in the order a refusal is most useful to the client.
    if (req.method != "GET") return error::not_get;
    if (req.version < 11) return error::bad_http_version;
    if (req.fields.count("Host") != 1) return error::no_host;  // and RFC 9112 §3.2: one Host
    if (!req.fields.has_token("Upgrade", "websocket") || !req.fields.has_token("Connection", "upgrade"))
        return error::no_upgrade;
    // §4.2.1 item 6: the version is 13, said once (13 then 8 is not version 13).
    if (req.fields.find("Sec-WebSocket-Version").value_or("") != "13" || req.fields.count("Sec-WebSocket-Version") != 1)
        return error::bad_version;
    const auto key = req.fields.find("Sec-WebSocket-Key");
    if (!key || req.fields.count("Sec-WebSocket-Key") != 1) return error::bad_key;
    const auto nonce = detail::base64_decode(*key);
    if (!nonce || nonce->size() != 16) return error::bad_key;  // "a randomly selected 16-byte value"
    if (options.check_origin && !options.check_origin(req.fields.find("Origin").value_or(""))) return error::origin_refused;
    out.accept = accept_key(*key);
    out.subprotocol = choose_subprotocol(req, options.subprotocols);
    out.deflate = accept_deflate_offer(req, options.deflate);
    return {};
}

// The 101 answer to an accepted request (§4.2.2 step 5).
inline http::response accept_response(const accepted& a) {
    http::response res{101};
    res.fields.append("Upgrade", "websocket");
    res.fields.append("Connection", "Upgrade");
    res.fields.append("Sec-WebSocket-Accept", a.accept);
    if (!a.subprotocol.empty()) res.fields.append("Sec-WebSocket-Protocol", a.subprotocol);
    if (a.deflate) res.fields.append("Sec-WebSocket-Extensions", a.deflate->response);
    return res;
}

// The answer to a refused request: the status handshake_status_for(ec) names (400
// when it names none), with what the client needs to try again.
inline http::response refusal_response(std::error_code ec) {
    unsigned status = handshake_status_for(ec);
    if (status == 0) status = 400;
    http::response res{status, "text/plain; charset=utf-8", ec.message() + "\n"};
    // §4.4: a version the server does not speak gets the versions it does; RFC 9110
    // §15.5.22: a 426 names the protocol to upgrade to.
    if (status == 426) {
        res.fields.append("Upgrade", "websocket");
        res.fields.append("Connection", "Upgrade");
        res.fields.append("Sec-WebSocket-Version", "13");
    }
    if (status == 405) res.fields.append("Allow", "GET");
    return res;
}

// A Sec-WebSocket-Key: 16 bytes from `gen` (called for random bits: a
// UniformRandomBitGenerator, or any function, that the caller seeds properly,
// §10.3: "the nonce MUST be selected randomly"), in base64.
template <class Generator>
std::string make_key(Generator& gen) {
    std::string nonce(16, '\0');
    for (auto& byte : nonce) byte = static_cast<char>(gen() & 0xff);
    return detail::base64_encode(nonce);
}

// The server's whole answer to `req`, head and body, written into `out`: 101, or
// the refusal of a request that is not a WebSocket upgrade (refusal_response) or
// not HTTP at all (`not_http`, answered with http::status_for: 400, 431, ...).
// -> the refusal; {} when `accepted` holds the upgrade.
inline std::error_code write_answer(const http::request& req, std::error_code not_http, const server_options& options,
                                    accepted& acc, std::string& out) {
    const std::error_code refused = not_http ? not_http : check_request(req, options, acc);
    http::response res = accept_response(acc);
    if (not_http) {
        const unsigned status = http::status_for(not_http);
        res = http::response{status ? status : 400, "text/plain; charset=utf-8", not_http.message() + "\n"};
    } else if (refused) {
        res = refusal_response(refused);
    }
    http::head_options head;
    head.keep_alive = !refused;
    out.clear();
    (void)http::serialize_head(res, out, head);
    if (refused) out += res.body;
    return refused;
}

// The client's upgrade request (§4.1); `extensions`: a Sec-WebSocket-Extensions
// value to offer (deflate_offer), or none.
inline http::request upgrade_request(std::string_view host, std::string_view target, std::string_view key,
                                     const std::vector<std::string>& subprotocols = {}, std::string_view origin = {},
                                     std::string_view extensions = {}) {
    http::request req;
    req.method = "GET";
    req.target = std::string(target);
    req.fields.append("Host", host);
    req.fields.append("Upgrade", "websocket");
    req.fields.append("Connection", "Upgrade");
    req.fields.append("Sec-WebSocket-Key", key);
    req.fields.append("Sec-WebSocket-Version", "13");
    if (!origin.empty()) req.fields.append("Origin", origin);
    if (!subprotocols.empty()) {
        std::string list;
        for (const auto& p : subprotocols) list += (list.empty() ? "" : ", ") + p;
        req.fields.append("Sec-WebSocket-Protocol", list);
    }
    if (!extensions.empty()) req.fields.append("Sec-WebSocket-Extensions", extensions);
    return req;
}

// Verifies the server's answer to upgrade_request() (§4.1, "the client MUST
// validate the server's response"); `subprotocol` gets the server's choice and
// `deflate` the permessage-deflate agreement (none unless `deflate_offered` was
// enabled and the server accepted). An extension in the answer that was not
// offered is error::bad_extension (§4.1 item 5 of the client's checks).
inline std::error_code check_response(const http::response& res, std::string_view key,
                                      const std::vector<std::string>& offered, std::string& subprotocol,
                                      const deflate_options& deflate_offered, std::optional<deflate_params>& deflate) {
    if (res.status != 101) return error::not_switching;
    if (!res.fields.has_token("Upgrade", "websocket") || !res.fields.has_token("Connection", "upgrade"))
        return error::no_upgrade;
    if (res.fields.find("Sec-WebSocket-Accept").value_or("") != accept_key(key)) return error::bad_accept;
    subprotocol = std::string(res.fields.find("Sec-WebSocket-Protocol").value_or(""));
    if (!subprotocol.empty()) {
        bool was_offered = false;
        for (const auto& p : offered) was_offered = was_offered || p == subprotocol;
        if (!was_offered) return error::bad_subprotocol;
    }
    return check_deflate_answer(res, deflate_offered, deflate);
}

// The same for a client that offered no extension.
inline std::error_code check_response(const http::response& res, std::string_view key,
                                      const std::vector<std::string>& offered, std::string& subprotocol) {
    std::optional<deflate_params> none;
    return check_response(res, key, offered, subprotocol, deflate_options{}, none);
}

}  // namespace herald::websocket

#endif
