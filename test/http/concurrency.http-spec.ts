import { Deferred } from '@brain-net/runner/testing/scripted-runner';
import type { ExecutionResultDto } from '../../apps/sandbox/src/execution/dto/execution-result.dto';
import { ScriptedSandboxApp, startScriptedSandboxApp, waitForStatus } from '../support/sandbox-app';

const SLEEPER = 'import time\ntime.sleep(2)';

/** MAX_CONCURRENT_EXECUTIONS run at once, the rest wait in FIFO order, a full queue says 429. */
describe('Concurrency cap and queue (MAX_CONCURRENT_EXECUTIONS=2, MAX_QUEUED_EXECUTIONS=2)', () => {
  let sandbox: ScriptedSandboxApp;

  beforeAll(async () => {
    sandbox = await startScriptedSandboxApp({
      MAX_CONCURRENT_EXECUTIONS: '2',
      MAX_QUEUED_EXECUTIONS: '2',
    });
  });

  afterAll(() => sandbox.close());

  async function submit(code: string): Promise<string> {
    const response = await sandbox.http.post('/execute').send({ code }).expect(202);
    return (response.body as { execution_id: string }).execution_id;
  }

  it('runs two at once, queues two in order, refuses the fifth with Retry-After', async () => {
    // Each job runs until the spec ends it, in the order sleeps of 1, 3, 1 and 1 s would
    // end: the first frees a slot for the third, the third one for the fourth. So the
    // order the queued two start in is the order the scheduler picked them.
    const jobs = [1, 3, 1, 1].map((seconds, index) => ({
      code: `import time\ntime.sleep(${seconds})  # job ${index}`,
      ends: new Deferred(),
    }));
    const ids: string[] = [];
    for (const { code, ends } of jobs) {
      sandbox.runner.script(code, { hold: ends });
      ids.push(await submit(code));
    }

    const refused = await sandbox.http.post('/execute').send({ code: SLEEPER }).expect(429);
    expect(refused.body).toMatchObject({ code: 'QUEUE_FULL' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);

    // Sample the statuses at every step: never more than two running. A sample's reads are
    // not one snapshot, so none is taken while a slot changes hands: it could count the
    // job that ends and the one that starts as running together.
    let maxRunning = 0;
    let results: ExecutionResultDto[] = [];
    const sampleUntil = async (done: (statuses: string[]) => boolean): Promise<void> => {
      for (;;) {
        results = await Promise.all(
          ids.map(
            async (id) => (await sandbox.http.get(`/execution/${id}`)).body as ExecutionResultDto,
          ),
        );
        maxRunning = Math.max(maxRunning, results.filter((r) => r.status === 'running').length);
        if (done(results.map((r) => r.status))) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const endAndStart = async (ending: number, starting: number): Promise<void> => {
      jobs[ending].ends.resolve();
      await sandbox.runner.whenStarted(jobs[starting].code);
      await sampleUntil((statuses) => statuses[starting] === 'running');
    };
    await sampleUntil((statuses) => statuses[0] === 'running' && statuses[1] === 'running');
    await endAndStart(0, 2);
    // Start times are in ms: the fourth starts in a later one than the third.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await endAndStart(2, 3);
    jobs[1].ends.resolve();
    jobs[3].ends.resolve();
    await sampleUntil((statuses) => statuses.every((status) => status === 'completed'));
    expect(maxRunning).toBe(2);
    expect(sandbox.runner.maxConcurrency).toBe(2);

    const starts = results.map((r) => Date.parse(r.start_time ?? ''));
    // The queued two started after a running one ended, and in the order they came.
    expect(starts[2]).toBeGreaterThanOrEqual(
      Math.min(...results.slice(0, 2).map((r) => Date.parse(r.end_time ?? ''))),
    );
    expect(starts[2]).toBeLessThan(starts[3]);
  });

  it('cancels a queued execution without ever starting it', async () => {
    const sleepersEnd = new Deferred();
    sandbox.runner.script(SLEEPER, { hold: sleepersEnd });
    const running = [await submit(SLEEPER), await submit(SLEEPER)];
    const queued = await submit('print("never")');
    const cancelled = await sandbox.http.delete(`/execution/${queued}`).expect(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', start_time: null, output: '' });

    sleepersEnd.resolve();
    for (const id of running) await waitForStatus(sandbox.http, id, (s) => s === 'completed');
    const after = await sandbox.http.get(`/execution/${queued}`).expect(200);
    expect(after.body).toMatchObject({ status: 'cancelled', output: '' });
    expect(sandbox.runner.jobs.map((job) => job.jobId)).not.toContain(queued);
  });
});
