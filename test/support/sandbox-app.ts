import { Test } from '@nestjs/testing';
import type { NestExpressApplication } from '@nestjs/platform-express';
import Docker from 'dockerode';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { AppModule } from '../../apps/sandbox/src/app.module';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  DockerRunner,
  HARNESS_COMPILER_JOB,
  IMAGE_PROBE_JOB,
  JOB_LABEL,
  SANDBOX_LABEL,
} from '@brain-net/runner';
import { ScriptedRunner } from '@brain-net/runner/testing/scripted-runner';
import { loadConfig } from '../../apps/sandbox/src/config/app-config';
import { configureApp } from '../../apps/sandbox/src/bootstrap/configure-app';
import type { ExecutionResultDto } from '../../apps/sandbox/src/execution/dto/execution-result.dto';
import { untilCancelled } from './scripted-runs';

/** The service, built as main.ts builds it, listening on loopback. */
export interface ListeningApp {
  readonly app: NestExpressApplication;
  readonly http: TestAgent;
  readonly instanceId: string;
  /** http://127.0.0.1:port of the listening app, for clients other than supertest. */
  readonly url: string;
  close(): Promise<void>;
}

/** The service against the real Docker engine. */
export interface SandboxApp extends ListeningApp {
  /** Containers of this app instance on the engine right now. */
  containerCount(): Promise<number>;
  /**
   * Waits until this app's containers number `count` (none by default): a job is
   * answered at its exit frame and its container removed just after.
   */
  containersSettle(count?: number): Promise<void>;
}

/** The service with a ScriptedRunner in the engine's place: each run plays a script. */
export interface ScriptedSandboxApp extends ListeningApp {
  readonly runner: ScriptedRunner;
}

/** A provider a spec puts in place of the app's own (a HostResolver without DNS, say). */
export interface ProviderOverride {
  readonly provide: abstract new (...args: never[]) => unknown;
  readonly useValue: unknown;
}

/** What startSleeper() runs: it says "started", then sleeps for a minute. */
const SLEEPER_CODE = 'import time\nprint("started", flush=True)\ntime.sleep(60)';

/**
 * The real service, as main.ts builds it, against the real Docker engine. `env`
 * plays the role of the process environment. Each app gets its own instance id
 * unless `env` sets one, so specs never sweep or count each other's containers.
 */
export async function startSandboxApp(env: Record<string, string> = {}): Promise<SandboxApp> {
  const listening = await listenOnLoopback(env, null);
  const { instanceId } = listening;
  return {
    ...listening,
    containerCount: () => containerCountOf(instanceId),
    containersSettle: (count = 0) => waitForValue(() => containerCountOf(instanceId, 'all'), count),
  };
}

/**
 * The same service with `runner` as its DockerRunner: no engine is ever asked. The
 * runner answers the engine status watch, the health checks and the container count
 * as a healthy engine would, and plays a script for each run (a clean exit unless the
 * spec scripts otherwise). startSleeper() works here too: its code says "started" and
 * runs until cancelled. `overrides` replace providers of the app.
 */
export async function startScriptedSandboxApp(
  env: Record<string, string> = {},
  runner = new ScriptedRunner(),
  overrides: readonly ProviderOverride[] = [],
): Promise<ScriptedSandboxApp> {
  runner.script(SLEEPER_CODE, untilCancelled('started\n'));
  return { ...(await listenOnLoopback(env, runner, overrides)), runner };
}

/** Builds the app over the real engine, or over `runner` in its place, and listens. */
async function listenOnLoopback(
  env: Record<string, string>,
  runner: DockerRunner | null,
  overrides: readonly ProviderOverride[] = [],
): Promise<ListeningApp> {
  const instanceId = env.SANDBOX_INSTANCE_ID ?? `test-${randomUUID().slice(0, 8)}`;
  const config = loadConfig({
    DATABASE_PATH: ':memory:',
    LOG_LEVEL: 'fatal',
    // Specs count containers; the warm pool's are tried in a spec of their own.
    SANDBOX_WARM_POOL: '0',
    // Specs close apps with jobs still running: cancel them at once, unless a spec
    // (test/shutdown.e2e-spec.ts) gives them a grace period.
    SHUTDOWN_GRACE_MS: '0',
    ...env,
    SANDBOX_INSTANCE_ID: instanceId,
  });
  // The composition root builds the mode and role from the configuration (as main.ts does).
  const builder = Test.createTestingModule({ imports: [AppModule.forConfig(config)] });
  if (runner) builder.overrideProvider(DockerRunner).useValue(runner);
  for (const { provide, useValue } of overrides)
    builder.overrideProvider(provide).useValue(useValue);
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({
    bodyParser: false,
    bufferLogs: true,
  });
  configureApp(app);
  await app.init();
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    app,
    http: request(app.getHttpServer()),
    instanceId,
    close: () => app.close(),
  };
}

/** Runs code and waits for its result. */
export async function run(
  http: TestAgent,
  body: Record<string, unknown>,
): Promise<ExecutionResultDto> {
  const response = await http.post('/execute?wait=true').send(body).expect(200);
  return response.body as ExecutionResultDto;
}

/** GETs `path` (expecting 200) until its body satisfies the predicate, or fails at the deadline. */
export async function pollUntil<T>(
  http: TestAgent,
  path: string,
  predicate: (body: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = (await http.get(path).expect(200)).body as T;
    if (predicate(body)) return body;
    if (Date.now() > deadline) throw new Error(`${path} stayed ${JSON.stringify(body)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Starts code that prints "started" and then sleeps for a minute; resolves with its id
 * once the output shows it really runs in its container.
 */
export async function startSleeper(http: TestAgent): Promise<string> {
  const accepted = await http.post('/execute').send({ code: SLEEPER_CODE }).expect(202);
  const id = (accepted.body as { execution_id: string }).execution_id;
  await pollUntil<ExecutionResultDto>(http, `/execution/${id}`, (live) =>
    live.output.includes('started'),
  );
  return id;
}

/**
 * Polls GET /health/ready until it answers `status`: readiness follows the engine watch,
 * which notices a change within moments, not within the same request.
 */
export async function waitForReadiness(
  http: TestAgent,
  status: 200 | 503,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await http.get('/health/ready')).status !== status) {
    if (Date.now() > deadline) throw new Error(`readiness never answered ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Polls until `read` returns `expected`, or fails at the deadline. */
export async function waitForValue<T>(
  read: () => Promise<T>,
  expected: T,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await read()) !== expected) {
    if (Date.now() > deadline) throw new Error(`never became ${String(expected)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Polls GET /execution/{id} until its status satisfies the predicate. */
export function waitForStatus(
  http: TestAgent,
  id: string,
  predicate: (status: string) => boolean,
): Promise<ExecutionResultDto> {
  return pollUntil<ExecutionResultDto>(http, `/execution/${id}`, (result) =>
    predicate(result.status),
  );
}

const docker = new Docker();

/**
 * The instance's containers: those of jobs and the warm pool, or `all`, which also counts
 * the containers that compile the harness for an image and read what an image holds
 * (they come and go with an image's first job, or GET /runtimes, and may be left, like
 * any, while the engine is unreachable).
 */
export async function containerCountOf(
  instanceId: string,
  which: 'jobs' | 'all' = 'jobs',
): Promise<number> {
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`${SANDBOX_LABEL}=${instanceId}`] },
  });
  return which === 'all'
    ? containers.length
    : containers.filter(
        (info) => ![HARNESS_COMPILER_JOB, IMAGE_PROBE_JOB].includes(info.Labels[JOB_LABEL]),
      ).length;
}
