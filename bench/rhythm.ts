/**
 * The bench's "Rhythm" section (issue 17): how fast a job is answered at the pace its
 * client calls, with the warm pool as it is by default (4 containers, SANDBOX_PRELOAD
 * numpy,pandas), against the cold path in the same run. The service is the compiled one,
 * in a process of its own (as deployed, see test/support/separate-service.ts), on the
 * real engine, with `RATE_LIMIT_PER_MINUTE=0` and its other settings at their defaults:
 *
 * - Think times: one client, POST /execute?wait=true, alternating `print(1)` with
 *   `import numpy, pandas`, a think time after each call (0, 100, 250, 500, 1,000 and
 *   3,000 ms; 0: the next call is sent as soon as the answer is read). For each think time,
 *   p50/p95 of the wall time of each kind, how many jobs got a container from the warm
 *   pool (container_start_ms below 50 ms in GET /debug/{id}), and the p50 of
 *   container_start_ms and run_ms: where the time went. The debug records are read after
 *   each think time's calls, so that reading them never shortens a think time.
 * - The cold path, in the same run: the same service with SANDBOX_WARM_POOL=0, and the bare
 *   cold path through dockerode (create, attach, start, wait, remove, the sandbox's
 *   limits, `python3 -I -c`), each alternating the same two jobs back to back.
 * - Agents sharing an instance: 2 and 4 clients, each calling `print(1)` with a 500 ms think
 *   time, their starts spread evenly over one think time; p50/p95 and the pool's share.
 * - With BENCH_RUNSC=1 (full run only; the engine must have runsc), all of it again under
 *   gVisor (SANDBOX_RUNTIME=runsc; the bare path with runtime runsc).
 *
 * Prints a table with the issue's targets beside the figures (printed, not asserted) and
 * writes every figure to bench/results/rhythm-<date>.json.
 *
 *   BENCH_ONLY=rhythm npm run bench
 *   BENCH_ONLY=rhythm BENCH_RUNSC=1 npm run bench
 *   BENCH_ONLY=rhythm BENCH_SMOKE=1 npm run bench   (think times 0 and 1,000 ms, 2 calls
 *                                                   of each kind, 2 per agent client)
 */
// The service's config (loadConfig, for its limits) is validated through decorators.
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';
import Docker from 'dockerode';
import type { ContainerLimits } from '@brain-net/runner/container-limits';
import { GVISOR_RUNTIME } from '@brain-net/runner/engine-limits';
import { SANDBOX_LABEL } from '@brain-net/runner/runner-options';
import { SANDBOX_ENV, sandboxContainerOptions } from '@brain-net/runner/sandbox-container';
import { loadConfig } from '../apps/sandbox/src/config/app-config';
import { ServiceProcess } from '../test/support/separate-service';
import { median, percentile, ratioOf, row, sideBySide } from './figures';
import { runscMissing } from './throughput';

const IMAGE = 'brain-net-sandbox-runtime:3.11';
/** Labels the bare path's containers, so that its leftovers can be counted apart. */
const BARE_LABEL = 'brain-net.bench-bare';

/** How much of each figure to take: the full run, or CI's smoke run. */
interface Plan {
  readonly name: string;
  /**
   * One uncounted call of each kind first, at each think time (and one per agent client,
   * and one of each on each cold path): the rhythm is then under way when the counting starts.
   */
  readonly warmUp: boolean;
  readonly thinkTimesMs: readonly number[];
  /** Counted calls of each kind at each think time, and on each cold path. */
  readonly callsPerKind: number;
  readonly clientLevels: readonly number[];
  readonly clientThinkMs: number;
  /** Counted calls of each agent client. */
  readonly callsPerClient: number;
  /** After each service listens: the pool's first containers start and preload. */
  readonly startSettleMs: number;
  /** Before each think time and each client level: the pool refills, the machine calms. */
  readonly settleMs: number;
}

const FULL: Plan = {
  name: 'full',
  warmUp: true,
  thinkTimesMs: [0, 100, 250, 500, 1000, 3000],
  callsPerKind: 11,
  clientLevels: [2, 4],
  clientThinkMs: 500,
  callsPerClient: 11,
  startSettleMs: 6000,
  settleMs: 3000,
};

