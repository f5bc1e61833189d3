import type { ExecutionResultDto } from '../../apps/sandbox/src/execution/dto/execution-result.dto';
import { postRaw, startLivenessProbe } from '../support/liveness-probe';
import { SandboxApp, run, startSandboxApp, waitForStatus } from '../support/sandbox-app';

const MIB = 1024 * 1024;

/** `{"code": code, "input_data": {"items": [{}, {}, …]}}`, just under 4 MiB: the densest input. */
function denseBody(code: string): Buffer {
  const items = new Array(1_300_000).fill('{}').join(',');
  return Buffer.from(`{"code":${JSON.stringify(code)},"input_data":{"items":[${items}]}}`);
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

  it('runs a dense 4 MB input_data without stalling liveness, and the code sees all of it', async () => {
    const probe = startLivenessProbe(sandbox.url);
    const response = await postRaw(
      `${sandbox.url}/execute?wait=true`,
      denseBody('print(len(input_data["items"]))'),
    );
    const figures = await probe();
    console.log('dense input, one request:', JSON.stringify(figures));
    expect(response.status).toBe(200);
    const result = JSON.parse(response.body) as ExecutionResultDto;
    expect(result).toMatchObject({ status: 'completed', output: '1300000\n' });
    // A stall of seconds was the defect; the figure itself goes to the closing note.
    expect(figures.maxLatencyMs).toBeLessThan(250);
  });

  it('holds 30 dense 4 MB requests queued with bounded RSS and a live service', async () => {
    const body = denseBody('import time\ntime.sleep(30)');
    const rssBefore = process.memoryUsage().rss;
    const probe = startLivenessProbe(sandbox.url);
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => postRaw(`${sandbox.url}/execute`, body)),
    );
    // Listing and health while they wait: summaries only, nothing bulky is loaded.
    const listing = await sandbox.http.get('/executions?limit=100').expect(200);
    await sandbox.http.get('/health').expect(200);
    const figures = await probe();
    const ids = answers.map(
      (answer) => (JSON.parse(answer.body) as { execution_id: string }).execution_id,
    );
    // Cancelled before any assertion can fail, so no sleeper outlives this case.
    await Promise.all(ids.map((id) => sandbox.http.delete(`/execution/${id}`)));
    console.log(
      'thirty dense requests:',
      JSON.stringify({
        ...figures,
        rssBeforeMb: rssBefore / MIB,
        peakRssMb: figures.peakRssBytes / MIB,
      }),
    );
    expect(answers.map((answer) => answer.status)).toEqual(new Array(30).fill(202));
    expect((listing.body as { total: number }).total).toBeGreaterThanOrEqual(30);
    expect(figures.maxLatencyMs).toBeLessThan(250);
    // 30 × 4 MB arrived; what stays in memory is bounded far below that.
    expect(figures.peakRssBytes - rssBefore).toBeLessThan(400 * MIB);

    for (const id of ids) await waitForStatus(sandbox.http, id, (status) => status === 'cancelled');
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
