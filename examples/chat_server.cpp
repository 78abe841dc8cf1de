// A chat server: rooms, join and leave, and every message broadcast to its room,
// over WebSocket, with the page that uses it served on the same port.
//
//   GET /                      the chat page (browser WebSocket, reconnects with
//                              exponential backoff and full jitter)
//   GET /ws?room=R&name=N      the WebSocket; R and N are 1-32 of [A-Za-z0-9_-]
//                              (room "lobby" and a guest name when absent)
//   GET /stats                 {"rooms":N,"members":N}
//
// What a client sends, as text: a line to say to the room, or a command:
// "/join ROOM" moves to another room, "/who" lists the room's members.
// What it receives, one JSON object per message:
//   {"type":"welcome","epoch":E,"room":R,"name":N,"members":[...],"history":[message...]}
//   {"type":"message","id":K,"room":R,"name":N,"text":T}
// K counts up over the server's life, which E names (a random word drawn at start):
// after a restart the ids begin again, and the new E tells a client so.
//   {"type":"join"|"leave","room":R,"name":N}
//   {"type":"who","room":R,"members":[...]}   {"type":"error","text":T}
// The welcome carries the room's last 50 messages, so a client that reconnects
// sees what was said while it was away (the page skips ids it already shows).
//
// Limits: a message is at most 4 KiB (a longer one is closed with 1009); a member
// whose send queue passes 256 KiB cannot keep up and is closed with 1008; a peer
// silent for 30 s is pinged and dropped 10 s later without an answer. Browsers
// must come from an allowed origin (RFC 6455 §10.2): --allow-origin, a comma-separated
// list, by default this server's own (http://HOST:PORT, and http://localhost:PORT when
// HOST is 127.0.0.1; https with --cert). The list is configured, never derived from the request's Host:
// a DNS-rebinding page (evil.example resolved to 127.0.0.1) sends Host and Origin
// that agree with each other, and would pass such a check.
//
//   chat_server [--host 127.0.0.1] [--port 8080] [--allow-origin http://a.example,https://b.example]
//               [--cert FILE --key FILE]
//
// --cert and --key (PEM: the certificate chain, then its key) serve https:// and
// wss:// instead (docs/tls.md); the page's own origin is then https://HOST:PORT.
#include "common.hpp"

#include <herald/asio/server.hpp>
#include <herald/asio/websocket.hpp>
#include <herald/json.hpp>

#include <asio/steady_timer.hpp>

#include <deque>
#include <map>
#include <memory>
#include <random>
#include <set>

using namespace herald;
namespace ws = herald::websocket;

