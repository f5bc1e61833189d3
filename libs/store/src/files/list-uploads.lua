-- Reads a page of a tenant's uploads, by id descending, skipping the ids whose hash has
-- expired (sweep-expired-files.lua takes those out of the index).
-- KEYS: the tenant's uploads. ARGV: prefix, the id to list after ('' for the first page),
-- limit, hash fields (the rest). Returns {id, field values} of each.
local uploads, prefix, after, limit = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3])
local max = '+'
if after ~= '' then max = '(' .. after end
local page = {}
while #page < limit do
  local wanted = limit - #page
  local ids = redis.call('ZREVRANGEBYLEX', uploads, max, '-', 'LIMIT', 0, wanted)
  for _, id in ipairs(ids) do
    local values = redis.call('HMGET', prefix .. 'file:' .. id, unpack(ARGV, 4))
    if values[1] then page[#page + 1] = { id, values } end
  end
  if #ids < wanted then break end
  max = '(' .. ids[#ids]
end
return page
