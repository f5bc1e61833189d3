import { Writable } from 'node:stream';
import { pino } from 'pino';
import { dropMissingArguments } from './logging.module';

/** The messages a pino logger (with or without the hook) writes. */
function loggerInto(messages: string[], hooked: boolean) {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      messages.push((JSON.parse(chunk.toString('utf8')) as { msg: string }).msg);
      done();
    },
  });
  return pino({ hooks: hooked ? { logMethod: dropMissingArguments } : {} }, sink);
}

// What nestjs-pino passes pino for `new Logger('ApiKeys').error(message)`: Nest adds an
// undefined stack before the context, nestjs-pino moves the context into the object.
const HINT = 'make one with: printf %s "$KEY" | sha256sum';

describe('dropMissingArguments (pino logMethod hook)', () => {
  it('keeps a printf-style hint intact when Nest passes no stack', () => {
    const messages: string[] = [];
    loggerInto(messages, true).error({ context: 'ApiKeys' }, HINT, undefined);
    expect(messages).toEqual([HINT]);
  });

  it('is needed: without it the %s is eaten', () => {
    const messages: string[] = [];
    loggerInto(messages, false).error({ context: 'ApiKeys' }, HINT, undefined);
    expect(messages).toEqual(['make one with: printf undefined "$KEY" | sha256sum']);
  });

  it('still formats a message whose arguments are given', () => {
    const messages: string[] = [];
    loggerInto(messages, true).warn({}, '%d keys', 3);
    expect(messages).toEqual(['3 keys']);
  });
});
