-- Creates an execution's keys, unless its Idempotency-Key was claimed already, and drops
-- the finished records past the history limit.
-- KEYS: record, summary, input, links, execs, tenant execs, unfinished, finished,
-- [idempotency key]. ARGV: prefix, id, details JSON, queuedAt ms, '1' if unfinished,
-- history limit, max drops, code, inputJson, '1' if it has stdin, stdin ('' if not),
-- [idempotency value], summary field/value pairs (the rest). Returns the earlier
-- submit's JSON, or nil once stored.
local record, summary, input, links, execs, tenantExecs, unfinished, finished, claim =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local prefix, id, details, score = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local summaryFrom = 12
if claim then
  local earlier = redis.call('GET', claim)
  if earlier then return earlier end
  summaryFrom = 13
end
if redis.call('EXISTS', record) == 1 then
  return redis.error_reply('ERR execution ' .. id .. ' already exists')
end
redis.call('SET', record, details)
redis.call('HSET', summary, unpack(ARGV, summaryFrom))
redis.call('HSET', input, 'code', ARGV[8], 'inputJson', ARGV[9])
-- No stdin field without stdin: an input of a release from before stdin reads the same.
if ARGV[10] == '1' then redis.call('HSET', input, 'stdin', ARGV[11]) end
redis.call('HSET', links, 'tenantExecs', tenantExecs)
redis.call('ZADD', execs, score, id)
redis.call('ZADD', tenantExecs, score, id)
if ARGV[5] == '1' then
  redis.call('SADD', unfinished, id)
else
  redis.call('ZADD', finished, score, id)
end
if claim then
  redis.call('SET', claim, ARGV[12])
  redis.call('HSET', links, 'idempotencyKey', claim)
end

-- History limit: finished records older than the newest `limit` of all go, oldest first.
local limit = tonumber(ARGV[6])
for _, old in ipairs(redis.call('ZRANGE', finished, 0, tonumber(ARGV[7]) - 1)) do
  local rank = redis.call('ZRANK', execs, old)
  if rank and rank >= redis.call('ZCARD', execs) - limit then break end
  local base = prefix .. 'exec:' .. old
  local linked = redis.call('HMGET', base .. ':links', 'tenantExecs', 'idempotencyKey')
  redis.call('DEL', base, base .. ':summary', base .. ':input', base .. ':links')
  redis.call('ZREM', execs, old)
  redis.call('ZREM', finished, old)
  if linked[1] then redis.call('ZREM', linked[1], old) end
  if linked[2] then redis.call('DEL', linked[2]) end
end
return false
