import { request } from 'node:http';
import type { ExecutionResultDto } from '../../apps/sandbox/src/execution/dto/execution-result.dto';
import { postRaw, startLivenessProbe } from '../support/liveness-probe';
import { ServiceProcess } from '../support/separate-service';
import { SandboxApp, run, startSandboxApp } from '../support/sandbox-app';

const MIB = 1024 * 1024;

/** `{"code": code, "input_data": {"items": [{}, {}, …]}}`, just under 4 MiB: the densest input. */
function denseBody(code: string): Buffer {
  const items = new Array(1_300_000).fill('{}').join(',');
  return Buffer.from(`{"code":${JSON.stringify(code)},"input_data":{"items":[${items}]}}`);
}

function postlessGet(url: string): Promise<{ status: number; body: string }> {
  return fetch(url).then(async (response) => ({
    status: response.status,
    body: await response.text(),
  }));
}

function deleteExecution(url: string, id: string): Promise<number> {
  return fetch(`${url}/execution/${id}`, { method: 'DELETE' }).then((response) => response.status);
}

function nested(depth: number): string {
  return '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
}

describe('Hostile request bodies cost bounded memory and CPU', () => {
  let sandbox: SandboxApp;

  beforeAll(async () => {
    sandbox = await startSandboxApp({
      MAX_CONCURRENT_EXECUTIONS: '2',
      MAX_QUEUED_EXECUTIONS: '30',
      MAX_INPUT_DEPTH: '64',
    });
  });
  afterAll(() => sandbox.close());

  it('runs a dense 4 MB input_data, and the code sees all of it', async () => {
    const response = await postRaw(
      `${sandbox.url}/execute?wait=true`,
      denseBody('print(len(input_data["items"]))'),
    );
    expect(response.status).toBe(200);
    const result = JSON.parse(response.body) as ExecutionResultDto;
    expect(result).toMatchObject({ status: 'completed', output: '1300000\n' });
  });

  it('holds 30 dense 4 MB requests queued with bounded RSS and a live service', async () => {
    // Its own process, so that its RSS and event-loop stalls are not the client's.
    const service = await ServiceProcess.start({
      MAX_CONCURRENT_EXECUTIONS: '2',
      MAX_QUEUED_EXECUTIONS: '30',
    });
    const body = denseBody('import time\ntime.sleep(30)');
    try {
      const idle = service.memory();
      service.resetPeak();
      await service.loopDelay(); // starts the measured window here
      const probe = startLivenessProbe(service.url);
      const answers = await Promise.all(
        Array.from({ length: 30 }, () => postRaw(`${service.url}/execute`, body)),
      );
      // Listing and health while they wait: summaries only, nothing bulky is loaded.
      const listing = await postlessGet(`${service.url}/executions?limit=100`);
      const health = await postlessGet(`${service.url}/health`);
      const liveness = await probe();
      const loop = await service.loopDelay();
      const { peak } = service.memory();
      const ids = answers.map(
        (answer) => (JSON.parse(answer.body) as { execution_id: string }).execution_id,
      );
      await Promise.all(ids.map((id) => deleteExecution(service.url, id)));
      console.log(
        'thirty dense requests, service in its own process:',
        JSON.stringify({
          idleRssMb: idle.rss / MIB,
          peakRssMb: peak / MIB,
          serviceLoopStallMaxMs: loop.maxStallMs,
          serviceLoopStallP99Ms: loop.p99StallMs,
          liveMaxMs: liveness.maxLatencyMs,
          probes: liveness.probes,
        }),
      );
      expect(answers.map((answer) => answer.status)).toEqual(new Array(30).fill(202));
      expect(listing.status).toBe(200);
      expect((JSON.parse(listing.body) as { total: number }).total).toBe(30);
      expect(health.status).toBe(200);
      // The README's bound: bodies in flight (32 × 4 MiB, three times) + 2 running jobs × 17 MiB.
      expect(peak - idle.rss).toBeLessThan((32 * 4 * 3 + 2 * 17) * MIB);
      // Stalls of seconds were the defect. The bound leaves room for a loaded 2-core CI
      // machine (99–274 ms seen); the bench reports the figures against 100 ms.
      expect(loop.maxStallMs).toBeLessThan(1000);
    } finally {
      await service.stop();
    }
    expect((await run(sandbox.http, { code: 'print("next")' })).output).toBe('next\n');
  });

  it('refuses input_data nested 8,000 levels deep with a 400 that says so', async () => {
    const response = await postRaw(
      `${sandbox.url}/execute`,
      Buffer.from(`{"code":"pass","input_data":${nested(8000)}}`),
    );
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({ code: 'JSON_TOO_DEEP' });
    expect(response.body).toContain('input_data is nested deeper than 64 levels');
  });

  it('accepts input_data exactly MAX_INPUT_DEPTH deep and refuses one level more', async () => {
    const code = 'd, n = input_data, 1\nwhile d:\n    d, n = d["a"], n + 1\nprint(n)';
    const ok = await postRaw(
      `${sandbox.url}/execute?wait=true`,
      Buffer.from(`{"code":${JSON.stringify(code)},"input_data":${nested(64)}}`),
    );
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ status: 'completed', output: '64\n' });

    const deeper = await postRaw(
      `${sandbox.url}/execute`,
      Buffer.from(`{"code":"pass","input_data":${nested(65)}}`),
    );
    expect(deeper.status).toBe(400);
  });

  it('never answers 5xx to a deep or dense body on the other routes', async () => {
    const deep = await postRaw(
      `${sandbox.url}/adjust-processor`,
      Buffer.from(`{"processor_id":"p","adjustments":${nested(8000)},"reason":"r"}`),
    );
    expect(deep.status).toBe(400);
    const dense = await postRaw(
      `${sandbox.url}/adjust-processor`,
      Buffer.from(
        `{"processor_id":"p","reason":"r","adjustments":{"x":[${new Array(1_000_000).fill('{}').join(',')}]}}`,
      ),
    );
    expect(dense.status).toBe(413);
    const wholeBodyDeep = await postRaw(`${sandbox.url}/execute`, Buffer.from('['.repeat(9000)));
    expect(wholeBodyDeep.status).toBe(400);
    const notJson = await postRaw(`${sandbox.url}/execute`, Buffer.from('{"code": "x",'));
    expect(notJson.status).toBe(400);
    expect(JSON.parse(notJson.body)).toMatchObject({ code: 'MALFORMED_JSON' });
  });

  it('holds at most MAX_CONCURRENT_UPLOADS bodies: slow senders cannot pile up', async () => {
    const small = await startSandboxApp({ MAX_CONCURRENT_UPLOADS: '2' });
    const trickles = [0, 1].map(() => {
      const req = request(`${small.url}/execute`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': 1_000_000 },
      });
      req.on('error', () => undefined);
      req.write('{"code": "');
      return req;
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const refused = await postRaw(`${small.url}/execute`, Buffer.from('{"code":"print(1)"}'));
      expect(refused.status).toBe(503);
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'TOO_MANY_UPLOADS' });
      expect(refused.headers['retry-after']).toBeDefined();
      await small.http.get('/health/live').expect(200);

      trickles.forEach((req) => req.destroy());
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await run(small.http, { code: 'print("room again")' })).output).toBe('room again\n');
    } finally {
      trickles.forEach((req) => req.destroy());
      await small.close();
    }
  });

  it('refuses input_data that is not an object', async () => {
    const response = await sandbox.http
      .post('/execute')
      .send({ code: 'pass', input_data: [1, 2] })
      .expect(400);
    expect(JSON.stringify(response.body)).toContain('input_data must be a JSON object');
  });

  it('shows the input in the debug record exactly as it was sent', async () => {
    const input = '{"b": [1, 2.50], "a": {"x": null}}';
    const answer = await postRaw(
      `${sandbox.url}/execute?wait=true`,
      Buffer.from(`{"code":"print(input_data['b'])","input_data":${input}}`),
    );
    const id = (JSON.parse(answer.body) as ExecutionResultDto).execution_id;
    const debug = await sandbox.http.get(`/debug/${id}`).expect(200);
    expect(debug.text).toContain(`"input_data":${input}`);
    expect(debug.body).toMatchObject({
      input_data: { b: [1, 2.5], a: { x: null } },
      pruned: false,
    });
  });
});
