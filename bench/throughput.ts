/**
 * The bench's "Throughput and cost" section: the service over HTTP (POST /execute?wait=true,
 * in a process of its own, see test/support/separate-service.ts, so its RSS is its own) against
 * the bare cold path through dockerode (create, attach, start, stdin, wait, remove) with the
 * same limits, in one run, on one machine, with one image. The two paths take turns round by
 * round, so that drift in the machine's load hits both alike.
 *
 * - Latency, one job at a time: p50 and p95 of six jobs, from print(1) to 1 MiB of input.
 * - Load: throughput and p95 of print(1) at 1, 4, 8 and 16 concurrent clients.
 * - Cost: host CPU per job from /proc/stat (everything: the service, dockerd, containerd,
 *   runc, the containers and this client), during each load level; the target is at 8,
 *   where it is also split by process (cpu-by-process.ts).
 * - Memory: the service's RSS after 2,000 more executions of print(1) at 8 clients.
 * The service is the compiled one, as deployed (`node dist/apps/sandbox/src/main.js`).
 * - Containers left once both paths are done.
 * - gVisor, when the engine has a runsc runtime: both paths again with runtime runsc (the
 *   service in a process of its own with SANDBOX_RUNTIME=runsc), fewer rows: print(1) and
 *   import numpy, pandas one at a time, and print(1) at 8 clients with its host CPU.
 *
 * Prints a table (service, bare, ratio, target; targets are printed, not asserted) and
 * writes every figure to bench/results/throughput-<date>.json.
 *
 *   BENCH_ONLY=throughput npm run bench
 *   BENCH_ONLY=throughput BENCH_SMOKE=1 npm run bench   (each job once, 8 jobs at 4 clients;
 *                                                       gVisor: each job once, 8 at 8)
 */
// The service's config (loadConfig, for its limits) is validated through decorators.
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';
import Docker from 'dockerode';
import type { ContainerLimits } from '@brain-net/runner/container-limits';
import { GVISOR_RUNTIME } from '@brain-net/runner/engine-limits';
import { SANDBOX_ENV, sandboxContainerOptions } from '@brain-net/runner/sandbox-container';
import { SANDBOX_LABEL } from '@brain-net/runner/runner-options';
import { loadConfig } from '../apps/sandbox/src/config/app-config';
import { ServiceProcess } from '../test/support/separate-service';
import { type CpuByProcess, cpuByProcess, cpuSnapshot } from './cpu-by-process';
import { median, percentile, ratioOf, row, sideBySide } from './figures';

const IMAGE = 'brain-net-sandbox-runtime:3.11';
const MIB = 2 ** 20;
/** Labels the bare path's containers, so that its leftovers can be counted apart. */
const BARE_LABEL = 'brain-net.bench-bare';

/** The service's default warm pool (SANDBOX_WARM_POOL), as deployed. */
const WARM_POOL = loadConfig({}).warmPoolSize;

const SERVICE_ENV = {
  SANDBOX_IMAGE: IMAGE,
  SANDBOX_WARM_POOL: String(WARM_POOL),
  MAX_CONCURRENT_EXECUTIONS: '16',
  MAX_QUEUED_EXECUTIONS: '1000',
  RATE_LIMIT_PER_MINUTE: '0',
};

/** How much of each figure to take: the full run, or CI's smoke run. */
interface Plan {
  readonly name: string;
  /** One uncounted run of each job on each path first: page cache, JIT, engine. */
  readonly warmUp: boolean;
  /** Rounds per job per path, one job at a time. */
  readonly rounds: number;
  readonly levels: readonly number[];
  readonly jobsPerLevel: number;
  /** The level whose host CPU per job carries the target. */
  readonly cpuLevel: number;
  /** Executions of print(1) before the service's RSS is read; 0: none beyond the rest. */
  readonly rssExecutions: number;
  readonly rssClients: number;
}