const SMOKE: Plan = {
  name: 'smoke',
  warmUp: false,
  thinkTimesMs: [0, 1000],
  callsPerKind: 2,
  clientLevels: [2, 4],
  clientThinkMs: 500,
  callsPerClient: 2,
  startSettleMs: 2000,
  settleMs: 1000,
};

/** The service's defaults: the pool's budget and what it may preload. */
const { warmPoolSize: WARM_POOL, preload: DEFAULT_PRELOAD } = loadConfig({});
const PRELOAD = DEFAULT_PRELOAD.join(',');
/** A job whose container_start_ms is below this had a container from the warm pool. */
const WARM_START_MS = 50;

/** The issue's targets, printed beside the figures. */
const TARGET = {
  /** From this think time up, the print(1) and pandas targets apply. */
  fromThinkMs: 250,
  printP50Ms: 25,
  printP95Ms: 60,
  /** At 0 ms think time, print(1) p50 over the cold path's. */
  backToBackRatio: 0.6,
  /** pandas p50 over print(1) p50. */
  pandasRatio: 1.5,
  clientsP50Ms: 30,
} as const;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const excerpt = (text: string) => (text.length > 300 ? `${text.slice(0, 300)}…` : text);
const docker = new Docker();

// ---------------------------------------------------------------------------------------
// The jobs, and one call
// ---------------------------------------------------------------------------------------

const KINDS = ['print', 'pandas'] as const;
type Kind = (typeof KINDS)[number];

const KIND_CODE: Record<Kind, string> = {
  print: 'print(1)',
  pandas: 'import numpy, pandas\nprint(1)',
};
const KIND_LABEL: Record<Kind, string> = { print: 'print(1)', pandas: 'import numpy, pandas' };
const OUTPUT = '1\n';

interface DebugRecord {
  readonly timings_ms: {
    readonly queued_ms: number;
    readonly container_start_ms: number;
    readonly run_ms: number;
    readonly total_ms: number;
    readonly code_ms: number | null;
  } | null;
}

/** One call's figures: the client's wall time, then its debug record's timings. */
interface Call {
  readonly kind: Kind;
  readonly executionId: string;
  /** From sending POST /execute?wait=true to its answer read whole. */
  readonly wallMs: number;
  /** From the start of its think time's (or client level's) counted calls to the send. */
  readonly sentAtMs: number;
  readonly queuedMs: number | null;
  readonly containerStartMs: number | null;
  readonly runMs: number | null;
  readonly totalMs: number | null;
  readonly codeMs: number | null;
  /** container_start_ms below WARM_START_MS: a container from the warm pool. */
  readonly warm: boolean | null;
}

async function request<T>(url: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 200) {
    throw new Error(
      `${body === undefined ? 'GET' : 'POST'} ${path}: ${response.status}, ${excerpt(text)}`,
    );
  }
  return JSON.parse(text) as T;
}

/** A call whose debug record is read later (readDebug), off the calls' clock. */
type SentCall = Omit<
  Call,
  'queuedMs' | 'containerStartMs' | 'runMs' | 'totalMs' | 'codeMs' | 'warm'
>;

/** One POST /execute?wait=true, checked: it completed and printed 1. */
async function call(url: string, kind: Kind, origin: number): Promise<SentCall> {
  const sentAt = performance.now();
  const result = await request<{
    execution_id: string;
    status: string;
    output: string;
    error: string | null;
    stderr: string;
  }>(url, '/execute?wait=true', { code: KIND_CODE[kind] });
  const wallMs = performance.now() - sentAt;
  if (result.status !== 'completed' || result.output !== OUTPUT) {
    throw new Error(
      `${KIND_LABEL[kind]}: ${result.status} (${result.error}), printed ` +
        `${excerpt(result.output)}, stderr ${excerpt(result.stderr)}`,
    );
  }
  return { kind, executionId: result.execution_id, wallMs, sentAtMs: sentAt - origin };
}

