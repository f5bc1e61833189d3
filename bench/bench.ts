/**
 * `npm run bench`: latency, throughput and memory of the service, each measured side
 * by side with a baseline in the same run, printed as medians and ratios. Figures, not
 * assertions: these machines are noisy, so read the ratios.
 *
 * The last section, "Hostile callers" (bench/hostile.ts), runs the service in a process of
 * its own (bench/service-process.ts). To run that section alone:
 *
 *   BENCH_ONLY=hostile npm run bench
 *
 * and the real workload (print(1) against import numpy, pandas, pool on) alone:
 *
 *   BENCH_ONLY=workload npm run bench
 *
 * and throughput and cost against the bare cold path (bench/throughput.ts) alone, or its
 * smoke run (BENCH_SMOKE=1, well under a minute):
 *
 *   BENCH_ONLY=throughput npm run bench
 *
 * and batches, uploaded files and callbacks (bench/pipelines.ts) alone, or its smoke run:
 *
 *   BENCH_ONLY=pipelines npm run bench
 *
 * and plots, models, DataFrame previews and profiles against print(1), with the default
 * preload and a richer one (bench/rich-results.ts), alone, or its smoke run:
 *
 *   BENCH_ONLY=results npm run bench
 *
 * and the rhythm of the calls (bench/rhythm.ts, issue 17): one client at think times from
 * 0 to 3 s, print(1) alternating with import numpy, pandas, how many jobs found a warm
 * container, 2 and 4 agent clients, against the cold path in the same run; alone, or its
 * smoke run, or with gVisor's table too (BENCH_RUNSC=1):
 *
 *   BENCH_ONLY=rhythm npm run bench
 */
import { execFileSync } from 'node:child_process';
import Docker from 'dockerode';
import { startSandboxApp } from '../test/support/sandbox-app';
import { median, percentile, row } from './figures';
import { hostileCallers } from './hostile';
import { pipelines } from './pipelines';
import { rhythm } from './rhythm';
import { richResults } from './rich-results';
import { runscMissing, throughputAndCost } from './throughput';

const IMAGE = 'brain-net-sandbox-runtime:3.11';
const ROUNDS = 15;

const docker = new Docker();

/**
 * Milliseconds of each of `rounds` runs of the task, after one uncounted warm-up, with
 * an uncounted pause after each run.
 */
async function timeEach(
  rounds: number,
  task: () => Promise<unknown>,
  pauseMs = 0,
): Promise<number[]> {
  await task();
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    await task();
    times.push(performance.now() - started);
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  return times;
}

/** The least a container-per-job sandbox can do: create, start, wait, remove. */
async function bareContainer(networkDisabled: boolean, code = 'print("hello")'): Promise<void> {
  const container = await docker.createContainer({
    Image: IMAGE,
    Cmd: ['python3', '-I', '-c', code],
    NetworkDisabled: networkDisabled,
    HostConfig: { NetworkMode: 'none', LogConfig: { Type: 'none', Config: {} } },
  });
  await container.start();
  await container.wait();
  await container.remove({ force: true });
}

async function executeAndWait(url: string, code = 'print("hello")'): Promise<void> {
  const response = await fetch(`${url}/execute?wait=true`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ code }),
  });
  const body = (await response.json()) as { status?: string };
  if (response.status !== 200 || body.status !== 'completed') {
    throw new Error(`POST /execute answered ${response.status}: ${JSON.stringify(body)}`);
  }
}

/** Cold and warm-pool service latency with SANDBOX_RUNTIME=runsc, as measured for runc. */
async function gvisorLatency(): Promise<{ cold: number[]; warm: number[] }> {
  const warmSandbox = await startSandboxApp({ SANDBOX_RUNTIME: 'runsc', SANDBOX_WARM_POOL: '2' });
  const warm = await timeEach(ROUNDS, () => executeAndWait(warmSandbox.url), 500);
  await warmSandbox.close();
  const coldSandbox = await startSandboxApp({ SANDBOX_RUNTIME: 'runsc' });
  const cold = await timeEach(ROUNDS, () => executeAndWait(coldSandbox.url));
  await coldSandbox.close();
  return { cold, warm };
}

