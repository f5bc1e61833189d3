import type { ExecutionQueue, QueueRefusal } from '../execution-queue';

/** The limits a contract test asks of the queue it makes. */
export interface ContractQueueLimits {
  /** Jobs this instance runs at once. */
  readonly concurrency: number;
  /** Jobs that may wait, all tenants together. */
  readonly maxWaiting: number;
  /** Jobs of one tenant that may wait; maxWaiting when absent. */
  readonly maxWaitingPerTenant?: number;
}

/** Where the port lets adapters differ, what the adapter under test does. */
export interface ExecutionQueueDifferences {
  /**
   * Whether enqueue() refuses, atomically, a job past its tenant's waiting cap (a shared
   * queue), or takes it all the same, overshooting the cap (the in-process queue, where
   * only refusal() keeps the limits).
   */
  readonly enqueueKeepsTenantCap: boolean;
  /**
   * Whether stopWork() hands back the waiting jobs, which then never run (the in-process
   * queue), or leaves them waiting for other instances' workers (a shared queue).
   */
  readonly stopWorkHandsBackWaiting: boolean;
}

/** How long a job may take to start, or a job's end to show in load(). */
const WAIT_MS = 5000;
/** How long a job that must not start is given to start all the same. */
const SETTLE_MS = 200;

/**
 * What every ExecutionQueue does alike, run by the spec of each adapter, so unit specs
 * over the in-process queue hold for the shared one. `queue` makes the test's queue, with
 * the limits given, empty and not working yet; the spec closes it after the test (after
 * the contract has let every job it runs end).
 */