/** The calls' debug records, read one at a time once the calls are over. */
async function readDebug(url: string, sent: SentCall[]): Promise<Call[]> {
  const calls: Call[] = [];
  for (const each of sent) {
    const { timings_ms: t } = await request<DebugRecord>(url, `/debug/${each.executionId}`);
    calls.push({
      ...each,
      queuedMs: t?.queued_ms ?? null,
      containerStartMs: t?.container_start_ms ?? null,
      runMs: t?.run_ms ?? null,
      totalMs: t?.total_ms ?? null,
      codeMs: t?.code_ms ?? null,
      warm: t ? t.container_start_ms < WARM_START_MS : null,
    });
  }
  return calls;
}

// ---------------------------------------------------------------------------------------
// Summaries
// ---------------------------------------------------------------------------------------

/** p50/p95 of the wall time, the pool's share, and the p50 of each part, of some calls. */
interface Summary {
  readonly calls: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly warm: number;
  readonly containerStartP50Ms: number | null;
  readonly runP50Ms: number | null;
  readonly codeP50Ms: number | null;
  /** Wall time less total_ms: HTTP, the record's store, the client. */
  readonly outsideP50Ms: number | null;
}

function p50Of(values: (number | null)[]): number | null {
  const present = values.filter((value): value is number => value !== null);
  return present.length > 0 ? median(present) : null;
}

function summarize(calls: Call[]): Summary {
  const wall = calls.map((each) => each.wallMs);
  return {
    calls: calls.length,
    p50Ms: median(wall),
    p95Ms: percentile(wall, 95),
    warm: calls.filter((each) => each.warm === true).length,
    containerStartP50Ms: p50Of(calls.map((each) => each.containerStartMs)),
    runP50Ms: p50Of(calls.map((each) => each.runMs)),
    codeP50Ms: p50Of(calls.map((each) => each.codeMs)),
    outsideP50Ms: p50Of(
      calls.map((each) => (each.totalMs === null ? null : each.wallMs - each.totalMs)),
    ),
  };
}

type ByKind<T> = Record<Kind, T>;

const byKind = (calls: Call[]): ByKind<Summary> => ({
  print: summarize(calls.filter((each) => each.kind === 'print')),
  pandas: summarize(calls.filter((each) => each.kind === 'pandas')),
});

// ---------------------------------------------------------------------------------------
// One client at each think time; agents; the cold paths
// ---------------------------------------------------------------------------------------

interface ThinkTime {
  readonly thinkMs: number;
  readonly summary: ByKind<Summary>;
  readonly calls: Call[];
}

/** One client alternating the two kinds, `thinkMs` after each call (none at 0). */
async function alternating(
  url: string,
  plan: Plan,
  thinkMs: number,
  counted: number,
): Promise<SentCall[]> {
  const think = async () => {
    if (thinkMs > 0) await sleep(thinkMs);
  };
  if (plan.warmUp) {
    for (const kind of KINDS) {
      await call(url, kind, 0);
      await think();
    }
  }
  const sent: SentCall[] = [];
  const origin = performance.now();
  for (let n = 0; n < 2 * counted; n++) {
    sent.push(await call(url, KINDS[n % 2], origin));
    await think();
  }
  return sent;
}

async function thinkTimes(url: string, plan: Plan): Promise<ThinkTime[]> {
  const figures: ThinkTime[] = [];
  for (const thinkMs of plan.thinkTimesMs) {
    await sleep(plan.settleMs);
    const calls = await readDebug(url, await alternating(url, plan, thinkMs, plan.callsPerKind));
    figures.push({ thinkMs, summary: byKind(calls), calls });
    console.log(`  one client, think time ${thinkMs} ms: done`);
  }
  return figures;
}

interface Agents {
  readonly clients: number;
  readonly thinkMs: number;
  readonly summary: Summary;
  readonly calls: Call[];
}

/**
 * `clients` clients each calling print(1) with `plan.clientThinkMs` after each call, the
 * k-th starting k × think / clients after the first, so that their calls are spread, as
 * independent agents' would be, rather than sent in step.
 */
