import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { resolve as resolvePath } from 'node:path';
import { installSafetyNet } from './process-safety-net';

describe('installSafetyNet', () => {
  function installed() {
    const logged: unknown[][] = [];
    const exits: number[] = [];
    const target = new EventEmitter();
    installSafetyNet(
      { error: (...args: unknown[]) => logged.push(args) },
      (code) => exits.push(code),
      target,
    );
    return { logged, exits, target };
  }

  it('logs an uncaught exception with its stack, then exits non-zero', () => {
    const { logged, exits, target } = installed();
    const error = new Error('state is now unknown');

    target.emit('uncaughtException', error);

    expect(logged).toEqual([[expect.stringMatching(/uncaught exception/), error.stack]]);
    expect(exits).toEqual([1]);
  });

  it('exits even when the log itself throws', () => {
    const exits: number[] = [];
    const target = new EventEmitter();
    installSafetyNet(
      {
        error: () => {
          throw new Error('the log is gone');
        },
      },
      (code) => exits.push(code),
      target,
    );

    expect(() => target.emit('uncaughtException', new Error('boom'))).toThrow('the log is gone');
    expect(exits).toEqual([1]);
  });

  it('logs an unhandled rejection and serves on', () => {
    const { logged, exits, target } = installed();

    target.emit('unhandledRejection', 'a reason that is no Error');

    expect(logged).toEqual([
      [expect.stringMatching(/unhandled promise rejection/), 'a reason that is no Error'],
    ]);
    expect(exits).toEqual([]);
  });

  it('ends a real process with code 1 after logging what escaped (on the real `process`)', () => {
    const script = [
      "const { installSafetyNet } = require('./apps/sandbox/src/process-safety-net');",
      'installSafetyNet({ error: (message, stack) => console.log(message, String(stack)) }, (code) => process.exit(code));',
      "setTimeout(() => { throw new Error('escaped a callback'); });",
      // Still running here would mean the process served on.
      "setTimeout(() => console.log('still serving'), 500);",
    ].join('\n');
    const child = spawnSync(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', '-e', script],
      { cwd: resolvePath(__dirname, '..', '..', '..'), encoding: 'utf8', timeout: 30_000 },
    );

    expect(child.stdout).toMatch(/uncaught exception.*escaped a callback/s);
    expect(child.stdout).not.toMatch(/still serving/);
    expect(child.status).toBe(1);
  });
});