export function behavesAsAnExecutionQueue(
  queue: (limits: ContractQueueLimits) => ExecutionQueue,
  differences: ExecutionQueueDifferences,
): void {
  describe('as an ExecutionQueue', () => {
    let workers: GatedWorker[] = [];

    afterEach(() => {
      // Every job ends, so that closing the queue need not wait.
      workers.forEach((worker) => worker.releaseAll());
      workers = [];
    });

    /** Makes the queue and works it with handlers that hold each job until let go. */
    function working(limits: ContractQueueLimits): { queue: ExecutionQueue; worker: GatedWorker } {
      const made = queue(limits);
      const worker = new GatedWorker();
      workers.push(worker);
      made.work(
        (id) => worker.run(id),
        (id) => worker.lost.push(id),
      );
      return { queue: made, worker };
    }

    it('runs each job once through the handler, never more than `concurrency` at once', async () => {
      const { queue: q, worker } = working({ concurrency: 2, maxWaiting: 10 });
      expect(await q.load()).toEqual({ waiting: 0, running: 0 });
      const ids = ['j1', 'j2', 'j3', 'j4', 'j5'];
      for (const [i, id] of ids.entries()) {
        expect(await q.enqueue(id, i % 2 === 0 ? 'tenant-a' : 'tenant-b')).toBeNull();
      }

      await waitFor('two jobs to run', () => worker.active === 2);
      // Give a third job every chance to start, were the limit not kept.
      await sleep(SETTLE_MS);
      expect(worker.active).toBe(2);
      expect(await q.load()).toEqual({ waiting: 3, running: 2 });
      // Per tenant, if the queue knows: the same jobs, split by tenant.
      const tenants = q.tenantLoads();
      if (tenants !== null) {
        expect(tenants.reduce((sum, load) => sum + load.running, 0)).toBe(2);
        expect(tenants.reduce((sum, load) => sum + load.queued, 0)).toBe(3);
      }

      worker.releaseAll();
      await waitFor('every job to run', () => worker.ended.length === ids.length);
      await waitForLoad(q, { waiting: 0, running: 0 });
      await sleep(SETTLE_MS);
      expect([...worker.started].sort()).toEqual(ids);
      expect(worker.mostActive).toBe(2);
      expect(worker.lost).toEqual([]);
    });

    it("refuses by the whole queue's cap first, then by the tenant's, and holds nothing for it", async () => {
      const { queue: q, worker } = working({
        concurrency: 1,
        maxWaiting: 3,
        maxWaitingPerTenant: 2,
      });
      expect(await q.enqueue('running', 'tenant-a')).toBeNull();
      await waitFor('the first job to run', () => worker.active === 1);

      expect(await q.refusal('tenant-a')).toBeNull();
      expect(await q.enqueue('a1', 'tenant-a')).toBeNull();
      expect(await q.enqueue('a2', 'tenant-a')).toBeNull();
      expect(await q.refusal('tenant-a')).toBe('tenant-queue-full');
      // Another tenant still gets in; asking again and again changes nothing.
      for (let i = 0; i < 3; i += 1) expect(await q.refusal('tenant-b')).toBeNull();
      expect(await q.enqueue('b1', 'tenant-b')).toBeNull();

      // Every place taken: the whole queue is full, whichever tenant asks.
      for (const tenant of ['tenant-a', 'tenant-b', 'tenant-c']) {
        expect(await q.refusal(tenant)).toBe<QueueRefusal>('queue-full');
      }
      expect(await q.load()).toEqual({ waiting: 3, running: 1 });

      // A place given back is free again.
      expect(await q.withdraw('b1')).toBe(true);
      expect(await q.refusal('tenant-c')).toBeNull();
      expect(await q.refusal('tenant-a')).toBe('tenant-queue-full');
      expect(await q.withdraw('a1')).toBe(true);
      expect(await q.refusal('tenant-a')).toBeNull();
    });

    it('takes a batch only when every one of its jobs fits: all or none', async () => {
      const { queue: q, worker } = working({
        concurrency: 1,
        maxWaiting: 4,
        maxWaitingPerTenant: 3,
      });
      expect(await q.enqueue('running', 'tenant-a')).toBeNull();
      await waitFor('the first job to run', () => worker.active === 1);

      expect(await q.refusal('tenant-a', 3)).toBeNull();
      expect(await q.refusal('tenant-a', 4)).toBe('tenant-queue-full');
      expect(await q.enqueue('a1', 'tenant-a')).toBeNull();
      expect(await q.refusal('tenant-a', 2)).toBeNull();
      expect(await q.refusal('tenant-a', 3)).toBe('tenant-queue-full');
      expect(await q.refusal('tenant-b', 3)).toBeNull();
      expect(await q.refusal('tenant-b', 4)).toBe<QueueRefusal>('queue-full');
      worker.releaseAll();
    });

    it(
      differences.enqueueKeepsTenantCap
        ? 'refuses at enqueue a job past its tenant’s waiting cap'
        : 'takes at enqueue a job past its tenant’s waiting cap, overshooting it',
      async () => {
        const { queue: q, worker } = working({
          concurrency: 1,
          maxWaiting: 10,
          maxWaitingPerTenant: 1,
        });
        expect(await q.enqueue('running', 'tenant-a')).toBeNull();
        await waitFor('the first job to run', () => worker.active === 1);
        expect(await q.enqueue('a1', 'tenant-a')).toBeNull();
        expect(await q.refusal('tenant-a')).toBe('tenant-queue-full');

        const refusal = await q.enqueue('a2', 'tenant-a');

        const kept = differences.enqueueKeepsTenantCap;
        expect(refusal).toBe(kept ? 'tenant-queue-full' : null);
        expect(await q.load()).toEqual({ waiting: kept ? 1 : 2, running: 1 });
        // Another tenant is not held back by it.
        expect(await q.enqueue('b1', 'tenant-b')).toBeNull();

        const expected = kept ? ['running', 'a1', 'b1'] : ['running', 'a1', 'a2', 'b1'];
        worker.releaseAll();
        await waitFor('every job to run', () => worker.ended.length === expected.length);
        await waitForLoad(q, { waiting: 0, running: 0 });
        await sleep(SETTLE_MS);
        expect([...worker.started].sort()).toEqual([...expected].sort());
      },
    );

    it('withdraws a waiting job, which then never runs, and no job that started or is unknown', async () => {
      const { queue: q, worker } = working({
        concurrency: 1,
        maxWaiting: 10,
        maxWaitingPerTenant: 1,
      });
      expect(await q.enqueue('running', 'tenant-a')).toBeNull();
      await waitFor('the first job to run', () => worker.active === 1);
      expect(await q.enqueue('waiting', 'tenant-a')).toBeNull();
      expect(await q.refusal('tenant-a')).toBe('tenant-queue-full');

      expect(await q.withdraw('waiting')).toBe(true);
      expect(await q.withdraw('waiting')).toBe(false);
      expect(await q.withdraw('running')).toBe(false);
      expect(await q.withdraw('unknown')).toBe(false);
      expect(await q.load()).toEqual({ waiting: 0, running: 1 });
      // Its place is free again.
      expect(await q.refusal('tenant-a')).toBeNull();
      expect(await q.enqueue('later', 'tenant-a')).toBeNull();

      worker.releaseAll();
      await waitFor('the later job to run', () => worker.ended.includes('later'));
      await waitForLoad(q, { waiting: 0, running: 0 });
      await sleep(SETTLE_MS);
      expect(worker.started).toEqual(['running', 'later']);
      // A job that ended cannot be withdrawn either.
      expect(await q.withdraw('running')).toBe(false);
    });

    it(
      differences.stopWorkHandsBackWaiting
        ? 'stops taking jobs, hands back the waiting ones and lets the running ones end'
        : 'stops taking jobs, leaves the waiting ones waiting and lets the running ones end',
      async () => {
        const { queue: q, worker } = working({ concurrency: 1, maxWaiting: 10 });
        expect(await q.enqueue('running', 'tenant-a')).toBeNull();
        await waitFor('the first job to run', () => worker.active === 1);
        expect(await q.enqueue('w1', 'tenant-a')).toBeNull();
        expect(await q.enqueue('w2', 'tenant-b')).toBeNull();

        const handedBack = await q.stopWork();

        const handsBack = differences.stopWorkHandsBackWaiting;
        expect(handedBack).toEqual(handsBack ? ['w1', 'w2'] : []);
        expect(await q.load()).toEqual({ waiting: handsBack ? 0 : 2, running: 1 });

        // The running job goes on to its end; no other starts after it.
        worker.open('running');
        await waitFor('the running job to end', () => worker.active === 0);
        await waitForLoad(q, { waiting: handsBack ? 0 : 2, running: 0 });
        await sleep(SETTLE_MS);
        expect(worker.started).toEqual(['running']);
        expect(worker.ended).toEqual(['running']);
        // Then it lets go of what it holds.
        await expect(q.close()).resolves.toBeUndefined();
      },
    );
  });
}