const FULL: Plan = {
  name: 'full',
  warmUp: true,
  rounds: 20,
  levels: [1, 4, 8, 16],
  // Sustained load: the pool refills once after each level (two containers preloading
  // numpy and pandas, ~1 s of CPU, counted in the level); over 256 jobs that weighs
  // ~4 ms per job, over 64 it was ~15.
  jobsPerLevel: 256,
  cpuLevel: 8,
  rssExecutions: 2000,
  rssClients: 8,
};

const SMOKE: Plan = {
  name: 'smoke',
  warmUp: false,
  rounds: 1,
  levels: [4],
  jobsPerLevel: 8,
  cpuLevel: 4,
  rssExecutions: 0,
  rssClients: 8,
};

/**
 * After each service round one at a time: the pool refills (start a container, preload
 * numpy and pandas: about 0.6 s here) as it would between an agent's requests, and the
 * refill stays off the bare round's clock.
 */
const REFILL_PAUSE_MS = 1000;
/** After a load level: the service's pool refills; counted in that level's CPU. */
const SETTLE_MS = 3000;
/** Before each load level: what the idle host burns, subtracted from the CPU figures. */
const IDLE_WINDOW_MS = 2000;

const CPU_LOOP = 20_000_000;
/** 131,072 × `{"a":1},` is 1 MiB of JSON. */
const SMALL_OBJECTS = MIB / 8;

interface Job {
  readonly name: string;
  /** What the service runs; its input arrives as the global `input_data`. */
  readonly code: string;
  /** What the bare path runs with `python3 -I -c`; its input arrives on stdin. */
  readonly bareCode: string;
  /** input_data, which the service takes as a JSON object only; null: none. */
  readonly input: Record<string, unknown> | null;
  /** The output both paths must print: proof the job ran. */
  readonly output: string;
}

const READ_STDIN = 'import json, sys\ninput_data = json.load(sys.stdin)\n';

const JOBS: readonly Job[] = [
  { name: 'print(1)', code: 'print(1)', bareCode: 'print(1)', input: null, output: '1\n' },
  {
    name: 'import numpy, pandas',
    code: 'import numpy, pandas\nprint(1)',
    bareCode: 'import numpy, pandas\nprint(1)',
    input: null,
    output: '1\n',
  },
  {
    name: `CPU loop, ${CPU_LOOP / 1e6}M additions`,
    code: `s = 0\nfor i in range(${CPU_LOOP}):\n    s += i\nprint(s)`,
    bareCode: `s = 0\nfor i in range(${CPU_LOOP}):\n    s += i\nprint(s)`,
    input: null,
    output: `${(CPU_LOOP * (CPU_LOOP - 1)) / 2}\n`,
  },
  {
    name: 'prints 1 MiB',
    code: `import sys\nsys.stdout.write('x' * ${MIB})`,
    bareCode: `import sys\nsys.stdout.write('x' * ${MIB})`,
    input: null,
    output: 'x'.repeat(MIB),
  },
  {
    name: 'input: a 1 MiB string',
    code: "print(len(input_data['text']))",
    bareCode: `${READ_STDIN}print(len(input_data['text']))`,
    input: { text: 'x'.repeat(MIB) },
    output: `${MIB}\n`,
  },
  {
    name: `input: 1 MiB of {"a":1} (${SMALL_OBJECTS})`,
    code: "print(len(input_data['items']))",
    bareCode: `${READ_STDIN}print(len(input_data['items']))`,
    input: { items: Array.from({ length: SMALL_OBJECTS }, () => ({ a: 1 })) },
    output: `${SMALL_OBJECTS}\n`,
  },
];

/** A job as each path sends it, encoded once so that no round pays for the encoding. */
interface PreparedJob {
  readonly job: Job;
  readonly requestBody: string;
  readonly stdin: Buffer;
}

