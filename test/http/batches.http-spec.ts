import type { BatchAcceptedDto, BatchDto } from '../../apps/sandbox/src/batch/dto/batch.dto';
import type { ExecutionListDto } from '../../apps/sandbox/src/execution/dto/execution-result.dto';
import { ScriptedSandboxApp, startScriptedSandboxApp, startSleeper } from '../support/sandbox-app';

/** POST /executions/batch, GET and DELETE /batches/{id}, over HTTP (scripted runner). */
describe('Batches over HTTP (scripted runner)', () => {
  let sandbox: ScriptedSandboxApp;

  beforeAll(async () => {
    sandbox = await startScriptedSandboxApp({
      MAX_CONCURRENT_EXECUTIONS: '2',
      MAX_QUEUED_EXECUTIONS: '6',
      MAX_BATCH_SIZE: '8',
    });
  });

  afterAll(() => sandbox.close());

  async function submit(body: Record<string, unknown>, query = ''): Promise<BatchAcceptedDto> {
    const response = await sandbox.http.post(`/executions/batch${query}`).send(body).expect(202);
    expect(response.headers.location).toBe(
      `/batches/${(response.body as BatchAcceptedDto).batch_id}`,
    );
    return response.body as BatchAcceptedDto;
  }

  it('runs one code over each input, each item its own execution with its input, in order', async () => {
    const accepted = await submit({
      code: 'print(input_data["n"])',
      inputs: [0, 1, 2].map((n) => ({ input_data: { n, pad: 'x'.repeat(n) }, stdin: `${n}\n` })),
      timeout: 7,
    });
    expect(accepted.execution_ids).toHaveLength(3);
    const jobs = accepted.execution_ids.map((id) => {
      const job = sandbox.runner.jobs.find((candidate) => candidate.jobId === id);
      if (!job) throw new Error(`no job ${id}`);
      return job;
    });
    // Each input_data reached the runner as the text it was sent as.
    expect(jobs.map((job) => job.inputJson)).toEqual(
      [0, 1, 2].map((n) => JSON.stringify({ n, pad: 'x'.repeat(n) })),
    );
    expect(jobs.map((job) => [job.payload.stdin, job.payload.time_limit_s])).toEqual([
      ['0\n', 7],
      ['1\n', 7],
      ['2\n', 7],
    ]);

    const done = await sandbox.http
      .post('/executions/batch?wait=true')
      .send({ items: [{ code: 'print(1)' }, { code: 'print(2)', debug_mode: false }] })
      .expect(200);
    const batch = done.body as BatchDto;
    expect(batch).toMatchObject({ status: 'finished', total: 2, counts: { completed: 2 } });
    expect(batch.items.map((item) => [item.batch_index, item.status])).toEqual([
      [0, 'completed'],
      [1, 'completed'],
    ]);
    const listed = await sandbox.http.get(`/executions?batch_id=${batch.batch_id}`).expect(200);
    expect((listed.body as ExecutionListDto).items.map((item) => item.batch_index)).toEqual([0, 1]);
  });

  it('refuses a batch whole, naming the bad item, and stores none of it', async () => {
    const before = ((await sandbox.http.get('/executions').expect(200)).body as ExecutionListDto)
      .total;
    const bad = await sandbox.http
      .post('/executions/batch')
      .send({ items: [{ code: 'print(1)' }, { code: 'print(2)', timeout: 100_000 }] })
      .expect(400);
    expect(bad.body).toMatchObject({ code: 'TIMEOUT_OUT_OF_RANGE' });
    expect((bad.body as { errors: { field: string }[] }).errors[0]?.field).toBe('items[1].timeout');
    const deep = { a: { b: { c: { d: { e: { f: { g: {} } } } } } } };
    // Just over MAX_INPUT_DEPTH (64) inside one item: as deep as /execute refuses.
    const tooDeep = await sandbox.http
      .post('/executions/batch')
      .send({ code: 'print(1)', inputs: [{}, { input_data: nest(deep, 57) }] })
      .expect(400);
    expect(tooDeep.body).toMatchObject({ code: 'JSON_TOO_DEEP' });
    await sandbox.http
      .post('/executions/batch')
      .send({ code: 'print(1)', inputs: [{ input_data: nest(deep, 56) }] })
      .expect(202);
    await sandbox.http
      .post('/executions/batch')
      .send({ code: 'x', inputs: [], items: [] })
      .expect(400);
    const tooMany = await sandbox.http
      .post('/executions/batch')
      .send({ code: 'print(1)', inputs: Array.from({ length: 9 }, () => ({})) })
      .expect(400);
    expect(tooMany.body).toMatchObject({ code: 'BATCH_SIZE_OUT_OF_RANGE' });
    const after = ((await sandbox.http.get('/executions').expect(200)).body as ExecutionListDto)
      .total;
    expect(after).toBe(before + 1);
  });

  it('takes a batch only if the queue has room for all of it, then cancels what has not finished', async () => {
    // Two slots run sleepers; the queue holds 6.
    const sleepers = await Promise.all([startSleeper(sandbox.http), startSleeper(sandbox.http)]);
    const full = await sandbox.http
      .post('/executions/batch')
      .send({ code: 'print(1)', inputs: Array.from({ length: 7 }, () => ({})) })
      .expect(429);
    expect(full.body).toMatchObject({ code: 'QUEUE_FULL' });
    const accepted = await submit({
      code: 'print(1)',
      inputs: Array.from({ length: 6 }, () => ({})),
    });
    const waiting = (await sandbox.http.get(`/batches/${accepted.batch_id}`).expect(200))
      .body as BatchDto;
    expect(waiting).toMatchObject({ status: 'running', total: 6, counts: { queued: 6 } });

    const cancelled = (await sandbox.http.delete(`/batches/${accepted.batch_id}`).expect(200))
      .body as BatchDto;
    expect(cancelled).toMatchObject({ status: 'finished', counts: { cancelled: 6 } });
    for (const id of sleepers) await sandbox.http.delete(`/execution/${id}`).expect(200);
    const page = (
      await sandbox.http.get(`/batches/${accepted.batch_id}?page=2&limit=4`).expect(200)
    ).body as BatchDto;
    expect(page.items.map((item) => item.batch_index)).toEqual([4, 5]);
    await sandbox.http.get('/batches/0b5e9c1e-7a2d-4c1f-9e3b-2f6a8d4c1b7e').expect(404);
  });

  it('runs a shared-container batch as one job in one container, each item recorded as its own execution', async () => {
    sandbox.runner.batchScript = {
      items: (item, index) =>
        index === 1
          ? { exit: { exit_code: null, signal: 9 } }
          : { output: [{ stream: 'stdout', data: `${item.inputJson}\n` }] },
    };
    const response = await sandbox.http
      .post('/executions/batch?wait=true')
      .send({
        code: 'print(input_data)',
        inputs: [0, 1, 2].map((n) => ({ input_data: { n } })),
        shared_container: true,
        memory_mb: 64,
      })
      .expect(200);
    const batch = response.body as BatchDto;
    expect(batch).toMatchObject({ status: 'finished', counts: { completed: 2, failed: 1 } });
    expect(batch.items.map((item) => [item.status, item.output])).toEqual([
      ['completed', '{"n":0}\n'],
      ['failed', ''],
      ['completed', '{"n":2}\n'],
    ]);
    expect(batch.items[1]?.error).toMatch(/memory limit of 64 MiB/);
    const job = sandbox.runner.batches.at(-1);
    expect(job?.items.map((item) => item.inputJson)).toEqual(['{"n":0}', '{"n":1}', '{"n":2}']);
    expect(job?.limits.memoryBytes).toBe(64 * 1024 * 1024);
    sandbox.runner.batchScript = {};
  });

  it('cancels a waiting shared-container batch whole, through any of its executions', async () => {
    const sleepers = await Promise.all([startSleeper(sandbox.http), startSleeper(sandbox.http)]);
    const accepted = await submit({
      code: 'print(1)',
      inputs: [{}, {}, {}],
      shared_container: true,
    });
    await sandbox.http.delete(`/execution/${accepted.execution_ids[1]}`).expect(200);
    const batch = (await sandbox.http.get(`/batches/${accepted.batch_id}`).expect(200))
      .body as BatchDto;
    expect(batch).toMatchObject({ status: 'finished', counts: { cancelled: 3 } });
    for (const id of sleepers) await sandbox.http.delete(`/execution/${id}`).expect(200);
    await sandbox.http
      .post('/executions/batch')
      .send({ items: [{ code: 'print(1)' }], shared_container: true })
      .expect(400);
  });

  it('takes a megabyte file inline, in a single request and in a batch item, and refuses a parsed field of too many values with 413', async () => {
    // Four times the 256 KiB a parsed field once was limited to.
    const content = Buffer.alloc(1024 * 1024, 7).toString('base64');
    const accepted = await sandbox.http
      .post('/execute')
      .send({ code: 'print(1)', files: [{ path: 'blob.bin', content, encoding: 'base64' }] })
      .expect(202);
    expect(accepted.body).toMatchObject({ status: expect.any(String) as string });
    await submit({
      code: 'print(1)',
      inputs: [{ files: [{ path: 'b', content, encoding: 'base64' }] }],
    });
    const dense = await sandbox.http
      .post('/execute')
      .send({
        code: 'print(1)',
        files: Array.from({ length: 7000 }, (_, i) => ({ path: `f${i}` })),
      })
      .expect(413);
    expect(dense.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect((dense.body as { detail: string }).detail).toMatch(/files holds 21001 JSON values/);
  });

  it('answers a repeat under the same Idempotency-Key with the first batch', async () => {
    const body = { code: 'print(1)', inputs: [{}, {}] };
    const first = await sandbox.http
      .post('/executions/batch')
      .set('Idempotency-Key', 'batch-key-1')
      .send(body)
      .expect(202);
    const again = await sandbox.http
      .post('/executions/batch')
      .set('Idempotency-Key', 'batch-key-1')
      .send(body)
      .expect(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    await sandbox.http
      .post('/executions/batch')
      .set('Idempotency-Key', 'batch-key-1')
      .send({ ...body, inputs: [{}] })
      .expect(422);
  });
});

/** `inner` wrapped in `levels` more objects. */
function nest(inner: object, levels: number): object {
  let value = inner;
  for (let i = 0; i < levels; i += 1) value = { x: value };
  return value;
}