async function agents(url: string, plan: Plan, clients: number): Promise<Agents> {
  await sleep(plan.settleMs);
  const origin = performance.now();
  const client = async (k: number): Promise<SentCall[]> => {
    await sleep((k * plan.clientThinkMs) / clients);
    if (plan.warmUp) {
      await call(url, 'print', origin);
      await sleep(plan.clientThinkMs);
    }
    const sent: SentCall[] = [];
    for (let n = 0; n < plan.callsPerClient; n++) {
      sent.push(await call(url, 'print', origin));
      await sleep(plan.clientThinkMs);
    }
    return sent;
  };
  const sent = (await Promise.all(Array.from({ length: clients }, (_, k) => client(k)))).flat();
  sent.sort((a, b) => a.sentAtMs - b.sentAtMs);
  const calls = await readDebug(url, sent);
  console.log(`  ${clients} clients, think time ${plan.clientThinkMs} ms: done`);
  return { clients, thinkMs: plan.clientThinkMs, summary: summarize(calls), calls };
}

/** The bare path's code: the job's, with `python3 -I -c` in place of the harness. */
function bareSpec(
  kind: Kind,
  limits: ContainerLimits,
  runId: string,
): Docker.ContainerCreateOptions {
  return {
    Image: IMAGE,
    Cmd: ['python3', '-I', '-c', KIND_CODE[kind]],
    Env: [...SANDBOX_ENV],
    Labels: { [BARE_LABEL]: runId },
    ...sandboxContainerOptions(limits),
  };
}

/**
 * One job on the bare cold path: create, attach, start, stdin closed, all of stdout read,
 * wait, remove; its wall time. Checked like the service's answer.
 */
async function bareCall(kind: Kind, limits: ContainerLimits, runId: string): Promise<number> {
  const started = performance.now();
  const container = await docker.createContainer(bareSpec(kind, limits, runId));
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
    stream.end();
    const waited = (await container.wait()) as { StatusCode: number };
    await attachEnded;
    stdout.end();
    await finished(stdout);
    const output = Buffer.concat(chunks).toString('utf8');
    if (waited.StatusCode !== 0 || output !== OUTPUT) {
      throw new Error(`bare: ${KIND_LABEL[kind]} exited ${waited.StatusCode}, printed ${output}`);
    }
  } finally {
    await container.remove({ force: true, v: true });
  }
  return performance.now() - started;
}

interface BarePath {
  readonly p50Ms: ByKind<number>;
  readonly p95Ms: ByKind<number>;
  readonly ms: ByKind<number[]>;
}

/** The two kinds alternating back to back on the bare path. */
async function barePath(plan: Plan, limits: ContainerLimits, runId: string): Promise<BarePath> {
  if (plan.warmUp) for (const kind of KINDS) await bareCall(kind, limits, runId);
  const ms: ByKind<number[]> = { print: [], pandas: [] };
  for (let n = 0; n < 2 * plan.callsPerKind; n++) {
    const kind = KINDS[n % 2];
    ms[kind].push(await bareCall(kind, limits, runId));
  }
  console.log('  bare cold path (dockerode), back to back: done');
  return {
    p50Ms: { print: median(ms.print), pandas: median(ms.pandas) },
    p95Ms: { print: percentile(ms.print, 95), pandas: percentile(ms.pandas, 95) },
    ms,
  };
}

// ---------------------------------------------------------------------------------------
// The section
// ---------------------------------------------------------------------------------------

