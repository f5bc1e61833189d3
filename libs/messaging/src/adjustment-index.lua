-- Functions shared by the adjustment index's scripts, which start with this file.
-- KEYS: 1 every tenant's index (id by creation time), 2 the hash id -> tenant, 3 the
-- sweep's cursor. ARGV: 1 the job keys' prefix, 2 and 3 the prefixes of a tenant's index
-- and of its pending set, 4 the time before which an entry without its job is gone.
local jobs, byTenant, pendingOf, cutoff = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local function forget(id)
  local tenant = redis.call('HGET', KEYS[2], id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  if tenant then
    redis.call('ZREM', byTenant .. tenant, id)
    redis.call('ZREM', pendingOf .. tenant, id)
  end
end
local function gone(id, score)
  return redis.call('EXISTS', jobs .. id) == 0 and tonumber(score) < cutoff
end
