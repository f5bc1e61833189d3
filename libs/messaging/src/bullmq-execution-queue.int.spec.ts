import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { startRedisServer, type RedisServer } from '@brain-net/testing';
import { BullmqExecutionQueue, type BullmqExecutionQueueOptions } from './bullmq-execution-queue';
import { createRedisClient } from './redis-connection';
import { behavesAsAnExecutionQueue } from './testing/execution-queue-contract';

const REPO_ROOT = join(__dirname, '..', '..', '..');
const HANGING_WORKER = join(__dirname, 'testing', 'hanging-worker.fixture.ts');
const PREFIX = 'spec';
const LOCK_MS = 2000;
const STALLED_CHECK_MS = 1000;

/** Polls until the condition holds; fails with `what` after the timeout. */
async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise and the function that resolves it: holds a job handler until the spec lets go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('BullmqExecutionQueue', () => {
  let server: RedisServer;
  let clients: Redis[] = [];
  let queues: BullmqExecutionQueue[] = [];
  let errors: unknown[] = [];
  let queueName = '';
  let testNumber = 0;

  beforeAll(async () => {
    server = await startRedisServer();
  });

  afterAll(async () => {
    await server.destroy();
  });

  beforeEach(() => {
    testNumber += 1;
    queueName = `queue-spec-${testNumber}`;
    errors = [];
  });

  afterEach(async () => {
    await Promise.all(queues.map((queue) => queue.close()));
    // Closing a queue quits its worker connection already.
    clients.filter((client) => client.status !== 'end').forEach((client) => client.disconnect());
    queues = [];
    clients = [];
  });

  function client(purpose: 'commands' | 'worker'): Redis {
    const redis = createRedisClient(server.url, purpose, `queue-spec-${purpose}`);
    redis.on('error', (error) => errors.push(error));
    clients.push(redis);
    return redis;
  }

  /** The waiting places a tenant holds (the queue's set of its job ids), read off Redis. */
  function placesOf(tenant: string): Promise<string[]> {
    return client('commands').zrange(`${PREFIX}:${queueName}:waiting-of:${tenant}`, '0', '-1');
  }

  /** One service instance's queue, on connections of its own. */
  function instance(options: Partial<BullmqExecutionQueueOptions> = {}): BullmqExecutionQueue {
    const queue = new BullmqExecutionQueue({
      queueName,
      prefix: PREFIX,
      commands: client('commands'),
      workerConnection: () => client('worker'),
      concurrency: 1,
      maxWaiting: 100,
      lockMs: LOCK_MS,
      stalledCheckMs: STALLED_CHECK_MS,
      onError: (error) => errors.push(error),
      ...options,
    });
    queues.push(queue);
    return queue;
  }

  behavesAsAnExecutionQueue(
    ({ concurrency, maxWaiting, maxWaitingPerTenant }) =>
      instance({ concurrency, maxWaiting, maxWaitingPerTenant }),
    // The tenant's places are taken atomically at enqueue; waiting jobs stay in Redis.
    { enqueueKeepsTenantCap: true, stopWorkHandsBackWaiting: false },
  );

  it('runs a job enqueued on one instance on the worker of another', async () => {
    const a = instance();
    const b = instance();
    const ran: string[] = [];
    b.work(
      (id) => {
        ran.push(id);
        return Promise.resolve();
      },
      () => undefined,
    );

    await a.enqueue('job-1', 'tenant-a');

    await waitFor('the job to run', () => ran.length === 1);
    expect(ran).toEqual(['job-1']);
    expect(errors).toEqual([]);
  });

  it('runs at most `concurrency` jobs at once on an instance, and reports them in load()', async () => {
    const a = instance();
    const b = instance({ concurrency: 2 });
    let active = 0;
    let mostActive = 0;
    const ran: string[] = [];
    const gates = new Map<string, ReturnType<typeof gate>>();
    const ids = ['c1', 'c2', 'c3', 'c4', 'c5'];
    ids.forEach((id) => gates.set(id, gate()));
    b.work(
      async (id) => {
        active += 1;
        mostActive = Math.max(mostActive, active);
        ran.push(id);
        await gates.get(id)?.promise;
        active -= 1;
      },
      () => undefined,
    );

    for (const id of ids) await a.enqueue(id, 'tenant-a');

    await waitFor('two jobs to run', () => active === 2);
    // Give a third job every chance to start, were the limit not kept.
    await sleep(300);
    expect(active).toBe(2);
    expect(await b.load()).toEqual({ waiting: 3, running: 2 });
    // The other instance runs nothing; it sees the same waiting jobs.
    expect(await a.load()).toEqual({ waiting: 3, running: 0 });

    for (const id of ids) {
      await waitFor(`${id} to start`, () => ran.includes(id));
      gates.get(id)?.open();
    }
    await waitFor('every job to end', () => ran.length === ids.length && active === 0);
    expect(mostActive).toBe(2);
    expect(await b.load()).toEqual({ waiting: 0, running: 0 });
  });

  it('withdraws a waiting job, which then never runs, and refuses to withdraw a running one', async () => {
    const a = instance();
    const b = instance({ concurrency: 1 });
    const ran: string[] = [];
    const running = gate();
    b.work(
      async (id) => {
        ran.push(id);
        if (id === 'running') await running.promise;
      },
      () => undefined,
    );

    await a.enqueue('running', 'tenant-a');
    await waitFor('the first job to run', () => ran.includes('running'));
    await a.enqueue('waiting', 'tenant-a');

    expect(await a.withdraw('waiting')).toBe(true);
    expect(await a.withdraw('waiting')).toBe(false);
    expect(await a.withdraw('running')).toBe(false);
    expect(await b.withdraw('unknown')).toBe(false);

    running.open();
    // A job enqueued after the withdrawn one runs: the queue went past where it was.
    await a.enqueue('later', 'tenant-a');
    await waitFor('the later job to run', () => ran.includes('later'));
    expect(ran).toEqual(['running', 'later']);
    // A job that already ran cannot be withdrawn either.
    expect(await a.withdraw('running')).toBe(false);
  });

  it("refuses with 'queue-full' once maxWaiting jobs wait across the cluster", async () => {
    const a = instance({ maxWaiting: 3 });
    const b = instance({ maxWaiting: 3 });

    expect(await a.refusal('tenant-a')).toBeNull();
    await a.enqueue('w1', 'tenant-a');
    await b.enqueue('w2', 'tenant-b');
    expect(await b.refusal('tenant-a')).toBeNull();
    await a.enqueue('w3', 'tenant-a');

    expect(await a.refusal('tenant-a')).toBe('queue-full');
    // Whoever asks, whichever tenant: the limit is cluster-wide, never per tenant.
    expect(await b.refusal('tenant-c')).toBe('queue-full');
    expect(await a.load()).toEqual({ waiting: 3, running: 0 });

    expect(await b.withdraw('w2')).toBe(true);
    expect(await a.refusal('tenant-a')).toBeNull();
  });

  it('keeps maxWaitingPerTenant across the cluster, atomically, and gives places back', async () => {
    const a = instance({ maxWaitingPerTenant: 2 });
    const b = instance({ maxWaitingPerTenant: 2 });

    expect(await a.enqueue('x1', 'tenant-x')).toBeNull();
    expect(await b.enqueue('x2', 'tenant-x')).toBeNull();
    expect(await a.refusal('tenant-x')).toBe('tenant-queue-full');
    expect(await b.refusal('tenant-x')).toBe('tenant-queue-full');
    expect(await b.enqueue('x3', 'tenant-x')).toBe('tenant-queue-full');
    // Another tenant is still let in, on either instance.
    expect(await b.refusal('tenant-y')).toBeNull();
    expect(await b.enqueue('y1', 'tenant-y')).toBeNull();

    // Submits racing for the last places: the take is atomic, the cap holds exactly.
    const racing = await Promise.all(
      ['z1', 'z2', 'z3', 'z4', 'z5', 'z6'].map((id, i) =>
        (i % 2 === 0 ? a : b).enqueue(id, 'tenant-z'),
      ),
    );
    expect(racing.filter((refusal) => refusal === null)).toHaveLength(2);
    expect(await a.load()).toEqual({ waiting: 5, running: 0 });

    // Withdrawn, a job gives its place back.
    expect(await b.withdraw('x1')).toBe(true);
    expect(await placesOf('tenant-x')).toEqual(['x2']);
    expect(await a.enqueue('x4', 'tenant-x')).toBeNull();

    // Started, a job waits no more: its place is free while it runs.
    const ran: string[] = [];
    b.work(
      (id) => {
        ran.push(id);
        return Promise.resolve();
      },
      () => undefined,
    );
    await waitFor('every job to run', () => ran.length === 5);
    for (const tenant of ['tenant-x', 'tenant-y', 'tenant-z']) {
      expect(await placesOf(tenant)).toEqual([]);
    }
    expect(errors).toEqual([]);
  });

  it('reclaims the places of jobs an instance lost track of, and only those', async () => {
    const a = instance({ maxWaitingPerTenant: 2 });
    const places = client('commands');
    const key = `${PREFIX}:${queueName}:waiting-of:tenant-r`;
    const ran: string[] = [];
    a.work(
      (id) => {
        ran.push(id);
        return Promise.resolve();
      },
      () => undefined,
    );
    await a.enqueue('ended', 'tenant-r');
    await waitFor('the job to run', () => ran.includes('ended'));
    const [seconds] = await places.time();
    // An instance that died after its worker took a job, before it gave the place back;
    // and one that died between taking a place and adding its job, a minute ago.
    await places.zadd(key, Number(seconds) * 1000, 'ended');
    await places.zadd(key, (Number(seconds) - 60) * 1000, 'never-added');

    expect(await a.refusal('tenant-r')).toBeNull();
    expect(await places.zcard(key)).toBe(0);

    // A place taken a moment ago for a job not added yet is an add in flight: kept.
    await a.close();
    const idle = instance({ maxWaitingPerTenant: 2 });
    await places.zadd(
      `${PREFIX}:${queueName}:waiting-of:tenant-s`,
      Number(seconds) * 1000,
      'being-added',
    );
    expect(await idle.enqueue('waits', 'tenant-s')).toBeNull();
    expect(await idle.enqueue('one-too-many', 'tenant-s')).toBe('tenant-queue-full');
    expect(await placesOf('tenant-s')).toEqual(['being-added', 'waits']);
  });

  it('runs a job enqueued twice under the same id once', async () => {
    const a = instance();
    const b = instance();

    await a.enqueue('dup', 'tenant-a');
    await a.enqueue('dup', 'tenant-a');
    await b.enqueue('dup', 'tenant-a');
    expect(await a.load()).toEqual({ waiting: 1, running: 0 });

    const ran: string[] = [];
    b.work(
      (id) => {
        ran.push(id);
        return Promise.resolve();
      },
      () => undefined,
    );
    await waitFor('the job to run', () => ran.includes('dup'));
    // Also once it ran: the ended job is kept, so the id stays taken.
    await a.enqueue('dup', 'tenant-a');
    await a.enqueue('next', 'tenant-a');
    await waitFor('the next job to run', () => ran.includes('next'));
    expect(ran).toEqual(['dup', 'next']);
  });

  it('fails fast while Redis is down, and works again once it is back', async () => {
    const a = instance();
    await a.enqueue('before', 'tenant-a');

    await server.stop();
    try {
      const started = Date.now();
      await expect(a.enqueue('during', 'tenant-a')).rejects.toThrow();
      await expect(a.refusal('tenant-a')).rejects.toThrow();
      await expect(a.withdraw('before')).rejects.toThrow();
      await expect(a.load()).rejects.toThrow();
      // About the command timeout each, not a hang.
      expect(Date.now() - started).toBeLessThan(4 * 3000);
    } finally {
      await server.restart();
    }

    await waitFor('the connections to come back', () =>
      clients.every((redis) => redis.status === 'ready'),
    );
    await a.enqueue('after', 'tenant-a');
    // The job enqueued before the outage survived it (the spec server persists).
    expect(await a.load()).toEqual({ waiting: 2, running: 0 });
    // The connection errors of the outage were reported, none was thrown.
    expect(errors.length).toBeGreaterThan(0);
  });

  /** Another instance, in a process of its own, that takes one job and hangs in it. */
  function hangingWorker(): { child: ChildProcess; output: () => string } {
    const child = spawn(
      process.execPath,
      ['-r', 'ts-node/register', '-r', 'tsconfig-paths/register', HANGING_WORKER],
      {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          TS_NODE_TRANSPILE_ONLY: '1',
          REDIS_URL: server.url,
          QUEUE_NAME: queueName,
          QUEUE_PREFIX: PREFIX,
          LOCK_MS: String(LOCK_MS),
          STALLED_CHECK_MS: String(STALLED_CHECK_MS),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    return { child, output: () => output };
  }

  it('reports a job whose worker was killed as lost on a surviving instance, without running it again', async () => {
    const a = instance();
    const survivor = instance();
    const hanging = hangingWorker();
    let child: ChildProcess | null = hanging.child;
    const childOutput = hanging.output;

    try {
      await a.enqueue('doomed', 'tenant-a');
      await waitFor(
        'the child to take the job',
        () => childOutput().includes('took doomed'),
        30_000,
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}; the child said: ${childOutput()}`);
      });

      const ran: string[] = [];
      const lost: string[] = [];
      survivor.work(
        (id) => {
          ran.push(id);
          return Promise.resolve();
        },
        (id) => lost.push(id),
      );
      expect(await survivor.load()).toEqual({ waiting: 0, running: 0 });

      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      child = null;
      const killedAt = Date.now();

      // The lock runs out, then a stalled check notices, then a worker fails the job.
      await waitFor(
        'the job to be reported lost',
        () => lost.length > 0,
        LOCK_MS + STALLED_CHECK_MS + 3000,
      );
      const noticedAfterMs = Date.now() - killedAt;
      expect(lost).toEqual(['doomed']);
      expect(ran).toEqual([]);
      expect(noticedAfterMs).toBeLessThan(LOCK_MS + STALLED_CHECK_MS + 3000);
      expect(await survivor.withdraw('doomed')).toBe(false);

      // The survivor goes on working as before.
      await a.enqueue('after', 'tenant-a');
      await waitFor('the next job to run', () => ran.includes('after'));
      expect(ran).toEqual(['after']);
      expect(lost).toEqual(['doomed']);
      expect(await placesOf('tenant-a')).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      child?.kill('SIGKILL');
    }
  });

  it('reports a job as lost to its own worker too, once that worker, frozen past the lock, wakes', async () => {
    const a = instance();
    const survivor = instance();
    const { child, output } = hangingWorker();
    try {
      await a.enqueue('frozen', 'tenant-a');
      await waitFor('the child to take the job', () => output().includes('took frozen'), 30_000);
      const lost: string[] = [];
      survivor.work(
        () => Promise.resolve(),
        (id) => lost.push(id),
      );

      child.kill('SIGSTOP');
      await waitFor('the survivor to report it lost', () => lost.length > 0, LOCK_MS + 5000);
      expect(output()).not.toContain('lost frozen');
      child.kill('SIGCONT');

      // Its next lock renewal (every LOCK_MS / 2) finds the lock gone.
      await waitFor(
        'the frozen worker to report it lost',
        () => output().includes('lost frozen'),
        LOCK_MS + 3000,
      );
      expect(lost).toEqual(['frozen']);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