const PANDAS_JOB = 'import numpy, pandas\nprint(1)';

/**
 * What an agent loop waits for, one job at a time with the pool on: `print(1)` and the
 * pipeline's usual `import numpy, pandas`, against the bare cold path (create, start,
 * wait, remove through dockerode, network disabled) running the same code.
 */
async function realWorkload(): Promise<void> {
  const sandbox = await startSandboxApp({ SANDBOX_WARM_POOL: '2' });
  const rounds = 2 * ROUNDS;
  let hello: number[];
  let pandas: number[];
  try {
    hello = await timeEach(rounds, () => executeAndWait(sandbox.url, 'print(1)'), 500);
    pandas = await timeEach(rounds, () => executeAndWait(sandbox.url, PANDAS_JOB), 500);
  } finally {
    await sandbox.close();
  }
  const bareHello = await timeEach(ROUNDS, () => bareContainer(true, 'print(1)'));
  const barePandas = await timeEach(ROUNDS, () => bareContainer(true, PANDAS_JOB));
  const figures = (times: number[]) =>
    `${median(times).toFixed(0)} ms / ${percentile(times, 95).toFixed(0)} ms`;
  console.log(
    `\nThe real workload, one job at a time, warm pool of 2 (p50 / p95, ${rounds} rounds)`,
  );
  row('service, print(1)', figures(hello));
  row('service, import numpy, pandas', figures(pandas), 'preloaded by the warm harness');
  row('bare cold path, print(1)', figures(bareHello));
  row('bare cold path, import numpy, pandas', figures(barePandas));
  row(
    'ratio pandas / print(1), service',
    (median(pandas) / median(hello)).toFixed(2),
    'target ≤ 1.5',
  );
  row('ratio service / bare cold path, print(1)', (median(hello) / median(bareHello)).toFixed(2));
  row('ratio service / bare cold path, pandas', (median(pandas) / median(barePandas)).toFixed(2));
}

