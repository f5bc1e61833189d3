-- Reads a page of summaries.
-- KEYS: an execs zset. ARGV: prefix, start, stop, summary fields. Returns {total,
-- summary values of each id in the range, newest first}: one consistent snapshot.
local reply = { redis.call('ZCARD', KEYS[1]) }
for _, id in ipairs(redis.call('ZREVRANGE', KEYS[1], ARGV[2], ARGV[3])) do
  reply[#reply + 1] = redis.call('HMGET', ARGV[1] .. 'exec:' .. id .. ':summary', unpack(ARGV, 4))
end
return reply