/** Containers on the engine with this label (or label=value), whatever their state. */
function containersLabelled(label: string): number {
  const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=${label}`], {
    encoding: 'utf8',
  });
  return ids.split('\n').filter((id) => id.trim() !== '').length;
}

interface Stopped {
  readonly instanceId: string;
  readonly how: string;
  readonly ms: number;
}

/**
 * The compiled service with `env`, settled, running `body`; stopped after, whatever
 * happens. Records in a folder of their own, gone with the run.
 */
async function withService<T>(
  plan: Plan,
  env: Record<string, string>,
  stopped: Stopped[],
  body: (url: string) => Promise<T>,
): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-rhythm-'));
  try {
    const service = await ServiceProcess.startCompiled({
      ...env,
      DATABASE_PATH: join(dataDir, 'sandbox.db'),
    });
    try {
      await sleep(plan.startSettleMs);
      return await body(service.url);
    } finally {
      stopped.push({ instanceId: env.SANDBOX_INSTANCE_ID, ...(await service.stop()) });
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Everything measured on one container runtime. */
interface RuntimeRun {
  /** `default` (runc), or runsc. */
  readonly runtime: string;
  readonly serviceEnv: Record<string, string>;
  readonly coldEnv: Record<string, string>;
  /** The same service with SANDBOX_WARM_POOL=0, the two kinds back to back. */
  readonly coldService: { readonly summary: ByKind<Summary>; readonly calls: Call[] };
  readonly bare: BarePath;
  readonly thinkTimes: ThinkTime[];
  readonly agents: Agents[];
}

async function runOn(
  plan: Plan,
  runtime: string | null,
  runId: string,
  limits: ContainerLimits,
  stopped: Stopped[],
): Promise<RuntimeRun> {
  const name = runtime ?? 'default';
  const runtimeEnv: Record<string, string> = runtime === null ? {} : { SANDBOX_RUNTIME: runtime };
  const coldEnv = {
    ...runtimeEnv,
    SANDBOX_INSTANCE_ID: `${runId}-${name}-cold`,
    SANDBOX_WARM_POOL: '0',
    RATE_LIMIT_PER_MINUTE: '0',
  };
  const serviceEnv = {
    ...runtimeEnv,
    SANDBOX_INSTANCE_ID: `${runId}-${name}`,
    SANDBOX_WARM_POOL: String(WARM_POOL),
    SANDBOX_PRELOAD: PRELOAD,
    RATE_LIMIT_PER_MINUTE: '0',
  };
  const coldCalls = await withService(plan, coldEnv, stopped, async (url) => {
    const calls = await readDebug(url, await alternating(url, plan, 0, plan.callsPerKind));
    console.log(`  the same service, SANDBOX_WARM_POOL=0, back to back: done`);
    return calls;
  });
  const bare = await barePath(plan, runtime === null ? limits : { ...limits, runtime }, runId);
  const [byThinkTime, agentLevels] = await withService(plan, serviceEnv, stopped, async (url) => {
    const figures = await thinkTimes(url, plan);
    const levels: Agents[] = [];
    for (const clients of plan.clientLevels) levels.push(await agents(url, plan, clients));
    return [figures, levels] as const;
  });
  return {
    runtime: name,
    serviceEnv,
    coldEnv,
    coldService: { summary: byKind(coldCalls), calls: coldCalls },
    bare,
    thinkTimes: byThinkTime,
    agents: agentLevels,
  };
}

interface Results {
  readonly date: string;
  readonly plan: Plan;
  readonly host: { readonly cpus: number; readonly loadAverageBefore: number[] };
  readonly warmStartMs: number;
  readonly targets: typeof TARGET;
  readonly runs: RuntimeRun[];
  /** BENCH_RUNSC=1 in a full run, but the engine has no runsc: why gVisor was skipped. */
  readonly gvisorSkipped: string | null;
  readonly containers: {
    readonly sandboxAllBefore: number;
    readonly sandboxAllAfter: number;
    readonly sandboxThisRunAfter: number;
    readonly bareThisRunAfter: number;
  };
  readonly servicesStopped: Stopped[];
  readonly seconds: number;
}

export async function rhythm(): Promise<void> {
  const plan = process.env.BENCH_SMOKE === '1' ? SMOKE : FULL;
  const withGvisor = process.env.BENCH_RUNSC === '1' && plan === FULL;
  const startedAt = performance.now();
  const date = new Date().toISOString();
  console.log(
    `\nRhythm (${plan.name} run): one client at each think time, agents at ` +
      `${plan.clientThinkMs} ms, the cold path beside; compiled service in its own process, ` +
      `warm pool of ${WARM_POOL}, preload ${PRELOAD}`,
  );
  const runId = `bench-rhythm-${randomUUID().slice(0, 8)}`;
  const limits = loadConfig({}).limits;
  const loadAverageBefore = loadavg().map((load) => Number(load.toFixed(2)));
  const sandboxAllBefore = containersLabelled(SANDBOX_LABEL);
  const stopped: Stopped[] = [];
  const runs = [await runOn(plan, null, runId, limits, stopped)];
  let gvisorSkipped: string | null = null;
  if (withGvisor) {
    gvisorSkipped = await runscMissing();
    if (gvisorSkipped === null) {
      runs.push(await runOn(plan, GVISOR_RUNTIME, runId, limits, stopped));
    }
  }
  const results: Results = {
    date,
    plan,
    host: { cpus: cpus().length, loadAverageBefore },
    warmStartMs: WARM_START_MS,
    targets: TARGET,
    runs,
    gvisorSkipped,
    containers: {
      sandboxAllBefore,
      sandboxAllAfter: containersLabelled(SANDBOX_LABEL),
      sandboxThisRunAfter: stopped
        .map(({ instanceId }) => containersLabelled(`${SANDBOX_LABEL}=${instanceId}`))
        .reduce((total, count) => total + count, 0),
      bareThisRunAfter: containersLabelled(`${BARE_LABEL}=${runId}`),
    },
    servicesStopped: stopped,
    seconds: (performance.now() - startedAt) / 1000,
  };
  printTable(results);
  console.log(`\nAll figures: ${writeResults(results)}`);
}

// ---------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------

const msText = (ms: number | null) => (ms === null ? '-' : `${ms.toFixed(0)} ms`);
const num = (ms: number | null, width: number) =>
  (ms === null ? '-' : ms.toFixed(0)).padStart(width);
const verdict = (met: boolean) => (met ? 'met' : 'missed');

/** One line of the think-time table: both kinds side by side. */
function thinkLine(label: string, summary: ByKind<Summary>): string {
  const part = (s: Summary) =>
    `${num(s.p50Ms, 6)} ${num(s.p95Ms, 6)} ${`${s.warm}/${s.calls}`.padStart(6)} ` +
    `${num(s.containerStartP50Ms, 6)} ${num(s.runP50Ms, 6)}`;
  return (
    `  ${label.padStart(10)}  ${part(summary.print)}   ${part(summary.pandas)}   ` +
    `${ratioOf(summary.pandas.p50Ms, summary.print.p50Ms).padStart(6)}`
  );
}

function printRun(plan: Plan, run: RuntimeRun): void {
  console.log(
    `\nOne client, print(1) and import numpy, pandas alternating, a think time after each ` +
      `call; runtime ${run.runtime} (${plan.callsPerKind} calls of each kind per think time; ms)`,
  );
  const head = '   p50    p95   pool  start    run';
  console.log(
    `  ${''.padStart(10)}  ${'print(1)'.padEnd(head.length)}   ${'import numpy, pandas'.padEnd(head.length)}   pandas`,
  );
  console.log(`  ${'think time'.padStart(10)}  ${head}   ${head}   /print`);
  for (const each of run.thinkTimes) {
    console.log(thinkLine(`${each.thinkMs} ms`, each.summary));
  }
  console.log(thinkLine('pool 0', run.coldService.summary));
  console.log(
    `  pool: jobs whose container_start_ms < ${WARM_START_MS} ms (a warm container); ` +
      'start, run: p50 of container_start_ms and run_ms (GET /debug/{id})',
  );
  console.log(
    '  pool 0: the same service with SANDBOX_WARM_POOL=0, the two kinds alternating back to back',
  );

  const { bare, coldService } = run;
  console.log('\nThe cold paths, back to back (p50 / p95)');
  for (const kind of KINDS) {
    const s = coldService.summary[kind];
    row(
      `service, SANDBOX_WARM_POOL=0, ${KIND_LABEL[kind]}`,
      `${s.p50Ms.toFixed(0)} / ${s.p95Ms.toFixed(0)}`,
      `start ${msText(s.containerStartP50Ms)}, run ${msText(s.runP50Ms)}, ` +
        `outside the runner ${msText(s.outsideP50Ms)}`,
    );
  }
  for (const kind of KINDS) {
    row(
      `bare cold path (dockerode), ${KIND_LABEL[kind]}`,
      `${bare.p50Ms[kind].toFixed(0)} / ${bare.p95Ms[kind].toFixed(0)}`,
      'create, attach, start, wait, remove; python3 -I -c',
    );
  }

  console.log(
    `\nAgents sharing the instance: print(1), ${plan.clientThinkMs} ms think time each, ` +
      `${plan.callsPerClient} calls per client`,
  );
  sideBySide('', 'p50', 'p95', 'pool', 'p50 of container_start_ms, run_ms');
  for (const level of run.agents) {
    const s = level.summary;
    sideBySide(
      `${level.clients} clients`,
      msText(s.p50Ms),
      msText(s.p95Ms),
      `${s.warm}/${s.calls}`,
      `${msText(s.containerStartP50Ms)}, ${msText(s.runP50Ms)}`,
    );
  }

  console.log(`\nTargets (issue 17), runtime ${run.runtime}: printed, not asserted`);
  for (const each of run.thinkTimes) {
    if (each.thinkMs < TARGET.fromThinkMs) continue;
    const { print, pandas } = each.summary;
    const ratio = pandas.p50Ms / print.p50Ms;
    row(
      `think ${each.thinkMs} ms: print(1) p50 / p95, pandas / print(1)`,
      `${print.p50Ms.toFixed(0)} / ${print.p95Ms.toFixed(0)}`,
      `${ratio.toFixed(2)}; targets ≤ ${TARGET.printP50Ms} / ≤ ${TARGET.printP95Ms} ms: ` +
        `${verdict(print.p50Ms <= TARGET.printP50Ms && print.p95Ms <= TARGET.printP95Ms)}, ` +
        `≤ ${TARGET.pandasRatio}: ${verdict(ratio <= TARGET.pandasRatio)}`,
    );
  }
  const backToBack = run.thinkTimes.find((each) => each.thinkMs === 0);
  if (backToBack) {
    const p50 = backToBack.summary.print.p50Ms;
    for (const [name, cold] of [
      ['service, pool 0', coldService.summary.print.p50Ms],
      ['bare cold path', bare.p50Ms.print],
    ] as const) {
      row(
        `think 0 ms: print(1) p50 / ${name}`,
        ratioOf(p50, cold),
        `${msText(p50)} / ${msText(cold)}; target ≤ ${TARGET.backToBackRatio}: ` +
          verdict(p50 / cold <= TARGET.backToBackRatio),
      );
    }
  }
  for (const level of run.agents) {
    row(
      `${level.clients} clients, ${level.thinkMs} ms think time: print(1) p50`,
      msText(level.summary.p50Ms),
      `target ≤ ${TARGET.clientsP50Ms} ms: ${verdict(level.summary.p50Ms <= TARGET.clientsP50Ms)}`,
    );
  }
}

function printTable(results: Results): void {
  for (const run of results.runs) printRun(results.plan, run);
  if (results.gvisorSkipped) row('gVisor (BENCH_RUNSC=1)', '-', results.gvisorSkipped);

  const { containers } = results;
  console.log('\nContainers');
  row(
    `${SANDBOX_LABEL} containers, all instances, before / after`,
    `${containers.sandboxAllBefore} / ${containers.sandboxAllAfter}`,
    `this run's left: ${containers.sandboxThisRunAfter} (must be 0)`,
  );
  row('bare path containers left', String(containers.bareThisRunAfter), 'must be 0');
  for (const stopped of results.servicesStopped) {
    row(`${stopped.instanceId} stopped by SIGTERM`, msText(stopped.ms), stopped.how);
  }
  row(
    'section took',
    `${results.seconds.toFixed(0)} s`,
    `load average before ${results.host.loadAverageBefore.join(', ')} on ${results.host.cpus} cores`,
  );
}

/** bench/results/rhythm-<ISO date>.json, the colons of the time made dashes. */
function writeResults(results: Results): string {
  const folder = join(__dirname, 'results');
  mkdirSync(folder, { recursive: true });
  const file = join(folder, `rhythm-${results.date.replace(/:/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}
