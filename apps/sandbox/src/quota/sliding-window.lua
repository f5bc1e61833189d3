-- A sliding window without a block, as @nestjs/throttler's in-memory storage keeps one
-- for blockDuration 0: a sorted set of the counted hits' expiry times (Redis's clock,
-- so instances' clocks do not matter). A refused hit is not counted; it may go on once
-- the oldest counted hit expires.
-- KEYS[1] the window, ARGV[1] its length in ms, ARGV[2] the limit, ARGV[3] a unique id
-- for this hit. Returns {counted hits, ms until the oldest expires, 1 if refused else 0}.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttl = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local hits = redis.call('ZCARD', KEYS[1])
local refused = 0
if hits >= tonumber(ARGV[2]) then
  refused = 1
else
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ttl)
  hits = hits + 1
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local untilOldest = ttl
if oldest[2] then untilOldest = tonumber(oldest[2]) - now end
return { hits, untilOldest, refused }
