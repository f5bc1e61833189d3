-- Makes a file whose chunks are written (each with a TTL, should the save never end)
-- whole: its hash, its place in its index, the usage, its expiry, all at once.
-- KEYS: file hash, index (the tenant's uploads or the execution's files), the tenant's
-- usage hash, expiring, executions. ARGV: id, chunk count, expiresAt ms ('' for none),
-- expiring entry ('' for none), size, execution id ('' for an upload), hash field/value
-- pairs (the rest). Returns 1.
local file, index, usage, expiring, executions = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, chunks, expiresAt, entry = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local size, executionId = ARGV[5], ARGV[6]
for n = 0, chunks - 1 do
  if redis.call('EXISTS', file .. ':' .. n) == 0 then
    return redis.error_reply('ERR file ' .. id .. ': chunk ' .. n .. ' expired before its save ended')
  end
end
redis.call('HSET', file, unpack(ARGV, 7))
for n = 0, chunks - 1 do
  if expiresAt == '' then
    redis.call('PERSIST', file .. ':' .. n)
  else
    redis.call('PEXPIREAT', file .. ':' .. n, expiresAt)
  end
end
if expiresAt ~= '' then
  redis.call('PEXPIREAT', file, expiresAt)
  redis.call('ZADD', expiring, expiresAt, entry)
end
-- All scored 0: listed by id, which is creation order.
redis.call('ZADD', index, 0, id)
if executionId == '' then
  redis.call('HINCRBY', usage, 'count', 1)
  redis.call('HINCRBY', usage, 'bytes', size)
else
  redis.call('SADD', executions, executionId)
end
return 1
