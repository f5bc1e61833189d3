/**
 * The service in a process of its own (test/support/service-process.ts under ts-node, or
 * the compiled service as deployed), for specs and the bench that measure its RSS and
 * event-loop stalls apart from the client attacking it:
 * - RSS: VmRSS and VmHWM (peak) from /proc/<pid>/status; resetPeak() writes "5" to
 *   /proc/<pid>/clear_refs, which resets VmHWM to the current RSS;
 * - event loop: the service keeps a monitorEventLoopDelay histogram and reports it, then
 *   resets it, each time it is asked on its stdin.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { freeLoopbackPort } from '@brain-net/testing';
import type { LoopDelayFigures, ServiceMessage } from './service-process';

/** The service in a child process: its URL, its memory, its event-loop figures, its end. */
export class ServiceProcess {
  private readonly loopWaiters: ((figures: LoopDelayFigures) => void)[] = [];
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    private readonly child: ChildProcessByStdio<Writable, Readable, null>,
    readonly pid: number,
    readonly url: string,
    /** `node dist/apps/sandbox/src/main.js`: no event-loop figures (loopDelay). */
    readonly compiled = false,
  ) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve({ code: child.exitCode, signal: child.signalCode });
      } else child.once('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  static start(env: Record<string, string>, timeoutMs = 120_000): Promise<ServiceProcess> {
    const root = resolvePath(__dirname, '..', '..');
    const child = spawn(
      process.execPath,
      [
        '-r',
        'ts-node/register/transpile-only',
        '-r',
        'tsconfig-paths/register',
        'test/support/service-process.ts',
        JSON.stringify(env),
      ],
      { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    return new Promise((resolve, reject) => {
      let service: ServiceProcess | undefined;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the service process did not listen within ${timeoutMs} ms`));
      }, timeoutMs);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (!service) reject(new Error(`the service process ended (${code ?? signal})`));
      });
      child.once('error', reject);
      createInterface({ input: child.stdout }).on('line', (line) => {
        const message = parseMessage(line);
        if (!message) return;
        if ('url' in message && !service && child.pid !== undefined) {
          clearTimeout(timer);
          service = new ServiceProcess(child, child.pid, message.url);
          resolve(service);
        } else if ('loop' in message) {
          service?.loopWaiters.shift()?.(message.loop);
        }
      });
    });
  }

  /**
   * The compiled service, `node dist/apps/sandbox/src/main.js` (built by `npm run build`),
   * with `env` over this process's environment, on a free loopback port; its logs are
   * read and dropped, as a log collector would read them.
   */
  static async startCompiled(
    env: Record<string, string>,
    timeoutMs = 60_000,
  ): Promise<ServiceProcess> {
    const root = resolvePath(__dirname, '..', '..');
    const port = await freeLoopbackPort();
    const child = spawn(process.execPath, ['dist/apps/sandbox/src/main.js'], {
      cwd: root,
      env: { ...process.env, ...env, HOST: '127.0.0.1', PORT: String(port) },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    child.stdout.resume();
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + timeoutMs;
    while (child.exitCode === null && child.signalCode === null) {
      const live = await fetch(`${url}/health/live`).then(
        (response) => response.ok,
        () => false,
      );
      if (live && child.pid !== undefined) return new ServiceProcess(child, child.pid, url, true);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`the compiled service did not answer within ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the compiled service ended (${child.exitCode ?? child.signalCode})`);
  }

  /** Event-loop delay since the previous call (or since listening); starts a new window. */
  loopDelay(): Promise<LoopDelayFigures> {
    if (this.compiled) {
      return Promise.reject(new Error('the compiled service reports no event-loop figures'));
    }
    return new Promise((resolve) => {
      this.loopWaiters.push(resolve);
      this.child.stdin.write('loop\n');
    });
  }

  /** Current and peak resident set, in bytes, from /proc. */
  memory(): { rss: number; peak: number } {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kib = (field: string) =>
      Number(new RegExp(`^${field}:\\s*(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
    return { rss: kib('VmRSS'), peak: kib('VmHWM') };
  }

  /** Resets the peak (VmHWM) to the current RSS; false where the kernel refuses. */
  resetPeak(): boolean {
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
      return true;
    } catch {
      return false;
    }
  }

  /** SIGKILL, as a lost machine would end it; resolves once it is gone. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves once it is gone. */
  async stop(graceMs = 60_000): Promise<{ how: string; ms: number }> {
    const started = performance.now();
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      this.exited.then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
    ]);
    clearTimeout(timer);
    if (!inTime) this.child.kill('SIGKILL');
    const { code, signal } = await this.exited;
    const how = `${inTime ? '' : 'SIGKILL after no exit; '}${signal ?? `code ${code}`}`;
    return { how, ms: performance.now() - started };
  }
}

function parseMessage(line: string): ServiceMessage | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed === 'object' && parsed !== null && ('url' in parsed || 'loop' in parsed)) {
      return parsed as ServiceMessage;
    }
  } catch {
    // Not one of ours: the service prints only JSON lines, so ignore anything else.
  }
  return undefined;
}
