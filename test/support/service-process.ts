/**
 * The service alone in a process of its own, so the bench can measure its RSS and its
 * event-loop stalls apart from the client that attacks it (ServiceProcess in
 * separate-service.ts spawns it, for the bench and the hostile specs):
 *
 *   node -r ts-node/register/transpile-only -r tsconfig-paths/register \
 *     test/support/service-process.ts '{"MAX_CONCURRENT_EXECUTIONS":"2"}'
 *
 * argv[2], optional: a JSON object, the environment startSandboxApp() builds the app with.
 *
 * stdout carries one JSON line per message and nothing else (the app logs at "fatal"):
 *   {"url":"http://127.0.0.1:PORT"}   once it listens;
 *   {"loop":{...LoopDelayFigures}}    for each line "loop" read on stdin: the event-loop
 *                                     delay since the previous one (or since listening),
 *                                     after which the histogram starts afresh.
 * Commands come on stdin, not as signals: the app's shutdown hooks claim SIGUSR2 too.
 *
 * SIGTERM stops it: the shutdown hooks configureApp() enables cancel what is queued, give
 * what runs SHUTDOWN_GRACE_MS (startSandboxApp's default: 0) to finish, cancel the rest and
 * remove its containers, close the HTTP server, then exit with code 0. The end of stdin
 * does the same, so the service never outlives a bench that died.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { startSandboxApp } from './sandbox-app';

/** The histogram's timer period: each sample is the time between two ticks of it. */
const RESOLUTION_MS = 10;

export interface LoopDelayFigures {
  /** Longest the loop was late past its timer, in ms: the worst stall. */
  readonly maxStallMs: number;
  /** 99th percentile of that lateness, in ms. */
  readonly p99StallMs: number;
  readonly samples: number;
}

export type ServiceMessage = { readonly url: string } | { readonly loop: LoopDelayFigures };

function envFrom(argument: string | undefined): Record<string, string> {
  const parsed: unknown = JSON.parse(argument ?? '{}');
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`argv[2] must be a JSON object, got ${argument}`);
  }
  return Object.fromEntries(
    Object.entries(parsed as Record<string, unknown>).map(([name, value]) => [name, String(value)]),
  );
}

function say(message: ServiceMessage): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

async function main(): Promise<void> {
  const sandbox = await startSandboxApp(envFrom(process.argv[2]));
  const loopDelay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  loopDelay.enable();
  const lateness = (nanoseconds: number) => Math.max(0, nanoseconds / 1e6 - RESOLUTION_MS);

  const commands = createInterface({ input: process.stdin });
  commands.on('line', (line) => {
    if (line.trim() !== 'loop') return;
    say({
      loop: {
        maxStallMs: lateness(loopDelay.max),
        p99StallMs: lateness(loopDelay.percentile(99)),
        samples: loopDelay.count,
      },
    });
    loopDelay.reset();
  });
  commands.once('close', () => process.kill(process.pid, 'SIGTERM'));

  say({ url: sandbox.url });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
