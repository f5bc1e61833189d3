// Jest setup of the unit tier (jest.config.js): marks the tier, so that helpers which
// start real servers (startRedisServer) refuse to, naming the tier the spec belongs in.
process.env.SANDBOX_TEST_TIER = 'unit';
