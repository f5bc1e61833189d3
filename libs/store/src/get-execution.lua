-- Reads a whole record.
-- KEYS: record, summary. ARGV: the tenant as JSON ('' for any), summary fields. Returns
-- {details JSON, summary values}, or nil when missing or another tenant's (read first).
if ARGV[1] ~= '' and redis.call('HGET', KEYS[2], 'tenant') ~= ARGV[1] then return false end
local details = redis.call('GET', KEYS[1])
if not details then return false end
return { details, redis.call('HMGET', KEYS[2], unpack(ARGV, 2)) }