function prepare(job: Job): PreparedJob {
  return {
    job,
    requestBody: JSON.stringify(
      job.input === null ? { code: job.code } : { code: job.code, input_data: job.input },
    ),
    stdin: Buffer.from(job.input === null ? '' : JSON.stringify(job.input)),
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const docker = new Docker();

/** A run's answer, cut short for an error message. */
const excerpt = (text: string) => (text.length > 300 ? `${text.slice(0, 300)}…` : text);

// ---------------------------------------------------------------------------------------
// The two paths
// ---------------------------------------------------------------------------------------

/** One job through the service: POST /execute?wait=true, checked. */
async function viaService(url: string, prepared: PreparedJob): Promise<void> {
  const response = await fetch(`${url}/execute?wait=true`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: prepared.requestBody,
  });
  const text = await response.text();
  const result = JSON.parse(text) as { status?: string; output?: string };
  if (response.status !== 200 || result.status !== 'completed') {
    throw new Error(`service: ${prepared.job.name} answered ${response.status}: ${excerpt(text)}`);
  }
  if (result.output !== prepared.job.output) {
    throw new Error(`service: ${prepared.job.name} printed ${excerpt(result.output ?? '')}`);
  }
}

/**
 * A sandbox container as the runner creates it (sandboxContainerOptions: limits, seccomp
 * profile, masked paths), running the job's code with `python3 -I -c` instead of the
 * harness.
 */
function bareSpec(
  code: string,
  limits: ContainerLimits,
  runId: string,
): Docker.ContainerCreateOptions {
  return {
    Image: IMAGE,
    Cmd: ['python3', '-I', '-c', code],
    Env: [...SANDBOX_ENV],
    Labels: { [BARE_LABEL]: runId },
    ...sandboxContainerOptions(limits),
  };
}

/**
 * One job on the bare cold path: create, attach, start, its input on stdin (then closed),
 * read all of stdout, wait, remove. Checked like the service's answer.
 */
async function viaBareContainer(
  prepared: PreparedJob,
  limits: ContainerLimits,
  runId: string,
): Promise<void> {
  const container = await docker.createContainer(bareSpec(prepared.job.bareCode, limits, runId));
  try {
    const stream = await container.attach({
      stream: true,
      stdin: true,
      stdout: true,
      stderr: true,
      hijack: true,
    });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    docker.modem.demuxStream(stream, stdout, stderr);
    const chunks: Buffer[] = [];
    stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    stderr.resume();
    const attachEnded = new Promise<void>((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
    });
    await container.start();
    stream.end(prepared.stdin);
    const waited = (await container.wait()) as { StatusCode: number };
    await attachEnded;
    stdout.end();
    await finished(stdout);
    const output = Buffer.concat(chunks).toString('utf8');
    if (waited.StatusCode !== 0 || output !== prepared.job.output) {
      throw new Error(
        `bare: ${prepared.job.name} exited ${waited.StatusCode}, printed ${excerpt(output)}`,
      );
    }
  } finally {
    await container.remove({ force: true, v: true });
  }
}

// ---------------------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------------------

interface Latencies {
  readonly p50: number;
  readonly p95: number;
  readonly ms: number[];
}

const latenciesOf = (ms: number[]): Latencies => ({
  p50: median(ms),
  p95: percentile(ms, 95),
  ms,
});

async function timed(task: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await task();
  return performance.now() - started;
}

interface JobLatency {
  readonly job: string;
  readonly service: Latencies;
  readonly bare: Latencies;
}

/**
 * Each job one at a time, the paths alternating round by round (and which goes first
 * alternating too, so neither always runs on the other's heels).
 */
async function latencyOneAtATime(
  plan: Plan,
  jobs: readonly PreparedJob[],
  service: (job: PreparedJob) => Promise<void>,
  bare: (job: PreparedJob) => Promise<void>,
): Promise<JobLatency[]> {
  const serviceThenPause = async (job: PreparedJob) => {
    const ms = await timed(() => service(job));
    await sleep(REFILL_PAUSE_MS);
    return ms;
  };
  const figures: JobLatency[] = [];
  for (const job of jobs) {
    if (plan.warmUp) {
      await serviceThenPause(job);
      await bare(job);
    }
    const serviceMs: number[] = [];
    const bareMs: number[] = [];
    for (let round = 0; round < plan.rounds; round++) {
      if (round % 2 === 0) {
        serviceMs.push(await serviceThenPause(job));
        bareMs.push(await timed(() => bare(job)));
      } else {
        bareMs.push(await timed(() => bare(job)));
        serviceMs.push(await serviceThenPause(job));
      }
    }
    figures.push({ job: job.job.name, service: latenciesOf(serviceMs), bare: latenciesOf(bareMs) });
    console.log(`  one at a time: ${job.job.name} done`);
  }
  return figures;
}

/** Busy jiffies of all CPUs since boot: user (guests included), nice, system, irq, softirq, steal. */
function busyJiffies(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = cpu.slice(1).map(Number);
  return user + nice + system + irq + softirq + steal;
}

/** Jiffies per second as /proc/stat counts them (USER_HZ, 100 on Linux). */
function userHz(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

const USER_HZ = userHz();

/**
 * Host CPU milliseconds per second while both paths sit idle: after SETTLE_MS, so that no
 * earlier job's cleanup (the pool's refill, the engine's unmounts) is taken for the idle host.
 */
async function idleHostCpu(): Promise<number> {
  await sleep(SETTLE_MS);
  const before = busyJiffies();
  const started = performance.now();
  await sleep(IDLE_WINDOW_MS);
  const cpuMs = ((busyJiffies() - before) * 1000) / USER_HZ;
  return cpuMs / ((performance.now() - started) / 1000);
}

interface Load {
  readonly clients: number;
  readonly jobs: number;
  readonly seconds: number;
  readonly jobsPerSecond: number;
  readonly latency: Latencies;
  /** Host CPU over the run and SETTLE_MS after it, per job. */
  readonly cpuMsPerJob: number;
  /** The same less what the idle host burnt over as long. */
  readonly netCpuMsPerJob: number;
  /** Where cpuMsPerJob went (cpu-by-process.ts). */
  readonly cpuByProcess: CpuByProcess;
}

/**
 * `jobs` tasks, `clients` of them in flight at any time, and the host CPU they took: from
 * the first send until SETTLE_MS after the last answer, so that work a path leaves behind
 * (the service's pool refill) is counted.
 */
async function underLoad(
  clients: number,
  jobs: number,
  idleCpuMsPerSecond: number,
  task: () => Promise<void>,
  servicePid: number | null,
): Promise<Load> {
  const latencies: number[] = [];
  let sent = 0;
  const client = async () => {
    while (sent < jobs) {
      sent += 1;
      latencies.push(await timed(task));
    }
  };
  const cpuBefore = busyJiffies();
  const snapshotBefore = cpuSnapshot(cpuBefore, servicePid);
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, client));
  const seconds = (performance.now() - started) / 1000;
  await sleep(SETTLE_MS);
  const windowSeconds = (performance.now() - started) / 1000;
  const cpuAfter = busyJiffies();
  const cpuMs = ((cpuAfter - cpuBefore) * 1000) / USER_HZ;
  const snapshotAfter = cpuSnapshot(cpuAfter, servicePid);
  return {
    clients,
    jobs,
    seconds,
    jobsPerSecond: jobs / seconds,
    latency: latenciesOf(latencies),
    cpuMsPerJob: cpuMs / jobs,
    netCpuMsPerJob: (cpuMs - idleCpuMsPerSecond * windowSeconds) / jobs,
    cpuByProcess: cpuByProcess(snapshotBefore, snapshotAfter, jobs, USER_HZ),
  };
}

