-- Removes the files of each execution given whose record is gone, those saved before the
-- cutoff (ids sort by creation time: its admission may still be storing the record of
-- a newer one), and forgets executions with no files left.
-- KEYS: executions, expiring. ARGV: prefix, the cutoff id prefix, then per execution: its
-- id, its record key, its files key. Returns how many files it removed.
local executions, expiring, prefix, cutoff = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local removed = 0
for i = 3, #ARGV, 3 do
  local executionId, record, files = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if redis.call('EXISTS', record) == 0 then
    for _, id in ipairs(redis.call('ZRANGEBYLEX', files, '-', '(' .. cutoff)) do
      local file = prefix .. 'file:' .. id
      local fields = redis.call('HMGET', file, 'chunks', 'expiry')
      -- One whose TTL took its hash is left to its expiring entry, and counted there.
      if fields[1] then
        removeFile(file, tonumber(fields[1]))
        if fields[2] ~= '' then redis.call('ZREM', expiring, fields[2]) end
        removed = removed + 1
      end
      redis.call('ZREM', files, id)
    end
  end
  if redis.call('ZCARD', files) == 0 then
    redis.call('DEL', files)
    redis.call('SREM', executions, executionId)
  end
end
return removed
