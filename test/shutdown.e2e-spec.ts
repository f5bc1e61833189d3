import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteDatabase, SqliteExecutionStore } from '@brain-net/store';
import type { ExecutionRecord } from '@brain-net/store';
import type { ExecutionResultDto } from '../apps/sandbox/src/execution/dto/execution-result.dto';
import { openEventStream } from './support/event-stream';
import { containerCountOf } from './support/sandbox-app';
import { ServiceProcess } from './support/separate-service';

/**
 * Graceful shutdown with clients attached, the service in a process of its own so that
 * SIGTERM is real: Nest's shutdown hooks, the HTTP server closing, the process exiting.
 */

const GRACE_MS = 4_000;
const SHORT_JOB = 'import time\nprint("started", flush=True)\ntime.sleep(1.5)\nprint("done")';
const LONG_JOB = 'import time\nprint("started", flush=True)\ntime.sleep(60)';

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
  /** When it arrived, performance.now(). */
  readonly at: number;
}

async function send(url: string, init?: RequestInit): Promise<Answer> {
  const response = await fetch(url, init);
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? (JSON.parse(text) as unknown) : null,
    at: performance.now(),
  };
}

function submit(url: string, code: string, query = '?wait=true'): Promise<Answer> {
  return send(`${url}/execute${query}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ code }),
  });
}

/** Polls until `check` holds for the answer of GET `path`. */
async function pollUntil(
  url: string,
  path: string,
  check: (answer: Answer) => boolean,
  timeoutMs = 30_000,
): Promise<Answer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await send(`${url}${path}`);
    if (check(answer)) return answer;
    if (Date.now() > deadline) throw new Error(`${path} stayed ${JSON.stringify(answer.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The newest execution, once it has printed "started" in its container. */
async function runningExecution(url: string): Promise<string> {
  const listing = await pollUntil(
    url,
    '/executions?limit=1',
    (answer) => (answer.body as { total: number }).total > 0,
  );
  const id = (listing.body as { items: { execution_id: string }[] }).items[0].execution_id;
  await pollUntil(url, `/execution/${id}`, (answer) =>
    (answer.body as ExecutionResultDto).output.includes('started'),
  );
  return id;
}

describe('Graceful shutdown with clients attached (SIGTERM to the service process)', () => {
  let directory: string;
  let env: Record<string, string>;
  let instanceId: string;

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'sandbox-shutdown-'));
    instanceId = `shutdown-${randomUUID().slice(0, 8)}`;
    env = {
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
      SANDBOX_INSTANCE_ID: instanceId,
      DATABASE_PATH: join(directory, 'sandbox.db'),
    };
  });

  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  /** The execution as the service stored it, read after the process is gone. */
  async function stored(id: string): Promise<ExecutionRecord | undefined> {
    const options = {
      databasePath: env.DATABASE_PATH,
      executionHistoryLimit: 1000,
      maxStoreBytes: 1024 ** 3,
    };
    const database = new SqliteDatabase(options);
    try {
      return await new SqliteExecutionStore(database, options).get(id);
    } finally {
      database.close();
    }
  }

  it('answers a waiting client and a stream with the result of a job that ends in the grace period, then exits 0', async () => {
    const service = await ServiceProcess.start(env);
    try {
      const waiting = submit(service.url, SHORT_JOB);
      const id = await runningExecution(service.url);
      const stream = await openEventStream(`${service.url}/execution/${id}/stream`);

      const sigterm = performance.now();
      const sigtermAt = Date.now();
      const stopping = service.stop(30_000);
      const [answer, events, exit] = await Promise.all([waiting, stream.events, stopping]);

      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        execution_id: id,
        status: 'completed',
        output: 'started\ndone\n',
        error: null,
      });
      const last = events[events.length - 1];
      expect(last.event).toBe('result');
      expect(last.data).toMatchObject({ execution_id: id, status: 'completed' });
      expect(exit.how).toBe('code 0');
      expect(exit.ms).toBeLessThan(GRACE_MS);
      expect((await stored(id))?.status).toBe('completed');
      expect(await containerCountOf(instanceId, 'all')).toBe(0);
      console.log(
        'job ending within the grace:',
        JSON.stringify({
          sigtermToAnswerMs: Math.round(answer.at - sigterm),
          sigtermToStreamResultMs: last.receivedAt - sigtermAt,
          sigtermToExitMs: Math.round(exit.ms),
        }),
      );
    } finally {
      await service.stop();
    }
  });

  it('cancels a job that outlives the grace period, tells its waiting client, removes its container, and cancels the queued one at once', async () => {
    const service = await ServiceProcess.start({ ...env, MAX_CONCURRENT_EXECUTIONS: '1' });
    try {
      const waiting = submit(service.url, LONG_JOB);
      const id = await runningExecution(service.url);
      const queuedWaiting = submit(service.url, 'print("never")');
      await pollUntil(service.url, '/health', (answer) => {
        const details = (answer.body as { details: { queue: { queued: number } } }).details;
        return details.queue.queued === 1;
      });
      expect(await containerCountOf(instanceId)).toBe(1);

      const sigterm = performance.now();
      const stopping = service.stop(30_000);
      const queuedAnswer = await queuedWaiting;
      const answer = await waiting;
      const exit = await stopping;

      expect(queuedAnswer.status).toBe(200);
      expect(queuedAnswer.body).toMatchObject({
        status: 'cancelled',
        error: 'The service shut down before it started.',
      });
      expect(queuedAnswer.at - sigterm).toBeLessThan(1_000);

      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        execution_id: id,
        status: 'cancelled',
        output: 'started\n',
        error: `The service shut down before this execution finished (it waited ${GRACE_MS} ms for it); submit it again.`,
      });
      expect(answer.at - sigterm).toBeGreaterThanOrEqual(GRACE_MS - 100);
      expect(exit.how).toBe('code 0');
      // The grace, the kill and removal of the container, the HTTP server closing.
      expect(exit.ms).toBeLessThan(GRACE_MS + 5_000);
      expect(await containerCountOf(instanceId, 'all')).toBe(0);
      expect(await stored(id)).toMatchObject({ status: 'cancelled' });
      expect((await stored(id))?.error).toContain(
        'The service shut down before this execution finished',
      );
      console.log(
        'job outliving the grace:',
        JSON.stringify({
          sigtermToQueuedAnswerMs: Math.round(queuedAnswer.at - sigterm),
          sigtermToAnswerMs: Math.round(answer.at - sigterm),
          sigtermToExitMs: Math.round(exit.ms),
        }),
      );
    } finally {
      await service.stop();
    }
  });

  it('during the grace period refuses new executions with 503 and reports not ready, but alive', async () => {
    const service = await ServiceProcess.start(env);
    try {
      const waiting = submit(service.url, LONG_JOB);
      await runningExecution(service.url);
      expect((await send(`${service.url}/health/ready`)).status).toBe(200);

      const sigterm = performance.now();
      const stopping = service.stop(30_000);
      const ready = await pollUntil(
        service.url,
        '/health/ready',
        (answer) => answer.status === 503,
      );
      const readyRedMs = performance.now() - sigterm;
      const refused = await submit(service.url, 'print(1)', '');
      const live = await send(`${service.url}/health/live`);

      expect(refused.status).toBe(503);
      expect(refused.body).toMatchObject({ code: 'SHUTTING_DOWN', status: 503 });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(refused.headers.get('connection')).toBe('close');
      expect(ready.body).toMatchObject({
        details: {
          accepting_executions: { status: 'down', message: 'the service is shutting down' },
        },
      });
      expect(live.status).toBe(200);
      expect(live.body).toMatchObject({ status: 'ok' });
      // All of it while the running job still has its grace period.
      expect(performance.now() - sigterm).toBeLessThan(GRACE_MS);

      expect((await waiting).body).toMatchObject({ status: 'cancelled' });
      const exit = await stopping;
      expect(exit.how).toBe('code 0');
      expect(await containerCountOf(instanceId, 'all')).toBe(0);
      console.log(
        'during the grace:',
        JSON.stringify({
          sigtermToReadyRedMs: Math.round(readyRedMs),
          sigtermToExitMs: Math.round(exit.ms),
        }),
      );
    } finally {
      await service.stop();
    }
  });
});
