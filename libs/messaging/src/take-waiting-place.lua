-- Takes a waiting place of a tenant for a job, if one is free: KEYS[1] is the tenant's
-- sorted set of job ids (scored by Redis's clock at the take), ARGV the job id and the
-- cap. A set of ids, not a counter: every way out (started, withdrawn, failed, reclaimed)
-- may release the same place, and releasing twice frees one place, never two.
-- Returns 1 when the job holds a place, 0 when the tenant's are all taken.
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
local time = redis.call('TIME')
redis.call('ZADD', KEYS[1], tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000), ARGV[1])
return 1