/** Executions per second when `jobs` are sent at once. */
async function rate(url: string, jobs: number): Promise<number> {
  const started = performance.now();
  await Promise.all(Array.from({ length: jobs }, () => executeAndWait(url)));
  return jobs / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  execFileSync('docker', ['image', 'inspect', IMAGE], { stdio: 'ignore' });
  if (process.env.BENCH_ONLY === 'hostile') {
    console.log(`Brain_Net Sandbox bench, hostile callers only (${new Date().toISOString()})`);
    await hostileCallers();
    return;
  }
  if (process.env.BENCH_ONLY === 'throughput') {
    console.log(`Brain_Net Sandbox bench, throughput and cost only (${new Date().toISOString()})`);
    await throughputAndCost();
    return;
  }
  if (process.env.BENCH_ONLY === 'pipelines') {
    console.log(`Brain_Net Sandbox bench, pipelines only (${new Date().toISOString()})`);
    await pipelines();
    return;
  }
  if (process.env.BENCH_ONLY === 'results') {
    console.log(`Brain_Net Sandbox bench, rich results only (${new Date().toISOString()})`);
    await richResults();
    return;
  }
  if (process.env.BENCH_ONLY === 'rhythm') {
    console.log(`Brain_Net Sandbox bench, rhythm only (${new Date().toISOString()})`);
    await rhythm();
    return;
  }
  if (process.env.BENCH_ONLY === 'workload') {
    console.log(`Brain_Net Sandbox bench, the real workload only (${new Date().toISOString()})`);
    await realWorkload();
    return;
  }
  console.log(
    `Brain_Net Sandbox bench, ${ROUNDS} rounds each, medians (${new Date().toISOString()})\n`,
  );

  const cli = await timeEach(ROUNDS, () =>
    Promise.resolve(
      execFileSync('docker', [
        'run',
        '--rm',
        '--network',
        'none',
        IMAGE,
        'python3',
        '-I',
        '-c',
        'print(1)',
      ]),
    ),
  );
  const bareNetworkNone = await timeEach(ROUNDS, () => bareContainer(false));
  const bare = await timeEach(ROUNDS, () => bareContainer(true));

  // A pause between jobs lets the pool refill, as it does between an agent's requests.
  const warmSandbox = await startSandboxApp({ SANDBOX_WARM_POOL: '2' });
  const warm = await timeEach(ROUNDS, () => executeAndWait(warmSandbox.url), 500);
  await warmSandbox.close();

  const noRunsc = await runscMissing();
  const gvisor = noRunsc === null ? await gvisorLatency() : null;

  const sandbox = await startSandboxApp({
    MAX_CONCURRENT_EXECUTIONS: '4',
    MAX_QUEUED_EXECUTIONS: '1000',
  });
  try {
    const service = await timeEach(ROUNDS, () => executeAndWait(sandbox.url));

    console.log('Latency of one hello-world job');
    row('docker run --rm (CLI)', `${median(cli).toFixed(0)} ms`);
    row('bare container (dockerode), NetworkMode none', `${median(bareNetworkNone).toFixed(0)} ms`);
    row('bare container, NetworkMode none + NetworkDisabled', `${median(bare).toFixed(0)} ms`);
    row('service, POST /execute?wait=true, end to end, cold', `${median(service).toFixed(0)} ms`);
    row('service, the same from a warm pool of 2', `${median(warm).toFixed(0)} ms`);
    row(
      'ratio warm / cold service',
      (median(warm) / median(service)).toFixed(2),
      'what starting containers ahead saves',
    );
    if (gvisor) {
      row(
        'service under gVisor (SANDBOX_RUNTIME=runsc), cold',
        `${median(gvisor.cold).toFixed(0)} ms`,
      );
      row('service under gVisor, from a warm pool of 2', `${median(gvisor.warm).toFixed(0)} ms`);
      row(
        'ratio runsc / runc, cold',
        (median(gvisor.cold) / median(service)).toFixed(2),
        "the cost of gVisor's kernel per job",
      );
      row(
        'ratio runsc / runc, warm pool',
        (median(gvisor.warm) / median(warm)).toFixed(2),
        'what stays once the start is hidden',
      );
    } else {
      row('service under gVisor (SANDBOX_RUNTIME=runsc)', '-', noRunsc ?? '');
    }
    row(
      'ratio NetworkDisabled / NetworkMode none only',
      (median(bare) / median(bareNetworkNone)).toFixed(2),
      'below 1: faster start',
    );
    row(
      'ratio service / bare container',
      (median(service) / median(bare)).toFixed(2),
      'cost of attach, harness, limits, HTTP',
    );
    row(
      'ratio service / docker run CLI',
      (median(service) / median(cli)).toFixed(2),
      'below 1: beats shelling out',
    );

    console.log('\nThroughput (executions per second, median of 3)');
    const oneByOne: number[] = [];
    const together: number[] = [];
    for (let i = 0; i < 3; i++) {
      oneByOne.push(1000 / median(await timeEach(4, () => executeAndWait(sandbox.url))));
      together.push(await rate(sandbox.url, 16));
    }
    row('one job at a time', median(oneByOne).toFixed(2));
    row('16 jobs at once, 4 slots', median(together).toFixed(2));
    row(
      'ratio 4 slots / one at a time',
      (median(together) / median(oneByOne)).toFixed(2),
      '2 cores here',
    );

    console.log('\nService memory');
    const before = process.memoryUsage().rss;
    for (let batch = 0; batch < 10; batch++) await rate(sandbox.url, 10);
    const after = process.memoryUsage().rss;
    row('RSS before 100 more executions', `${(before / 2 ** 20).toFixed(0)} MiB`);
    row('RSS after them', `${(after / 2 ** 20).toFixed(0)} MiB`);
    row('ratio after / before', (after / before).toFixed(2), 'about 1: no growth per job');
  } finally {
    await sandbox.close();
  }

  await realWorkload();

  await hostileCallers();

  await throughputAndCost();

  await pipelines();

  await richResults();

  await rhythm();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
