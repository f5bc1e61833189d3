import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort } from './free-loopback-port';

/** A real redis-server for specs, on a free loopback port, persisting to its own directory. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:{port}` */
  readonly url: string;
  /** Its data directory (append-only file): kept across stop, kill and restart. */
  readonly dir: string;
  /** SIGTERM, then waits for it to exit. Does nothing when it is not running. */
  stop(): Promise<void>;
  /** SIGKILL (a crash: no shutdown save), then waits for it to exit. */
  kill(): Promise<void>;
  /** Stops it if running, starts it again on the same port and directory, waits for PING. */
  restart(): Promise<void>;
  /** Stops it and deletes its directory: for afterAll. */
  destroy(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;

/** Starts `redis-server` (from PATH) and resolves once it answers PING. */
export async function startRedisServer(): Promise<RedisServer> {
  if (process.env.SANDBOX_TEST_TIER === 'unit') {
    throw new Error(
      'A unit spec may not start redis-server: name the spec *.int.spec.ts (the integration tier).',
    );
  }
  const port = await freeLoopbackPort();
  const dir = mkdtempSync(join(tmpdir(), 'redis-server-'));
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    const started = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--dir',
        dir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = started;
    // Kept for the error message should it fail to start.
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4000);
    };
    started.stdout?.on('data', keep);
    started.stderr?.on('data', keep);
    try {
      await waitForPong(port, started);
    } catch (error: unknown) {
      await signal(started, 'SIGKILL');
      child = null;
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`redis-server on port ${port} did not start: ${reason}\n${output}`);
    }
  };

  const stopWith = async (name: NodeJS.Signals): Promise<void> => {
    const running = child;
    child = null;
    if (running) await signal(running, name);
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    restart: async () => {
      await stopWith('SIGTERM');
      await start();
    },
    destroy: async () => {
      await stopWith('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sends a signal and resolves once the process has exited (at once if it already had). */
function signal(child: ChildProcess, name: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(name);
  });
}

async function waitForPong(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`it exited (${child.exitCode ?? child.signalCode})`);
    }
    if (await answersPing(port)) return;
    if (Date.now() > deadline) throw new Error(`no PONG within ${READY_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** One PING over a fresh connection; false on any error (not listening yet, LOADING...). */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const finish = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
  });
}
