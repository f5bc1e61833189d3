import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { startRedisServer, type RedisServer } from '@brain-net/testing';
import type { ExecutionResultDto } from '../apps/sandbox/src/execution/dto/execution-result.dto';
import { openEventStream } from './support/event-stream';
import { containerCountOf } from './support/sandbox-app';
import { ServiceProcess } from './support/separate-service';
import { eventually } from './support/eventually';

/** Cluster mode: a silent worker's job is declared lost after this, plus one stalled-job check. */
const LOST_AFTER_MS = 3000;
/** The bound a user may rely on: the lock, one check interval (≤ the lock) and some slack. */
const LOST_BOUND_MS = 2 * LOST_AFTER_MS + 6000;
const SLEEPER = "import time\nprint('started', flush=True)\ntime.sleep(60)";

type Body = Record<string, unknown>;

/**
 * Two service instances in processes of their own, one real Redis (append-only), one
 * Docker engine: several instances act as one service.
 */
describe('Cluster mode (REDIS_URL): two instances act as one service', () => {
  const run = randomUUID().slice(0, 6);
  let redis: RedisServer;
  const instances = new Map<string, ServiceProcess>();
  const names = [`cluster-a-${run}`, `cluster-b-${run}`] as const;

  const envOf = (instanceId: string, extra: Record<string, string> = {}) => ({
    REDIS_URL: redis.url,
    SANDBOX_INSTANCE_ID: instanceId,
    WORKER_LOST_AFTER_MS: String(LOST_AFTER_MS),
    MAX_CONCURRENT_EXECUTIONS: '2',
    ...extra,
  });
  const http = (instanceId: string) => {
    const service = instances.get(instanceId);
    if (!service) throw new Error(`${instanceId} is not running`);
    return request(service.url);
  };
  const [a, b] = names;

  const submit = async (instanceId: string, body: Body): Promise<string> => {
    const response = await http(instanceId).post('/execute').send(body).expect(202);
    return (response.body as { execution_id: string }).execution_id;
  };
  const read = async (instanceId: string, id: string): Promise<ExecutionResultDto> =>
    (await http(instanceId).get(`/execution/${id}`).expect(200)).body as ExecutionResultDto;
  const finished = (instanceId: string, id: string, timeoutMs = 60_000) =>
    eventually(
      async () => {
        const record = await read(instanceId, id);
        return ['queued', 'running'].includes(record.status) ? undefined : record;
      },
      timeoutMs,
      `execution ${id} to finish`,
    );
  /** The instance whose worker runs the execution: the one with a container for it. */
  const runnerOf = async (id: string): Promise<string> => {
    await eventually(
      async () => ((await read(a, id)).status === 'running' ? true : undefined),
      30_000,
      `execution ${id} to run`,
    );
    for (const name of names) if ((await containerCountOf(name)) > 0) return name;
    throw new Error(`no instance has a container for ${id}`);
  };

  beforeAll(async () => {
    redis = await startRedisServer();
    const started = await Promise.all(names.map((name) => ServiceProcess.start(envOf(name))));
    names.forEach((name, i) => instances.set(name, started[i]));
  }, 180_000);

  afterAll(async () => {
    await Promise.all([...instances.values()].map((service) => service.stop()));
    await redis?.destroy();
  }, 120_000);

  it('runs a job submitted on A, and B reads, lists, debugs and streams it', async () => {
    const code =
      "import time\nfor i in range(4):\n    print('line', i, flush=True)\n    time.sleep(0.4)\nanswer = 41 + 1";
    const id = await submit(a, { code });
    // A late joiner on B: it gets what was printed so far, then the rest, each once.
    await eventually(
      async () => ((await read(b, id)).status === 'running' ? true : undefined),
      30_000,
      'the job to start',
    );
    await new Promise((resolve) => setTimeout(resolve, 600));
    const stream = await openEventStream(`${instances.get(b)?.url}/execution/${id}/stream`);
    const events = await stream.events;
    const printed = events
      .filter((event) => event.event === 'output')
      .map((event) => (event.data as { data: string }).data)
      .join('');
    expect(printed).toBe('line 0\nline 1\nline 2\nline 3\n');
    expect(events.at(-1)).toMatchObject({ event: 'result', data: { status: 'completed' } });

    const record = await read(b, id);
    expect(record).toMatchObject({
      status: 'completed',
      output: 'line 0\nline 1\nline 2\nline 3\n',
    });
    const list = await http(b).get('/executions?limit=50').expect(200);
    expect(
      (list.body as { items: { execution_id: string }[] }).items.map((item) => item.execution_id),
    ).toContain(id);
    const debug = await http(b).get(`/debug/${id}`).expect(200);
    expect(debug.body).toMatchObject({ code, variables_after: { answer: { value: 42 } } });
  });

  it('reads on every instance a file uploaded on one, and serves the files a job wrote from any', async () => {
    const csv = 'x\n1\n2\n3\n';
    const uploaded = await http(a)
      .post('/files?name=numbers.csv')
      .set('Content-Type', 'text/csv')
      .send(csv)
      .expect(201);
    const fileId = (uploaded.body as { file_id: string }).file_id;
    await http(b).get(`/files/${fileId}`).expect(200);
    const code =
      'import pandas as pd, os\nos.makedirs("out")\n' +
      'pd.read_csv("numbers.csv").x.cumsum().to_csv("out/sums.csv", index=False)';
    const ids = await Promise.all(
      [a, b].map((name) =>
        submit(name, { code, files: [{ path: 'numbers.csv', file_id: fileId }] }),
      ),
    );
    for (const id of ids) {
      const result = await finished(b, id);
      expect(result).toMatchObject({
        status: 'completed',
        files: [{ path: 'sums.csv', size: 8 }],
      });
      const sums = await http(a).get(`/execution/${id}/files/sums.csv`).expect(200);
      expect(sums.text).toBe('x\n1\n3\n6\n');
    }
  });

  it('answers 404 on every instance for an id with a key suffix, before any Redis read', async () => {
    const id = await submit(a, { code: 'print(1)' });
    await finished(a, id);
    for (const suffix of [':input', ':summary', ':links']) {
      for (const instance of names) {
        for (const route of ['execution', 'debug']) {
          const answer = await http(instance).get(`/${route}/${id}${suffix}`);
          expect([suffix, route, answer.status]).toEqual([suffix, route, 404]);
          expect((answer.body as { code: string }).code).toBe('EXECUTION_NOT_FOUND');
        }
      }
    }
  });

  it('cancels from one instance a job that runs on the other, and its container goes', async () => {
    const id = await submit(a, { code: SLEEPER, timeout: 120 });
    const runner = await runnerOf(id);
    const other = runner === a ? b : a;
    const started = Date.now();
    const cancelled = await http(other).delete(`/execution/${id}`).expect(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled' });
    expect(Date.now() - started).toBeLessThan(15_000);
    await eventually(
      async () => ((await containerCountOf(runner, 'all')) === 0 ? true : undefined),
      15_000,
      'the container to go',
    );
    expect(await read(runner, id)).toMatchObject({ status: 'cancelled' });
  });

  it('keeps a job recorded failed while its worker was frozen failed once it wakes, and that worker stops its container', async () => {
    const id = await submit(a, { code: SLEEPER, timeout: 120 });
    const runner = await runnerOf(id);
    const survivor = runner === a ? b : a;
    const frozen = instances.get(runner);
    if (!frozen) throw new Error(`${runner} is not running`);
    process.kill(frozen.pid, 'SIGSTOP');
    let lost: ExecutionResultDto;
    try {
      lost = await finished(survivor, id, LOST_BOUND_MS + 10_000);
    } finally {
      process.kill(frozen.pid, 'SIGCONT');
    }
    expect(lost).toMatchObject({ status: 'failed' });
    expect(lost.error).toContain('worker running this execution was lost');

    // The woken worker finds its lock gone: it stops the job, whose container goes.
    await eventually(
      async () => ((await containerCountOf(runner, 'all')) === 0 ? true : undefined),
      15_000,
      'the woken worker to remove its container',
    );
    for (const instance of names) expect(await read(instance, id)).toEqual(lost);
  });

  it('runs the code once for one Idempotency-Key sent to A and B at the same moment', async () => {
    const key = `twin-${randomUUID()}`;
    const body = { code: 'print("once")' };
    const answers = await Promise.all(
      [a, b, a, b].map((instanceId) =>
        http(instanceId).post('/execute?wait=true').set('Idempotency-Key', key).send(body),
      ),
    );
    const ids = new Set(
      answers.map((answer) => (answer.body as { execution_id: string }).execution_id),
    );
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    expect(ids.size).toBe(1);
    const list = await http(a).get('/executions?limit=100').expect(200);
    const mine = (list.body as { items: { execution_id: string }[] }).items.filter((item) =>
      ids.has(item.execution_id),
    );
    expect(mine).toHaveLength(1);
  });

  it('records a job whose worker was SIGKILLed as failed within the bound; the restart sweeps its container', async () => {
    const id = await submit(a, { code: SLEEPER, timeout: 120 });
    const runner = await runnerOf(id);
    const survivor = runner === a ? b : a;
    await instances.get(runner)?.kill();
    instances.delete(runner);
    const killedAt = Date.now();

    const record = await finished(survivor, id, LOST_BOUND_MS + 10_000);
    const lostAfterMs = Date.now() - killedAt;
    console.log(`worker lost: recorded after ${lostAfterMs} ms (bound ${LOST_BOUND_MS} ms)`);
    expect(record.status).toBe('failed');
    expect(record.error).toContain('worker running this execution was lost');
    expect(lostAfterMs).toBeLessThan(LOST_BOUND_MS);
    // The killed instance's container outlived it, until that instance comes back.
    expect(await containerCountOf(runner)).toBeGreaterThan(0);
    instances.set(runner, await ServiceProcess.start(envOf(runner)));
    expect(await containerCountOf(runner)).toBe(0);
    expect(await read(runner, id)).toMatchObject({ status: 'failed' });
  });

  it('answers 503 while Redis is down, turns readiness red, and finishes every accepted job when it returns', async () => {
    const code = "import time\ntime.sleep(1.5)\nprint('done')";
    const ids = await Promise.all(
      [a, b, a, b, a, b].map((instanceId) => submit(instanceId, { code })),
    );

    await redis.stop();
    const refused = await http(a).post('/execute').send({ code: 'print(1)' });
    expect(refused.status).toBe(503);
    expect(['QUEUE_UNAVAILABLE', 'STORE_UNAVAILABLE']).toContain(
      (refused.body as { code: string }).code,
    );
    const ready = await http(b).get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ error: { redis: { status: 'down' } } });
    await http(b).get('/health/live').expect(200);
    // An outage shorter than what is left of a job's lock (renewed every LOST_AFTER_MS / 2):
    // a longer one loses the running jobs' workers, recorded failed by design.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await redis.restart();

    await eventually(
      async () => ((await http(a).get('/health/ready')).status === 200 ? true : undefined),
      30_000,
      'readiness to turn green again',
    );
    const records = await Promise.all(ids.map((id) => finished(b, id, 90_000)));
    expect(records.map((record) => [record.status, record.output])).toEqual(
      ids.map(() => ['completed', 'done\n']),
    );
  });

  it('runs an api-only instance without any engine: ready, and its submits run on the workers', async () => {
    const api = `cluster-api-${run}`;
    instances.set(
      api,
      await ServiceProcess.start(envOf(api, { ROLE: 'api', DOCKER_HOST: 'tcp://127.0.0.1:9' })),
    );
    const ready = await http(api).get('/health/ready').expect(200);
    expect(ready.body).not.toHaveProperty('details.docker_engine');
    const done = await http(api)
      .post('/execute?wait=true')
      .send({ code: 'print(6 * 7)' })
      .expect(200);
    expect(done.body).toMatchObject({ status: 'completed', output: '42\n' });
  });
});