/** A job handler that holds each job until the test lets it go, and keeps count. */
class GatedWorker {
  readonly started: string[] = [];
  readonly ended: string[] = [];
  readonly lost: string[] = [];
  active = 0;
  mostActive = 0;
  private readonly gates = new Map<string, () => void>();
  private allOpen = false;

  async run(id: string): Promise<void> {
    this.started.push(id);
    this.active += 1;
    this.mostActive = Math.max(this.mostActive, this.active);
    try {
      if (!this.allOpen) await new Promise<void>((resolve) => this.gates.set(id, resolve));
    } finally {
      this.active -= 1;
      this.ended.push(id);
    }
  }

  open(id: string): void {
    this.gates.get(id)?.();
    this.gates.delete(id);
  }

  /** Lets every job that runs now go on. */
  openAll(): void {
    for (const id of [...this.gates.keys()]) this.open(id);
  }

  /** From now on, jobs run through without being held (for the end of a test). */
  releaseAll(): void {
    this.allOpen = true;
    this.openAll();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function waitForLoad(
  queue: ExecutionQueue,
  expected: { waiting: number; running: number },
): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const load = await queue.load();
    if (load.waiting === expected.waiting && load.running === expected.running) return;
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out waiting for load ${JSON.stringify(expected)}, still ${JSON.stringify(load)}`,
      );
    }
    await sleep(5);
  }
}
