-- Functions the file scripts share (readLua puts this file first).

-- Deletes a file's hash and its chunks, `{file}:0` to `{file}:{chunks - 1}`, at most a
-- thousand keys per DEL (unpack's stack is bounded).
local function removeFile(file, chunks)
  local keys = { file }
  for n = 0, chunks - 1 do
    keys[#keys + 1] = file .. ':' .. n
    if #keys == 1000 then
      redis.call('DEL', unpack(keys))
      keys = {}
    end
  end
  if #keys > 0 then redis.call('DEL', unpack(keys)) end
end

-- Takes an upload of `size` bytes (decimal text) out of a tenant's usage hash, and the
-- hash with its last upload. No HINCRBY by '-0': Redis refuses that number.
local function uncount(usage, size)
  if redis.call('HINCRBY', usage, 'count', -1) <= 0 then
    redis.call('DEL', usage)
  elseif size ~= '0' then
    redis.call('HINCRBY', usage, 'bytes', '-' .. size)
  end
end
