-- Ends every record still queued or running, without reading its details.
-- KEYS: unfinished, finished, execs. ARGV: prefix, status, endedAt, error (each as JSON).
-- Rewrites three summary fields of every unfinished record; returns how many.
local unfinished, finished, execs = KEYS[1], KEYS[2], KEYS[3]
local closed = 0
for _, id in ipairs(redis.call('SMEMBERS', unfinished)) do
  local summary = ARGV[1] .. 'exec:' .. id .. ':summary'
  if redis.call('EXISTS', summary) == 1 then
    redis.call('HSET', summary, 'status', ARGV[2], 'endedAt', ARGV[3], 'error', ARGV[4])
    local score = redis.call('ZSCORE', execs, id)
    if score then redis.call('ZADD', finished, score, id) end
    closed = closed + 1
  end
end
redis.call('DEL', unfinished)
return closed