interface LoadLevel {
  readonly clients: number;
  readonly idleHostCpuMsPerSecond: number;
  readonly service: Load;
  readonly bare: Load;
}

/** print(1) at each level, both paths in turn, the idle host's CPU measured first. */
async function loadLevels(
  plan: Plan,
  servicePid: number,
  service: () => Promise<void>,
  bare: () => Promise<void>,
): Promise<LoadLevel[]> {
  const levels: LoadLevel[] = [];
  for (const [index, clients] of plan.levels.entries()) {
    const idle = await idleHostCpu();
    const run = (task: () => Promise<void>, pid: number | null) =>
      underLoad(clients, plan.jobsPerLevel, idle, task, pid);
    let serviceLoad: Load;
    let bareLoad: Load;
    if (index % 2 === 0) {
      serviceLoad = await run(service, servicePid);
      bareLoad = await run(bare, null);
    } else {
      bareLoad = await run(bare, null);
      serviceLoad = await run(service, servicePid);
    }
    levels.push({ clients, idleHostCpuMsPerSecond: idle, service: serviceLoad, bare: bareLoad });
    console.log(`  load: ${clients} clients done`);
  }
  return levels;
}

interface Memory {
  readonly idleRssBytes: number;
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  readonly peakBytes: number;
  /** Executions the service had served when its RSS was last read. */
  readonly executions: number;
  readonly extraExecutions: number;
  readonly extraSeconds: number;
}

