-- Appends an output event to the log, bounds the log's lifetime and publishes the event,
-- in one step: no reader can see the log without an event that was already published, or
-- the other way round. A watcher that subscribes, then reads the log and drops live events
-- whose seq the log already holds, so sees every event exactly once.
-- KEYS[1] log, ARGV[1] event JSON, ARGV[2] TTL in ms, ARGV[3] channel. Returns the
-- number of subscribers that heard it.
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('PUBLISH', ARGV[3], ARGV[1])
