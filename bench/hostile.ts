/**
 * The bench's "Hostile callers" section: thirty dense request bodies just under 4 MiB at
 * once, against the service in a process of its own (ServiceProcess, see
 * test/support/separate-service.ts for how its RSS and event-loop stalls are read), so
 * that its figures are its own and not the client's. The peak RSS is reset before the
 * burst, so it is the burst's and not start-up's.
 * - Liveness: this process asks GET /health/live every 10 ms on a connection of its own;
 *   its own loop stall is printed too, since a late answer can be the client's fault.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { median, percentile, row } from './figures';
import { ServiceProcess } from '../test/support/separate-service';

const BURST = 30;
const ITEMS = 1_300_000;
const PROBE_EVERY_MS = 10;
const IDLE_PROBES = 100;
const LISTING_ROUNDS = 20;
const SANDBOX_LABEL = 'brain-net.sandbox';
const MIB = 2 ** 20;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly ms: number;
}

/** One HTTP exchange with a body sent as is; status 0 when the connection failed. */
function send(method: string, url: string, agent: Agent, body?: Buffer): Promise<Answer> {
  return new Promise((resolve) => {
    const sentAt = performance.now();
    const headers = body
      ? { 'content-type': 'application/json', 'content-length': body.length }
      : undefined;
    const req = request(url, { method, agent, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          ms: performance.now() - sentAt,
        }),
      );
    });
    req.once('error', () => resolve({ status: 0, body: '', ms: performance.now() - sentAt }));
    req.end(body);
  });
}

/** `{"code": ..., "input_data": {"items": [{}, {}, …]}}`: the densest JSON under 4 MiB. */
function denseBody(code: string): Buffer {
  const items = new Array<string>(ITEMS).fill('{}').join(',');
  return Buffer.from(`{"code":${JSON.stringify(code)},"input_data":{"items":[${items}]}}`);
}

