-- Saves a record's new state.
-- KEYS: record, summary, execs, unfinished, finished. ARGV: id, details JSON, '1' if
-- unfinished, summary field/value pairs. A record that is gone stays gone, one that
-- finished (in the finished set) stays as it ended: returns 0. Returns 1 once saved.
local record, summary, execs, unfinished, finished = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id = ARGV[1]
if redis.call('EXISTS', record) == 0 then return 0 end
if redis.call('ZSCORE', finished, id) then return 0 end
redis.call('SET', record, ARGV[2])
redis.call('HSET', summary, unpack(ARGV, 4))
if ARGV[3] == '1' then
  redis.call('SADD', unfinished, id)
  redis.call('ZREM', finished, id)
else
  redis.call('SREM', unfinished, id)
  local score = redis.call('ZSCORE', execs, id)
  if score then redis.call('ZADD', finished, score, id) end
end
return 1
