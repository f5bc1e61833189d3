-- Removes up to `batch` of the files expired at `now`: what their TTL left of their keys,
-- their index entry, their bytes from the usage.
-- KEYS: expiring. ARGV: prefix, now ms, batch. Returns how many.
local expiring, prefix = KEYS[1], ARGV[1]
local entries = redis.call('ZRANGEBYSCORE', expiring, '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, entry in ipairs(entries) do
  local file = cjson.decode(entry)
  removeFile(prefix .. 'file:' .. file.id, file.chunks)
  redis.call('ZREM', file.index, file.id)
  if file.usage ~= '' then uncount(file.usage, file.size) end
  redis.call('ZREM', expiring, entry)
end
return #entries
