-- Deletes a tenant's file. KEYS: file hash, expiring. ARGV: tenant, id.
-- Returns 1 once deleted, 0 when it is missing (expired included) or another tenant's.
local file, expiring, tenant, id = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local fields = redis.call('HMGET', file, 'tenant', 'size', 'chunks', 'index', 'usage', 'expiry')
if fields[1] ~= tenant then return 0 end
removeFile(file, tonumber(fields[3]))
redis.call('ZREM', fields[4], id)
if fields[5] ~= '' then uncount(fields[5], fields[2]) end
if fields[6] ~= '' then redis.call('ZREM', expiring, fields[6]) end
return 1