namespace {

extern const std::string_view page;

constexpr std::size_t history_size = 50;

bool valid_word(std::string_view s) {
    if (s.empty() || s.size() > 32) return false;
    for (const char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    return true;
}

// `"name":"value"` with the value escaped for JSON.
std::string field(std::string_view name, std::string_view value) {
    std::string out = "\"" + std::string(name) + "\":";
    append_json_string(value, out);
    return out;
}

class member;

struct room {
    std::set<std::shared_ptr<member>> members;
    std::deque<std::string> history;  // the last messages, as sent
};

// The rooms. Everything runs on the io_context's one thread: no lock needed.
class chat {
public:
    void enter(const std::shared_ptr<member>& m, const std::string& room_name);
    void leave(const std::shared_ptr<member>& m);
    void say(const std::shared_ptr<member>& m, std::string_view text);
    void who(const std::shared_ptr<member>& m);
    std::string stats() const;

private:
    static std::string members_json(const room& r);
    void broadcast(room& r, std::string json);
    std::map<std::string, room, std::less<>> rooms_;
    std::uint64_t next_id_ = 1;  // across rooms, so an emptied and refilled room never reuses an id
    std::string epoch_ = std::to_string(std::random_device{}());
};

// A member as the rooms see it, whatever its connection runs on (TCP or TLS).
class member {
public:
    member(chat& c, std::string name, std::string room) : chat_(c), name_(std::move(name)), room_(std::move(room)) {}
    virtual ~member() = default;

    const std::string& name() const { return name_; }
    bool gone() const { return gone_; }
    const std::string& room_name() const { return room_; }
    void move_to(std::string room) { room_ = std::move(room); }

    // Sends bytes shared by every receiver of one broadcast.
    virtual void send(const std::shared_ptr<const std::string>& json) = 0;

protected:
    chat& chat_;
    std::string name_;
    std::string room_;
    bool gone_ = false;
};

// A member's WebSocket; `Stream`: a socket, or TLS over one.
template <class Stream>
class ws_member final : public member, public std::enable_shared_from_this<ws_member<Stream>> {
public:
    ws_member(chat& c, std::string name, std::string room, Stream stream, flat_buffer buffered, const ws::stream_options& options)
        : member(c, std::move(name), std::move(room)), ws_(std::move(stream), options, std::move(buffered)) {}

    void start(const http::request& req) {
        ws_.async_accept(req, [self = this->shared_from_this()](std::error_code ec) {
            if (ec) return;
            self->ws_.start_heartbeat({std::chrono::seconds(20), std::chrono::seconds(30), std::chrono::seconds(10)});
            self->chat_.enter(self, self->room_);
            self->read();
        });
    }

    // A member too slow to take what is sent is closed with 1008 rather than
    // queued for without bound.
    void send(const std::shared_ptr<const std::string>& json) override {
        if (gone_) return;
        ws_.async_write(ws::opcode::text, *json, [self = this->shared_from_this(), json](std::error_code ec) {
            if (ec == ws::error::send_queue_full) self->drop(1008, "too slow");
        });
    }

private:
    void read() {
        ws_.async_read(message_, [self = this->shared_from_this()](std::error_code ec, ws::opcode type) {
            if (ec) return self->drop(0, {});
            if (self->gone_) return self->read();  // dropped: only the peer's close reply matters now
            if (type == ws::opcode::binary) {
                self->send(std::make_shared<const std::string>("{\"type\":\"error\",\"text\":\"send text\"}"));
            } else if (self->message_.rfind("/join ", 0) == 0) {
                const std::string target = self->message_.substr(6);
                if (!valid_word(target))
                    self->send(std::make_shared<const std::string>("{\"type\":\"error\",\"text\":\"room names are 1-32 of A-Z a-z 0-9 _ -\"}"));
                else if (target != self->room_) {
                    self->chat_.leave(self);
                    self->chat_.enter(self, target);
                }
            } else if (self->message_ == "/who") {
                self->chat_.who(self);
            } else {
                self->chat_.say(self, self->message_);
            }
            self->read();
        });
    }

    // Leaves the room once; with a code, closes the connection too; the stream gives
    // the peer its close_timeout (5 s) to answer before the transport is cut (a slow
    // consumer may never read the close).
    void drop(std::uint16_t code, std::string_view reason) {
        if (gone_) return;
        gone_ = true;
        chat_.leave(this->shared_from_this());
        if (code == 0) return;
        ws_.async_close(code, reason, [self = this->shared_from_this()](std::error_code) {});
    }

    ws::stream<Stream> ws_;
    std::string message_;
};

void chat::enter(const std::shared_ptr<member>& m, const std::string& room_name) {
    if (m->gone()) return;
    m->move_to(room_name);
    room& r = rooms_[room_name];
    broadcast(r, "{\"type\":\"join\"," + field("room", room_name) + "," + field("name", m->name()) + "}");
    r.members.insert(m);
    std::string welcome = "{\"type\":\"welcome\"," + field("epoch", epoch_) + "," + field("room", room_name) + "," + field("name", m->name()) +
                          ",\"members\":" + members_json(r) + ",\"history\":[";
    for (std::size_t i = 0; i < r.history.size(); ++i) welcome += (i ? "," : "") + r.history[i];
    m->send(std::make_shared<const std::string>(welcome + "]}"));
}

void chat::leave(const std::shared_ptr<member>& m) {
    const auto found = rooms_.find(m->room_name());
    if (found == rooms_.end() || found->second.members.erase(m) == 0) return;
    broadcast(found->second, "{\"type\":\"leave\"," + field("room", m->room_name()) + "," + field("name", m->name()) + "}");
    if (found->second.members.empty()) rooms_.erase(found);  // the history goes with the last member
}

void chat::say(const std::shared_ptr<member>& m, std::string_view text) {
    const auto found = rooms_.find(m->room_name());
    if (found == rooms_.end() || !found->second.members.count(m)) return;  // not in the room (any more)
    room& r = found->second;
    std::string json = "{\"type\":\"message\",\"id\":" + std::to_string(next_id_++) + "," + field("room", m->room_name()) +
                       "," + field("name", m->name()) + "," + field("text", text) + "}";
    r.history.push_back(json);
    if (r.history.size() > history_size) r.history.pop_front();
    broadcast(r, std::move(json));
}

void chat::who(const std::shared_ptr<member>& m) {
    const auto found = rooms_.find(m->room_name());
    if (found == rooms_.end()) return;
    const room& r = found->second;
    m->send(std::make_shared<const std::string>("{\"type\":\"who\"," + field("room", m->room_name()) + ",\"members\":" +
                                                members_json(r) + "}"));
}

std::string chat::stats() const {
    std::size_t members = 0;
    for (const auto& [name, r] : rooms_) members += r.members.size();
    return "{\"rooms\":" + std::to_string(rooms_.size()) + ",\"members\":" + std::to_string(members) + "}";
}

std::string chat::members_json(const room& r) {
    std::string out = "[";
    for (const auto& m : r.members) {
        if (out.size() > 1) out += ",";
        append_json_string(m->name(), out);
    }
    return out + "]";
}

// One serialization, shared by every member of the room. The set is copied first:
// a member too slow to take it leaves the room during the loop.
void chat::broadcast(room& r, std::string json) {
    const auto shared = std::make_shared<const std::string>(std::move(json));
    const auto members = r.members;
    for (const auto& m : members) m->send(shared);
}

// Who may open a WebSocket from a browser: --allow-origin's comma-separated list,
// or, without it, this server's own origins (known once it listens: --port 0 picks
// the port then).
struct origin_policy {
    std::set<std::string, std::less<>> listed;
    std::string host;
    std::string scheme;  // http, or https with --cert

    bool allows(std::string_view origin, unsigned short port) const {
        if (!listed.empty()) return listed.contains(origin);
        const std::string p = std::to_string(port);
        return origin == scheme + "://" + host + ":" + p || (host == "127.0.0.1" && origin == scheme + "://localhost:" + p);
    }
};

ws::stream_options member_options(const std::shared_ptr<const origin_policy>& origins, unsigned short port) {
    ws::stream_options o;
    o.limits.max_message = 4096;
    o.max_queued_bytes = 256 * 1024;
    // A browser page from elsewhere may not use its visitor's session here (RFC 6455
    // §10.2); clients that are not browsers send no Origin.
    o.handshake.check_origin = [origins, port](std::string_view origin) { return origin.empty() || origins->allows(origin, port); };
    return o;
}

std::shared_ptr<const origin_policy> allowed_origins(const example::options& opts) {
    auto policy = std::make_shared<origin_policy>();
    policy->host = opts.get("host", "127.0.0.1");
    policy->scheme = opts.get("cert", "").empty() ? "http" : "https";
    const std::string list = opts.get("allow-origin", "");
    for (std::size_t at = 0; at <= list.size();) {
        const std::size_t comma = std::min(list.find(',', at), list.size());
        if (comma > at) policy->listed.insert(list.substr(at, comma - at));
        at = comma + 1;
    }
    return policy;
}

}  // namespace

int main(int argc, char** argv) {
    const example::options opts(argc, argv, "chat_server [--host 127.0.0.1] [--port 8080] [--allow-origin LIST] [--cert FILE --key FILE]",
                                {"host", "port", "allow-origin", "cert", "key"});
    const auto origins = allowed_origins(opts);
    example::raise_descriptor_limit();
    asio::io_context io{1};
    chat rooms;
    std::uint64_t guests = 0;
    const auto serve = [&]<class Server>(std::type_identity<Server>, auto... transport) {
        using connection_type = typename Server::connection_type;
        Server server{io.get_executor(), [&](const http::request& req, http::responder respond) {
                            const std::string_view path = std::string_view(req.target).substr(0, req.target.find('?'));
                            if (path == "/" && req.method == "GET") return respond({200, "text/html; charset=utf-8", std::string(page)});
                            if (path == "/stats") return respond({200, "application/json", rooms.stats()});
                            if (path != "/ws") return respond({404, "text/plain; charset=utf-8", "not found\n"});
                            if (!ws::is_upgrade(req)) return respond({426, "text/plain; charset=utf-8", "use a WebSocket\n"});
                            const std::string room{http::query_parameter(req.target, "room").value_or("lobby")};
                            std::string name{http::query_parameter(req.target, "name").value_or("")};
                            if (name.empty()) name = "guest-" + std::to_string(++guests);
                            if (!valid_word(room) || !valid_word(name))
                                return respond({400, "text/plain; charset=utf-8", "room and name are 1-32 of A-Z a-z 0-9 _ -\n"});
                            respond.hand_off<connection_type>([&rooms, &origins, room, name](std::shared_ptr<connection_type> conn) {
                                std::error_code ignored;
                                const unsigned short port = conn->next_layer().lowest_layer().local_endpoint(ignored).port();
                                auto m = std::make_shared<ws_member<typename Server::stream_type>>(
                                    rooms, name, room, std::move(conn->next_layer()), conn->take_buffered(), member_options(origins, port));
                                m->start(conn->request());
                            });
                        }, http::server_options{}, transport...};
        return example::run(io, server, opts, "chat", [] {});
    };
    return example::serve_plain_or_tls<http::single_thread_server<asio::io_context::executor_type>>(opts, "chat_server", serve);
}

namespace {

// The page: rooms, names, and a WebSocket that comes back after a drop. The retry
// delay is "full jitter" (a uniform draw below min(cap, base * 2^attempt)), so a
// server restart is not met by every browser at the same instant; a successful
// open starts the count again.
const std::string_view page = R"html(<!doctype html>
<meta charset="utf-8"><title>herald chat</title>
<style>body{font:15px system-ui;margin:2em;max-width:40em}#log{list-style:none;padding:0}#log li{margin:.2em 0}.sys{color:#777}</style>
<h1>herald chat</h1>
<form id="who">Room <input id="room" value="lobby" size="10"> Name <input id="name" size="10">
<button>Enter</button> <span>Status: <b id="status">offline</b></span></form>
<ul id="log"></ul>
<form id="say"><input id="text" autocomplete="off" size="40" placeholder="say something; /join ROOM, /who"><button>Send</button></form>
<script>
window.chat = {messages: [], events: [], status: 'offline', connects: 0};
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
$('room').value = params.get('room') || 'lobby';
$('name').value = params.get('name') || 'web' + Math.floor(Math.random() * 1000);
const base = Number(params.get('base_ms') || 500), cap = Number(params.get('cap_ms') || 15000);
let socket = null, attempt = 0, timer = null;
let seen = new Map(), epoch = null;  // room -> highest message id shown, in the server life `epoch`
const status = (s) => { window.chat.status = s; $('status').textContent = s; };
const line = (text, cls) => {
  const li = document.createElement('li');
  li.textContent = text;
  if (cls) li.className = cls;
  $('log').append(li);
};
const show = (m) => {
  if ((seen.get(m.room) || 0) >= m.id) return;  // already shown before a reconnect
  seen.set(m.room, m.id);
  window.chat.messages.push(m);
  line(m.name + ': ' + m.text);
};
function connect() {
  clearTimeout(timer);
  if (socket) { socket.onclose = null; socket.close(); }
  status('connecting');
  const url = `ws://${location.host}/ws?room=${encodeURIComponent($('room').value)}&name=${encodeURIComponent($('name').value)}`;
  socket = new WebSocket(url);
  socket.onopen = () => { attempt = 0; window.chat.connects++; status('connected'); };
  socket.onmessage = (e) => {
    const m = JSON.parse(e.data);
    window.chat.events.push(m);
    if (m.type === 'welcome' && m.epoch !== epoch) { epoch = m.epoch; seen = new Map(); }  // a restarted server counts anew
    if (m.type === 'welcome') { $('room').value = m.room; line(`in ${m.room} with ${m.members.join(', ')}`, 'sys'); m.history.forEach(show); }
    else if (m.type === 'message') show(m);
    else if (m.type === 'join' || m.type === 'leave') line(`${m.name} ${m.type === 'join' ? 'joined' : 'left'}`, 'sys');
    else if (m.type === 'who') line('here: ' + m.members.join(', '), 'sys');
    else if (m.type === 'error') line('error: ' + m.text, 'sys');
  };
  socket.onclose = () => {
    const delay = Math.random() * Math.min(cap, base * 2 ** attempt++);
    status('reconnecting');
    line(`disconnected; retrying in ${Math.round(delay)} ms`, 'sys');
    timer = setTimeout(connect, delay);
  };
}
$('who').onsubmit = (e) => { e.preventDefault(); connect(); };
$('say').onsubmit = (e) => {
  e.preventDefault();
  if (socket && socket.readyState === WebSocket.OPEN && $('text').value) socket.send($('text').value);
  $('text').value = '';
};
connect();
</script>
)html";

}  // namespace