/** The service's RSS after `plan.rssExecutions` more executions of print(1). */
async function memoryAfterMany(
  plan: Plan,
  serviceProcess: ServiceProcess,
  idleRssBytes: number,
  served: () => number,
  task: () => Promise<void>,
): Promise<Memory> {
  const rssBeforeBytes = serviceProcess.memory().rss;
  const started = performance.now();
  let sent = 0;
  const client = async () => {
    while (sent < plan.rssExecutions) {
      sent += 1;
      await task();
    }
  };
  await Promise.all(Array.from({ length: plan.rssClients }, client));
  const extraSeconds = (performance.now() - started) / 1000;
  const { rss, peak } = serviceProcess.memory();
  return {
    idleRssBytes,
    rssBeforeBytes,
    rssAfterBytes: rss,
    peakBytes: peak,
    executions: served(),
    extraExecutions: plan.rssExecutions,
    extraSeconds,
  };
}

/** Containers on the engine with this label (or label=value), whatever their state. */
function containersLabelled(label: string): number {
  const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=${label}`], {
    encoding: 'utf8',
  });
  return ids.split('\n').filter((id) => id.trim() !== '').length;
}

// ---------------------------------------------------------------------------------------
// The section
// ---------------------------------------------------------------------------------------

/** Null when the engine has gVisor's runsc runtime, or why the runsc rows are skipped. */
export async function runscMissing(): Promise<string | null> {
  const info = (await docker.info()) as { Runtimes?: Record<string, unknown> };
  const names = Object.keys(info.Runtimes ?? {});
  return names.includes(GVISOR_RUNTIME)
    ? null
    : `skipped: the engine has no runsc (${names.join(', ')}); scripts/provision-engine.sh adds it`;
}

/**
 * gVisor's share of the plan, kept short: print(1) and import numpy, pandas one at a time,
 * print(1) at 8 clients (its host CPU too), no memory run.
 */
const GVISOR_JOBS = ['print(1)', 'import numpy, pandas'];
const gvisorPlan = (plan: Plan): Plan => ({
  ...plan,
  name: `${plan.name}, runsc`,
  levels: [8],
  cpuLevel: 8,
  rssExecutions: 0,
});

/** What one service process and the bare path measured side by side on one runtime. */
interface RuntimeRun {
  readonly plan: Plan;
  readonly instanceId: string;
  readonly serviceEnv: Record<string, string>;
  readonly limits: ContainerLimits;
  readonly oneAtATime: JobLatency[];
  readonly load: LoadLevel[];
  readonly memory: Memory;
  readonly serviceStopped: { readonly how: string; readonly ms: number };
}

/**
 * The service (in a process of its own, with `serviceEnv`) against the bare path with
 * `limits`, job by job, then under load, then the service's RSS: on whichever runtime
 * `serviceEnv` (SANDBOX_RUNTIME) and `limits.runtime` name.
 */
async function runOn(
  plan: Plan,
  jobs: readonly PreparedJob[],
  serviceEnv: Record<string, string>,
  limits: ContainerLimits,
  runId: string,
): Promise<RuntimeRun> {
  const printOne = jobs[0];
  // As deployed: compiled (npm run build, which `npm run bench` runs first), records in
  // a SQLite file, logs at the default level read by a collector.
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-service-'));
  const serviceProcess = await ServiceProcess.startCompiled({
    DATABASE_PATH: join(dataDir, 'sandbox.db'),
    ...serviceEnv,
  });
  let served = 0;
  const service = async (job: PreparedJob) => {
    await viaService(serviceProcess.url, job);
    served += 1;
  };
  const bare = (job: PreparedJob) => viaBareContainer(job, limits, runId);

  let oneAtATime: JobLatency[];
  let load: LoadLevel[];
  let memory: Memory;
  let serviceStopped: { how: string; ms: number };
  try {
    await sleep(SETTLE_MS); // the pool's first containers start and preload
    const idleRssBytes = serviceProcess.memory().rss;
    oneAtATime = await latencyOneAtATime(plan, jobs, service, bare);
    load = await loadLevels(
      plan,
      serviceProcess.pid,
      () => service(printOne),
      () => bare(printOne),
    );
    memory = await memoryAfterMany(
      plan,
      serviceProcess,
      idleRssBytes,
      () => served,
      () => service(printOne),
    );
  } finally {
    serviceStopped = await serviceProcess.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return {
    plan,
    instanceId: serviceEnv.SANDBOX_INSTANCE_ID,
    serviceEnv,
    limits,
    oneAtATime,
    load,
    memory,
    serviceStopped,
  };
}

/** The runc run's figures at the top, as before gVisor's were added; gVisor's under `gvisor`. */
interface Results extends RuntimeRun {
  readonly date: string;
  readonly host: { readonly cpus: number; readonly memoryMiB: number; readonly userHz: number };
  readonly image: string;
  /** The same rows, fewer of them, both paths under gVisor; or why they were skipped. */
  readonly gvisor: RuntimeRun | { readonly skipped: string };
  readonly containersLeft: {
    readonly sandboxAllInstances: number;
    readonly sandboxThisInstance: number;
    /** The gVisor service's; null when it did not run. */
    readonly sandboxGvisorInstance: number | null;
    readonly bare: number;
  };
  readonly seconds: number;
}

export async function throughputAndCost(): Promise<void> {
  const plan = process.env.BENCH_SMOKE === '1' ? SMOKE : FULL;
  const startedAt = performance.now();
  const date = new Date().toISOString();
  console.log(
    `\nThroughput and cost (${plan.name} run): service over HTTP, own process, warm pool ${WARM_POOL}, ` +
      '16 slots, against the bare cold path through dockerode, same limits; then under gVisor',
  );
  const runId = randomUUID().slice(0, 8);
  const instanceId = `bench-throughput-${runId}`;
  // The limits the service applies with its defaults, so that both paths get the same.
  const limits = loadConfig({}).limits;
  const jobs = JOBS.map(prepare);

  const runc = await runOn(
    plan,
    jobs,
    { ...SERVICE_ENV, SANDBOX_INSTANCE_ID: instanceId },
    limits,
    runId,
  );
  const noRunsc = await runscMissing();
  console.log(`  gVisor (runsc): ${noRunsc ?? 'the same, fewer rows'}`);
  const gvisor =
    noRunsc === null
      ? await runOn(
          gvisorPlan(plan),
          jobs.filter((job) => GVISOR_JOBS.includes(job.job.name)),
          {
            ...SERVICE_ENV,
            SANDBOX_RUNTIME: GVISOR_RUNTIME,
            SANDBOX_INSTANCE_ID: `${instanceId}-${GVISOR_RUNTIME}`,
          },
          // engineLimits() turns these into runsc's pids limit and ulimits, as in the service.
          { ...limits, runtime: GVISOR_RUNTIME },
          runId,
        )
      : { skipped: noRunsc };
  const leftBy = (id: string) => containersLabelled(`${SANDBOX_LABEL}=${id}`);
  const results: Results = {
    date,
    host: { cpus: cpus().length, memoryMiB: Math.round(totalmem() / MIB), userHz: USER_HZ },
    image: IMAGE,
    ...runc,
    gvisor,
    containersLeft: {
      sandboxAllInstances: containersLabelled(SANDBOX_LABEL),
      sandboxThisInstance: leftBy(runc.instanceId),
      sandboxGvisorInstance: 'instanceId' in gvisor ? leftBy(gvisor.instanceId) : null,
      bare: containersLabelled(`${BARE_LABEL}=${runId}`),
    },
    seconds: (performance.now() - startedAt) / 1000,
  };
  printTable(results);
  console.log(`\nAll figures: ${writeResults(results)}`);
}

// ---------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------

const msText = (ms: number) => `${ms.toFixed(0)} ms`;
const mibText = (bytes: number) => `${(bytes / MIB).toFixed(0)} MiB`;

/** "target ≤ 20 ms: met", or "missed": printed, not asserted; '' for rows without one. */
function target(text: string, met: boolean, shown = true): string {
  if (!shown) return '';
  return `target ${text}: ${met ? 'met' : 'MISSED'}`;
}

/**
 * A run's latency, load and host CPU rows; the targets (the first job's p50 and p95,
 * jobs/s and CPU at 8 clients) only when `targets` is set.
 */
function printComparison(run: RuntimeRun, targets: boolean): void {
  const { plan, oneAtATime, load } = run;
  console.log(`One job at a time (${plan.rounds} rounds per job per path, alternating)`);
  for (const { job, service, bare } of oneAtATime) {
    const first = targets && job === oneAtATime[0].job;
    sideBySide(
      `${job}, p50`,
      msText(service.p50),
      msText(bare.p50),
      ratioOf(service.p50, bare.p50),
      target('≤ 20 ms', service.p50 <= 20, first),
    );
    sideBySide(
      `${job}, p95`,
      msText(service.p95),
      msText(bare.p95),
      ratioOf(service.p95, bare.p95),
      target('≤ 50 ms', service.p95 <= 50, first),
    );
  }

  console.log(`\nprint(1) under load (${plan.jobsPerLevel} jobs per level)`);
  for (const { clients, service, bare } of load) {
    const throughputRatio = service.jobsPerSecond / bare.jobsPerSecond;
    sideBySide(
      `${clients} clients, jobs/s`,
      service.jobsPerSecond.toFixed(2),
      bare.jobsPerSecond.toFixed(2),
      throughputRatio.toFixed(2),
      target('≥ 1.0× bare', throughputRatio >= 1, targets && clients === 8),
    );
    sideBySide(
      `${clients} clients, p95`,
      msText(service.latency.p95),
      msText(bare.latency.p95),
      ratioOf(service.latency.p95, bare.latency.p95),
    );
  }

  const cpuLevel = load.find((level) => level.clients === plan.cpuLevel);
  if (cpuLevel) {
    const { service, bare, idleHostCpuMsPerSecond } = cpuLevel;
    const netRatio = service.netCpuMsPerJob / bare.netCpuMsPerJob;
    const idle = `idle ${idleHostCpuMsPerSecond.toFixed(0)} ms/s`;
    console.log(`\nHost CPU per job, /proc/stat, ${plan.cpuLevel} clients`);
    sideBySide(
      'ms per job, whole host',
      msText(service.cpuMsPerJob),
      msText(bare.cpuMsPerJob),
      ratioOf(service.cpuMsPerJob, bare.cpuMsPerJob),
      `run + ${SETTLE_MS / 1000} s settle`,
    );
    sideBySide(
      'ms per job, less the idle host',
      msText(service.netCpuMsPerJob),
      msText(bare.netCpuMsPerJob),
      netRatio.toFixed(2),
      targets ? `${target('≤ 1.1× bare', netRatio <= 1.1)}; ${idle}` : idle,
    );
    const where: [string, (cpu: CpuByProcess) => number | null][] = [
      ['dockerd', (cpu) => cpu.dockerd],
      ['containerd', (cpu) => cpu.containerd],
      ['the service process (bare: none)', (cpu) => cpu.service],
      ['inside the containers', (cpu) => cpu.containers],
      ['shims and runc', (cpu) => cpu.shimsAndRunc],
      ['this bench client', (cpu) => cpu.client],
      ['the rest: kernel threads, interrupts, others', (cpu) => cpu.rest],
    ];
    // Under runsc the sandbox's own processes are both the shim's children and in the
    // container's cgroup: the split would count them twice.
    if (run.limits.runtime === GVISOR_RUNTIME) return;
    for (const [name, of] of where) {
      const [inService, inBare] = [of(service.cpuByProcess), of(bare.cpuByProcess)];
      sideBySide(
        `  of which ${name}`,
        inService === null ? 'n/a' : msText(inService),
        inBare === null ? 'n/a' : msText(inBare),
        inService === null || inBare === null ? '' : ratioOf(inService, inBare),
        '',
      );
    }
  }
}

function printTable(results: Results): void {
  const { plan, memory, gvisor, containersLeft } = results;
  console.log('');
  sideBySide('', 'service', 'bare', 'ratio', 'service / bare');
  printComparison(results, true);

  console.log('\nService memory (the compiled service in its own process)');
  row('RSS at idle, after start', mibText(memory.idleRssBytes));
  if (memory.extraExecutions > 0) {
    row(`RSS before ${memory.extraExecutions} more print(1)`, mibText(memory.rssBeforeBytes));
    row(
      `${memory.extraExecutions} × print(1) at ${plan.rssClients} clients took`,
      `${memory.extraSeconds.toFixed(1)} s`,
      `${(memory.extraExecutions / memory.extraSeconds).toFixed(2)} jobs/s`,
    );
  }
  row(
    `RSS after ${memory.executions} executions in all`,
    mibText(memory.rssAfterBytes),
    target('≤ 200 MB', memory.rssAfterBytes <= 200e6),
  );
  row('peak RSS (VmHWM)', mibText(memory.peakBytes));

  console.log('\ngVisor (runsc): both paths with runtime runsc, the same limits');
  if ('skipped' in gvisor) {
    row('gVisor (runsc)', '-', gvisor.skipped);
  } else {
    sideBySide('', 'service', 'bare', 'ratio', 'service / bare');
    printComparison(gvisor, false);
  }

  console.log('\nContainers left');
  const stoppedIn = ({ ms, how }: RuntimeRun['serviceStopped']) => `${ms.toFixed(0)} ms (${how})`;
  row(
    `${SANDBOX_LABEL} containers, this instance / all`,
    `${containersLeft.sandboxThisInstance} / ${containersLeft.sandboxAllInstances}`,
    `service stopped in ${stoppedIn(results.serviceStopped)}`,
  );
  if (!('skipped' in gvisor)) {
    row(
      `${SANDBOX_LABEL} containers, gVisor instance`,
      String(containersLeft.sandboxGvisorInstance),
      `service stopped in ${stoppedIn(gvisor.serviceStopped)}`,
    );
  }
  row(`bare path's containers (${BARE_LABEL})`, String(containersLeft.bare), 'must be 0');
  row('section took', `${results.seconds.toFixed(0)} s`);
}

/** bench/results/throughput-<ISO date>.json, the colons of the time made dashes. */
function writeResults(results: Results): string {
  const folder = join(__dirname, 'results');
  mkdirSync(folder, { recursive: true });
  const file = join(folder, `throughput-${results.date.replace(/:/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}
