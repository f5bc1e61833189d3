-- Reads a page of summaries, newest first (a batch: in its order), of the executions a
-- filter matches.
-- KEYS: an execs zset. ARGV: prefix, start, stop (0-based ranks among the matches; stop
-- below start: the total only), since (the least queuedAt in ms, or '-inf'), statuses
-- (each as its summary value, the JSON string, joined by ','; '' matches any),
-- processorId (its summary value; '' matches any), batchId (its summary value; '' matches
-- any), summary fields (the rest).
-- Returns {total matching, summary values of each match in the range}: one consistent
-- snapshot.
local execs, prefix = KEYS[1], ARGV[1]
local start, stop, since = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local statusList, processorId, batchId = ARGV[5], ARGV[6], ARGV[7]

local summaryOf = function(id)
  return redis.call('HMGET', prefix .. 'exec:' .. id .. ':summary', unpack(ARGV, 8))
end

-- Without a status, processor or batch, the zset alone answers: a range by score, then the page.
if statusList == '' and processorId == '' and batchId == '' then
  local reply = { redis.call('ZCOUNT', execs, since, '+inf') }
  if stop >= start then
    local ids = redis.call('ZREVRANGEBYSCORE', execs, '+inf', since, 'LIMIT', start, stop - start + 1)
    for _, id in ipairs(ids) do reply[#reply + 1] = summaryOf(id) end
  end
  return reply
end

-- Otherwise each id queued since `since` is looked at once: its status, processor and
-- batch only (small hash fields), the whole summary only for the matches on the page.
local statuses = {}
for status in string.gmatch(statusList, '[^,]+') do statuses[status] = true end
local matches = {}
for _, id in ipairs(redis.call('ZREVRANGEBYSCORE', execs, '+inf', since)) do
  local found = redis.call('HMGET', prefix .. 'exec:' .. id .. ':summary', 'status',
    'processorId', 'batchId', 'batchIndex')
  if (statusList == '' or (found[1] and statuses[found[1]]))
    and (processorId == '' or found[2] == processorId)
    and (batchId == '' or found[3] == batchId) then
    matches[#matches + 1] = { id = id, index = tonumber(found[4]) or 0 }
  end
end
if batchId ~= '' then
  table.sort(matches, function(a, b) return a.index < b.index end)
end
local total, page = #matches, {}
for rank = start + 1, math.min(stop + 1, total) do page[#page + 1] = summaryOf(matches[rank].id) end
local reply = { total }
for _, values in ipairs(page) do reply[#reply + 1] = values end
return reply
