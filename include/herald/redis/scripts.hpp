// herald — real-time web transport primitives.
// Distributed under the Boost Software License, Version 1.0.
#ifndef HERALD_REDIS_SCRIPTS_HPP
#define HERALD_REDIS_SCRIPTS_HPP

// The Lua scripts of the hub's Redis broker (herald/asio/redis/broker.hpp), and the key
// layout they share. A topic T has, under one hash tag so that Redis Cluster keeps
// them in one slot (docs/cluster.md):
//
//   <prefix>:{T}:meta        hash: epoch, seq (the last number given)
//   <prefix>:{T}:log         stream: entry "<seq>-0" with field d = the data,
//                            MAXLEN = stream_length (exact)
//   <prefix>:{T}:done:<key>  "<id> <sha1 of the body>" a publish with idempotency key
//                            <key> got (EX ttl)
//   <prefix>:{T}             the channel: "<epoch>\n<seq>\n<data>"
//
// Each script runs atomically (Redis runs one script at a time), so numbering,
// storing and publishing a message is one step: no two messages get a number, no
// number is skipped, and what is published is what is stored.

#include <string>
#include <string_view>

namespace herald::redis::scripts {

// KEYS: meta, log, done. ARGV: data, stream length, epoch for a new topic, channel,
// idempotency ttl (s), the epoch and seq this node has seen of the topic ('' and
// 0: none). -> "<epoch>-<seq>", the id (the same one again for a retry with the
// same key and body; the error KEYREUSED for the same key with another body: the
// key's record is "<id> <sha1 of the body>"). A topic whose numbering is below what the node has seen in the same
// epoch (a Redis rolled back to an older snapshot) moves to the new epoch first,
// here, atomically: no id is given to two messages by this node's publishes.
inline constexpr std::string_view publish = R"lua(
local body = redis.sha1hex(ARGV[1])
local done = redis.call('GET', KEYS[3])
if done then
  local space = string.find(done, ' ', 1, true)
  if not space then return done end
  if string.sub(done, space + 1) ~= body then
    return redis.error_reply('KEYREUSED the idempotency key was used before with another body')
  end
  return string.sub(done, 1, space - 1)
end
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if epoch and epoch == ARGV[6] and tonumber(redis.call('HGET', KEYS[1], 'seq')) < tonumber(ARGV[7]) then
  epoch = nil
end
if not epoch then
  epoch = ARGV[3]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'seq', 0)
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], seq .. '-0', 'd', ARGV[1])
redis.call('PUBLISH', ARGV[4], epoch .. '\n' .. seq .. '\n' .. ARGV[1])
local id = epoch .. '-' .. seq
redis.call('SET', KEYS[3], id .. ' ' .. body, 'EX', ARGV[5])
return id
)lua";

// KEYS: meta, log. ARGV: epoch, first, last, count. -> at most `count` of the
// stream's entries first..last of that epoch (those it still has), or nil when the
// topic is in another epoch.
inline constexpr std::string_view range = R"lua(
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return false end
return redis.call('XRANGE', KEYS[2], ARGV[2] .. '-0', ARGV[3] .. '-0', 'COUNT', ARGV[4])
)lua";

// KEYS: meta, log. -> {epoch, seq, id of the last entry, its data} ('' and '' for
// an empty stream) or nil for no topic.
inline constexpr std::string_view latest = R"lua(
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then return false end
local seq = redis.call('HGET', KEYS[1], 'seq')
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if last[1] then return {epoch, seq, last[1][1], last[1][2][2]} end
return {epoch, seq, '', ''}
)lua";

// KEYS: meta, log. ARGV: epoch, seq seen, new epoch. A Redis rolled back to an older
// snapshot numbers again from below what nodes have seen: when the topic is still
// in `epoch` with a seq under the one seen, it moves to the new epoch (history
// cleared) so that no id is given twice. -> the topic's epoch.
inline constexpr std::string_view reepoch = R"lua(
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if epoch == ARGV[1] and tonumber(redis.call('HGET', KEYS[1], 'seq')) < tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', ARGV[3], 'seq', 0)
  return ARGV[3]
end
return epoch
)lua";

// The keys and channel of topic `t`.
struct topic_keys {
    std::string meta, log, channel;
    std::string done(std::string_view key) const { return channel + ":done:" + std::string(key); }
};

inline topic_keys keys_of(std::string_view prefix, std::string_view topic) {
    std::string channel = std::string(prefix) + ":{" + std::string(topic) + "}";
    return {channel + ":meta", channel + ":log", channel};
}

// The topic named by a channel "<prefix>:{T}", or empty.
inline std::string_view topic_of(std::string_view channel) {
    const auto open = channel.find(":{");
    if (open == std::string_view::npos || channel.size() < open + 3 || channel.back() != '}') return {};
    return channel.substr(open + 2, channel.size() - open - 3);
}

}  // namespace herald::redis::scripts

#endif