/** Sandbox containers on the engine: every instance's, or one instance's. */
function sandboxContainers(instanceId?: string): number {
  const label = instanceId ? `${SANDBOX_LABEL}=${instanceId}` : SANDBOX_LABEL;
  const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=${label}`], {
    encoding: 'utf8',
  });
  return ids.split('\n').filter((id) => id.trim() !== '').length;
}

/** "202×28, 429×2" or "cancelled×30": how many of the values are each. */
function tally(values: (number | string)[]): string {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(String(value), (counts.get(String(value)) ?? 0) + 1);
  return [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([value, count]) => `${value}×${count}`)
    .join(', ');
}

const ms = (value: number) => `${value.toFixed(1)} ms`;
const mib = (bytes: number) => `${(bytes / MIB).toFixed(0)} MiB`;

/**
 * Asks GET /health/live on its own connection, pausing PROBE_EVERY_MS between answers, and
 * samples the service's RSS at each, until stopped.
 */
function startProbing(
  service: ServiceProcess,
  agent: Agent,
): () => Promise<{ latencies: number[]; failures: number; maxRss: number }> {
  const latencies: number[] = [];
  let failures = 0;
  let maxRss = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const answer = await send('GET', `${service.url}/health/live`, agent);
      if (answer.status === 200) latencies.push(answer.ms);
      else failures += 1;
      maxRss = Math.max(maxRss, service.memory().rss);
      await sleep(PROBE_EVERY_MS);
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    return { latencies, failures, maxRss };
  };
}

/** Milliseconds of GET /executions?limit=100, one warm-up then LISTING_ROUNDS, and its size. */
async function timeListing(
  url: string,
  agent: Agent,
): Promise<{ times: number[]; answer: Answer }> {
  let answer = await send('GET', `${url}/executions?limit=100`, agent);
  const times: number[] = [];
  for (let i = 0; i < LISTING_ROUNDS; i++) {
    answer = await send('GET', `${url}/executions?limit=100`, agent);
    if (answer.status !== 200) throw new Error(`GET /executions answered ${answer.status}`);
    times.push(answer.ms);
  }
  return { times, answer };
}

const totalOf = (answer: Answer) => (JSON.parse(answer.body) as { total: number }).total;

/** Polls GET /execution/{id} until none of `ids` is queued or running; their statuses. */
async function settle(
  url: string,
  agent: Agent,
  ids: string[],
  timeoutMs = 60_000,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const statuses = await Promise.all(
      ids.map(async (id) => {
        const answer = await send('GET', `${url}/execution/${id}`, agent);
        return (JSON.parse(answer.body) as { status: string }).status;
      }),
    );
    const pending = statuses.filter((status) => status === 'queued' || status === 'running');
    if (pending.length === 0 || Date.now() > deadline) return statuses;
    await sleep(100);
  }
}

export async function hostileCallers(): Promise<void> {
  console.log(`\nHostile callers (service in its own process, ${BURST} dense bodies at once)`);
  const body = denseBody('import time\ntime.sleep(30)');
  const instanceId = `bench-hostile-${randomUUID().slice(0, 8)}`;
  const containersBefore = sandboxContainers();
  const service = await ServiceProcess.start({
    MAX_CONCURRENT_EXECUTIONS: '2',
    MAX_QUEUED_EXECUTIONS: String(BURST),
    SANDBOX_INSTANCE_ID: instanceId,
  });
  // One connection for probes, one for listings, fresh ones for the bodies.
  const probeAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const listAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const burstAgent = new Agent({ keepAlive: false });
  let stopped: { how: string; ms: number } | undefined;
  try {
    await sleep(1000);
    const idleRss = service.memory().rss;

    await service.loopDelay();
    const idleProbes: number[] = [];
    while (idleProbes.length < IDLE_PROBES) {
      const answer = await send('GET', `${service.url}/health/live`, probeAgent);
      if (answer.status === 200) idleProbes.push(answer.ms);
      await sleep(PROBE_EVERY_MS);
    }
    const idleLoop = await service.loopDelay();
    const emptyListing = await timeListing(service.url, listAgent);

    // The burst: peak and loop windows start now.
    const peakReset = service.resetPeak();
    await service.loopDelay();
    const clientLoop = monitorEventLoopDelay({ resolution: 10 });
    clientLoop.enable();
    const stopProbing = startProbing(service, probeAgent);
    const burstStarted = performance.now();
    const answers = await Promise.all(
      Array.from({ length: BURST }, () => send('POST', `${service.url}/execute`, burstAgent, body)),
    );
    const burstMs = performance.now() - burstStarted;
    const probes = await stopProbing();
    clientLoop.disable();
    const burstLoop = await service.loopDelay();
    const burstMemory = service.memory();
    const peak = peakReset ? burstMemory.peak : probes.maxRss;

    const fullListing = await timeListing(service.url, listAgent);

    const ids = answers
      .filter((answer) => answer.status === 202)
      .map((answer) => (JSON.parse(answer.body) as { execution_id: string }).execution_id);
    const cancels = await Promise.all(
      ids.map((id) => send('DELETE', `${service.url}/execution/${id}`, listAgent)),
    );
    const finalStatuses = await settle(service.url, listAgent, ids);
    const afterCancel = service.memory();

    const idleP99 = percentile(idleProbes, 99);
    const burstP99 = percentile(probes.latencies, 99);
    row('service RSS at idle', mib(idleRss), "ts-node's compiler included");
    row(
      'GET /health/live at idle, median',
      ms(median(idleProbes)),
      `${idleProbes.length} probes, ${PROBE_EVERY_MS} ms apart`,
    );
    row('GET /health/live at idle, p99', ms(idleP99));
    row('service event-loop stall at idle, max', ms(idleLoop.maxStallMs));
    row(
      `${BURST} × POST /execute, ${(body.length / MIB).toFixed(2)} MiB dense body, answers`,
      `${(burstMs / 1000).toFixed(1)} s`,
      tally(answers.map((answer) => answer.status)),
    );
    row(
      'GET /health/live during the burst, median',
      ms(median(probes.latencies)),
      `${probes.latencies.length} probes, ${probes.failures} failed`,
    );
    row('GET /health/live during the burst, p99', ms(burstP99));
    row('GET /health/live during the burst, max', ms(Math.max(...probes.latencies)));
    row(
      'ratio burst / idle liveness p99',
      (burstP99 / idleP99).toFixed(2),
      '1: the burst costs a probe nothing',
    );
    row(
      'service event-loop stall during the burst, max',
      ms(burstLoop.maxStallMs),
      `p99 ${ms(burstLoop.p99StallMs)}`,
    );
    row(
      'client (this process) event-loop stall, max',
      ms(Math.max(0, clientLoop.max / 1e6 - 10)),
      'counts in the probe latencies above',
    );
    row(
      'service peak RSS during the burst',
      mib(peak),
      peakReset ? 'VmHWM, reset before the burst' : 'max VmRSS sampled at each probe',
    );
    row('service RSS after the burst', mib(burstMemory.rss));
    row(
      'ratio peak / idle RSS',
      (peak / idleRss).toFixed(2),
      `${BURST} × ${(body.length / MIB).toFixed(1)} MiB = ${mib(BURST * body.length)} arrived`,
    );
    row(
      'GET /executions?limit=100, empty store, median',
      ms(median(emptyListing.times)),
      `total ${totalOf(emptyListing.answer)}, ${emptyListing.answer.body.length} B`,
    );
    row(
      `GET /executions?limit=100, ${BURST} dense records, median`,
      ms(median(fullListing.times)),
      `total ${totalOf(fullListing.answer)}, ${fullListing.answer.body.length} B`,
    );
    row(
      'ratio listing with records / empty',
      (median(fullListing.times) / median(emptyListing.times)).toFixed(2),
      'summaries only: no input is loaded',
    );
    row(
      `DELETE /execution/{id} × ${ids.length}`,
      tally(cancels.map((answer) => answer.status)),
      `then ${tally(finalStatuses)}`,
    );
    row('service RSS after cancelling them', mib(afterCancel.rss));
    row(
      'service peak RSS from the burst to here',
      mib(peakReset ? afterCancel.peak : Math.max(peak, afterCancel.rss)),
      'burst, listings and cancels',
    );
  } finally {
    probeAgent.destroy();
    listAgent.destroy();
    burstAgent.destroy();
    stopped = await service.stop();
  }
  row('service stopped by SIGTERM', `${stopped.ms.toFixed(0)} ms`, stopped.how);
  row(
    'sandbox containers on the engine, before / after',
    `${containersBefore} / ${sandboxContainers()}`,
    `all instances; this one's left: ${sandboxContainers(instanceId)}`,
  );
}
