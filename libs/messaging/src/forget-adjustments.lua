-- Forgets the listed ids (ARGV 5...) whose job is gone; answers how many.
-- Runs after adjustment-index.lua (KEYS 1-3, ARGV 1-4 and its functions).
local forgotten = 0
for i = 5, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and gone(ARGV[i], score) then
    forget(ARGV[i])
    forgotten = forgotten + 1
  end
end
return forgotten
