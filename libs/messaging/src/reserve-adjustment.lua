-- Reserves the adjustment's place (ARGV 5 id, 6 tenant, 7 creation time, 8 now, 9 most
-- pending) in the indexes and its tenant's pending set, in one step with the count, so
-- that adds on any instance hold the cap together. Answers {'exists', 0} for an id with a
-- job (a replay, whatever the count), {'full', n} when the tenant has n pending already,
-- else {'reserved', n}. Each call also sweeps a few index entries whose job is gone.
-- Runs after adjustment-index.lua (KEYS 1-3, ARGV 1-4 and its functions).
-- Index entries the sweep of each call looks at.
local SWEEP_BATCH = 10
local id, tenant = ARGV[5], ARGV[6]
if redis.call('EXISTS', jobs .. id) == 1 then return {'exists', 0} end
local cursor = tonumber(redis.call('GET', KEYS[3]) or '0')
local batch = redis.call('ZRANGE', KEYS[1], cursor, cursor + SWEEP_BATCH - 1, 'WITHSCORES')
local kept = 0
for i = 1, #batch, 2 do
  if gone(batch[i], batch[i + 1]) then forget(batch[i]) else kept = kept + 1 end
end
if #batch < 2 * SWEEP_BATCH then cursor = 0 else cursor = cursor + kept end
redis.call('SET', KEYS[3], cursor)
-- Reserved by an add of the same id under way: BullMQ makes one job of both.
if redis.call('ZSCORE', KEYS[1], id) then return {'reserved', 0} end
local pendingKey = pendingOf .. tenant
local max = tonumber(ARGV[9])
local count = redis.call('ZCARD', pendingKey)
if count >= max then
  -- At the cap: entries of ended or vanished jobs (a worker lost before it noted the end) go.
  local members = redis.call('ZRANGE', pendingKey, 0, -1, 'WITHSCORES')
  for i = 1, #members, 2 do
    if redis.call('HEXISTS', jobs .. members[i], 'finishedOn') == 1 then
      redis.call('ZREM', pendingKey, members[i])
    elseif gone(members[i], members[i + 1]) then
      forget(members[i])
    end
  end
  count = redis.call('ZCARD', pendingKey)
  if count >= max then return {'full', count} end
end
redis.call('ZADD', pendingKey, ARGV[8], id)
redis.call('ZADD', KEYS[1], ARGV[7], id)
redis.call('ZADD', byTenant .. tenant, ARGV[7], id)
redis.call('HSET', KEYS[2], id, tenant)
return {'reserved', count + 1}
