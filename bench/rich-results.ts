/**
 * The bench's "Rich results" section (issue 16): what figures, models, table previews and
 * profiles cost, each side by side with its baseline in one run, against the compiled
 * service in a process of its own (as deployed, see test/support/separate-service.ts) on
 * the real engine, warm pool of 2:
 *
 * - Three kinds of job, one client, POST /execute?wait=true with a pause after each so the
 *   pool refills, interleaved so that noise hits all alike: `print(1)`, matplotlib (one
 *   line plot and a title; the result's `figures` carries it as a PNG) and scikit-learn (a
 *   LinearRegression fit on 1,000 rows of numpy random data); p50/p90 of the wall time and
 *   each kind's p50 over print(1)'s. Twice: a service with the default SANDBOX_PRELOAD
 *   (numpy,pandas), then one preloading matplotlib.pyplot and sklearn.linear_model too;
 *   with each, the memory of an idle warm container (the engine's figure, as `docker stats`
 *   shows it) and the peak RSS of the print(1) jobs (GET /debug/{id}: the forked worker,
 *   preloaded modules included).
 * - A DataFrame of 1,000,000 rows built with `debug_mode: true` (its variables captured,
 *   the DataFrame's preview among them) against `debug_mode: false`; the capture happens
 *   after the code, so (run_ms on) − (run_ms off) is its cost, code_ms the code's own.
 * - A pure-Python loop of about 1 s with `profile: true` against without; code_ms of each
 *   from GET /debug/{id}. A profiled run may reach its timeout: it is counted, and no
 *   profiled run follows it (the ratio is then a lower bound).
 *
 * Prints a table and writes every figure to bench/results/rich-results-<date>.json.
 *
 *   BENCH_ONLY=results npm run bench
 *   BENCH_ONLY=results BENCH_SMOKE=1 npm run bench
 *
 * The smoke run: 2 runs each, 0.5 s pauses, 100,000 rows, a loop of 0.05 s.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { SANDBOX_LABEL } from '@brain-net/runner/runner-options';
import { ServiceProcess } from '../test/support/separate-service';
import { median, percentile, ratioOf, row, sideBySide } from './figures';

const MIB = 2 ** 20;

/** How much of each figure to take: the full run, or CI's smoke run. */
interface Plan {
  readonly name: string;
  /** One uncounted run of each job first: page cache, the engine, the service's JIT. */
  readonly warmUp: boolean;
  /** Counted runs of each job. */
  readonly runs: number;
  readonly frameRows: number;
  /** Calls of the profiled loop's function: about 1 s of pure Python here unprofiled. */
  readonly loopCalls: number;
  /**
   * The profiled loop's `timeout`, in seconds: once a run reaches it, the profiled runs
   * stop there (the ratio is then at least this over the unprofiled p50).
   */
  readonly profileTimeoutS: number;
  /** After each service listens: the pool's first containers start and preload. */
  readonly settleMs: number;
  /**
   * Then, until the warm containers' memory holds still (their preload done), at most:
   * 0 reads it once.
   */
  readonly memoryWaitMs: number;
  /** After each run: the warm pool refills, as between an agent's requests. */
  readonly pauseMs: number;
}

const FULL: Plan = {
  name: 'full',
  warmUp: true,
  runs: 15,
  frameRows: 1_000_000,
  loopCalls: 12_000_000,
  profileTimeoutS: 60,
  settleMs: 6000,
  memoryWaitMs: 30_000,
  pauseMs: 1000,
};

const SMOKE: Plan = {
  name: 'smoke',
  warmUp: false,
  runs: 2,
  frameRows: 100_000,
  // About 0.05 s: profiled, about 30 times that (tracemalloc follows every allocation).
  loopCalls: 500_000,
  profileTimeoutS: 5,
  settleMs: 1000,
  memoryWaitMs: 0,
  pauseMs: 500,
};

const WARM_POOL = 2;
const DEFAULT_PRELOAD = 'numpy,pandas';
const RICH_PRELOAD = 'numpy,pandas,matplotlib.pyplot,sklearn.linear_model';
/** Memory that moved less than this between two reads a second apart holds still. */
const STILL_BYTES = MIB;
/** A job whose container_start_ms is below this had a container from the warm pool. */
const WARM_START_MS = 50;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const excerpt = (text: string) => (text.length > 300 ? `${text.slice(0, 300)}…` : text);

// ---------------------------------------------------------------------------------------
// The jobs
// ---------------------------------------------------------------------------------------

const KINDS = ['print', 'plot', 'fit'] as const;
type Kind = (typeof KINDS)[number];

const KIND_CODE: Record<Kind, string> = {
  print: 'print(1)',
  plot: 'import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.title("t")',
  fit: [
    'import numpy as np',
    'from sklearn.linear_model import LinearRegression',
    'rng = np.random.default_rng(0)',
    'X = rng.random((1000, 3))',
    'y = X @ np.array([1.0, 2.0, 3.0]) + rng.normal(0, 0.01, 1000)',
    'print(LinearRegression().fit(X, y).coef_.round(1).tolist())',
  ].join('\n'),
};

const KIND_OUTPUT: Record<Kind, string> = {
  print: '1\n',
  plot: '',
  fit: '[1.0, 2.0, 3.0]\n',
};

const KIND_LABEL: Record<Kind, string> = {
  print: 'print(1)',
  plot: 'matplotlib.pyplot: one plot, a title',
  fit: 'sklearn LinearRegression, fit on 1,000 rows',
};

const frameCode = (rows: number) =>
  [
    'import numpy as np',
    'import pandas as pd',
    `n = ${rows}`,
    'df = pd.DataFrame({"a": np.random.rand(n), "b": np.arange(n), "c": ["x"] * n})',
    'print(df.shape)',
  ].join('\n');

const loopCode = (calls: number) =>
  [
    'def step(i):',
    '    return i % 7',
    '',
    '',
    'def work(n):',
    '    total = 0',
    '    for i in range(n):',
    '        total += step(i)',
    '    return total',
    '',
    '',
    `print(work(${calls}))`,
  ].join('\n');

/** What work(calls) prints: the sum of i % 7 for i below calls. */
function loopOutput(calls: number): string {
  const rest = calls % 7;
  return `${Math.floor(calls / 7) * 21 + (rest * (rest - 1)) / 2}\n`;
}

// ---------------------------------------------------------------------------------------
// One run: the answer, then its debug record
// ---------------------------------------------------------------------------------------

interface Figure {
  readonly index: number;
  readonly width: number | null;
  readonly height: number | null;
  readonly size: number | null;
  readonly error: string | null;
}

interface ExecutionResult {
  readonly execution_id: string;
  readonly status: string;
  readonly output: string;
  readonly stderr: string;
  readonly error: string | null;
  /** Absent from a service built before figures existed. */
  readonly figures?: Figure[];
}

interface Preview {
  readonly kind: string;
  readonly shape: number[];
  readonly columns?: { name: string; dtype: string }[];
  readonly rows?: unknown[][];
}

interface DebugRecord {
  readonly timings_ms: {
    readonly container_start_ms: number;
    readonly run_ms: number;
    readonly total_ms: number;
    readonly code_ms: number | null;
  } | null;
  readonly resource_usage: { readonly peak_memory_bytes: number } | null;
  readonly variables_after: Record<string, { type: string; preview?: Preview }> | null;
  readonly profile: {
    readonly functions: { function: string; cumulative_ms: number; user_code: boolean }[];
    readonly error: string | null;
  } | null;
}

/** One run's figures. */
interface Run {
  readonly executionId: string;
  /** From sending POST /execute?wait=true to its answer read whole. */
  readonly wallMs: number;
  readonly containerStartMs: number | null;
  readonly runMs: number | null;
  readonly codeMs: number | null;
  readonly peakMemoryBytes: number | null;
  /** Ended by its `timeout` (allowed for profiled runs only). */
  readonly timedOut: boolean;
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

/**
 * Runs the request and fetches its debug record, then pauses so that the pool refills;
 * throws unless it completed and printed `output` (or timed out, where `timeoutAllowed`).
 */
async function runOnce(
  url: string,
  body: Record<string, unknown>,
  output: string,
  what: string,
  pauseMs: number,
  timeoutAllowed = false,
): Promise<{ run: Run; result: ExecutionResult; debug: DebugRecord }> {
  const started = performance.now();
  const result = await request<ExecutionResult>(url, '/execute?wait=true', body);
  const wallMs = performance.now() - started;
  const timedOut = timeoutAllowed && result.status === 'timeout';
  if (!timedOut && (result.status !== 'completed' || result.output !== output)) {
    throw new Error(
      `${what}: ${result.status} (${result.error}), printed ${excerpt(result.output)}, ` +
        `stderr ${excerpt(result.stderr)}`,
    );
  }
  const debug = await request<DebugRecord>(url, `/debug/${result.execution_id}`);
  await sleep(pauseMs);
  return {
    run: {
      executionId: result.execution_id,
      wallMs,
      containerStartMs: debug.timings_ms?.container_start_ms ?? null,
      runMs: debug.timings_ms?.run_ms ?? null,
      codeMs: debug.timings_ms?.code_ms ?? null,
      peakMemoryBytes: debug.resource_usage?.peak_memory_bytes ?? null,
      timedOut,
    },
    result,
    debug,
  };
}

// ---------------------------------------------------------------------------------------
// Three kinds of job, interleaved, and the warm containers' memory
// ---------------------------------------------------------------------------------------

/** What the matplotlib runs' results carried. */
interface FigureCheck {
  /** Runs whose result had at least one figure. */
  readonly runsWithFigures: number;
  /** Of those, runs whose first figure had a width above 0 (a PNG rendered). */
  readonly runsWithWidth: number;
  readonly firstFigure: Figure | null;
}

/** The memory of each idle warm container, as the engine counts it. */
interface WarmMemory {
  /** The reads held still (or memoryWaitMs was 0); false: the last read, preload unfinished. */
  readonly still: boolean;
  /** usage − inactive file cache: what `docker stats` shows. */
  readonly usageBytes: number[];
  /** Anonymous memory (rss in cgroup v1, anon in v2). */
  readonly anonBytes: number[];
}

interface KindsFigures {
  readonly preload: string;
  readonly warmMemory: WarmMemory;
  readonly runs: Record<Kind, Run[]>;
  readonly figures: FigureCheck;
}

const docker = new Docker();

/** Each running container of this instance: with no job running, the warm pool's. */
async function readWarmMemory(instanceId: string): Promise<Omit<WarmMemory, 'still'>> {
  const listed = await docker.listContainers({
    filters: { label: [`${SANDBOX_LABEL}=${instanceId}`], status: ['running'] },
  });
  const usageBytes: number[] = [];
  const anonBytes: number[] = [];
  for (const { Id } of listed) {
    const stats = (await docker.getContainer(Id).stats({ stream: false, 'one-shot': true })) as {
      memory_stats?: { usage?: number; stats?: Record<string, number> };
    };
    const memory = stats.memory_stats;
    if (memory?.usage === undefined) continue;
    const numbers = memory.stats ?? {};
    const inactive = numbers.inactive_file ?? numbers.total_inactive_file ?? 0;
    usageBytes.push(memory.usage - inactive);
    anonBytes.push(numbers.anon ?? numbers.rss ?? 0);
  }
  return { usageBytes, anonBytes };
}

/**
 * The warm containers' memory once it holds still between two reads a second apart (their
 * preload done), waiting at most `waitMs`.
 */
async function warmMemory(instanceId: string, waitMs: number): Promise<WarmMemory> {
  const deadline = Date.now() + waitMs;
  let last = await readWarmMemory(instanceId);
  while (Date.now() < deadline) {
    await sleep(1000);
    const next = await readWarmMemory(instanceId);
    const still =
      next.usageBytes.length === WARM_POOL &&
      last.usageBytes.length === WARM_POOL &&
      next.usageBytes.every((bytes, n) => Math.abs(bytes - last.usageBytes[n]) < STILL_BYTES);
    last = next;
    if (still) return { still, ...last };
  }
  return { still: waitMs === 0, ...last };
}

/** Each round runs every kind, the first of them rotating, so that none always goes first. */
async function threeKinds(
  url: string,
  plan: Plan,
  preload: string,
  instanceId: string,
): Promise<KindsFigures> {
  const memory = await warmMemory(instanceId, plan.memoryWaitMs);
  const body = (kind: Kind) => ({ code: KIND_CODE[kind] });
  if (plan.warmUp) {
    for (const kind of KINDS) {
      await runOnce(url, body(kind), KIND_OUTPUT[kind], kind, plan.pauseMs);
    }
  }
  const runs: Record<Kind, Run[]> = { print: [], plot: [], fit: [] };
  let runsWithFigures = 0;
  let runsWithWidth = 0;
  let firstFigure: Figure | null = null;
  for (let round = 0; round < plan.runs; round++) {
    for (let turn = 0; turn < KINDS.length; turn++) {
      const kind = KINDS[(round + turn) % KINDS.length];
      const { run, result } = await runOnce(url, body(kind), KIND_OUTPUT[kind], kind, plan.pauseMs);
      runs[kind].push(run);
      const figure = result.figures?.[0];
      if (kind === 'plot' && figure) {
        runsWithFigures += 1;
        if ((figure.width ?? 0) > 0) runsWithWidth += 1;
        firstFigure ??= figure;
      }
    }
  }
  console.log(`  three kinds, preload ${preload}: done`);
  return {
    preload,
    warmMemory: memory,
    runs,
    figures: { runsWithFigures, runsWithWidth, firstFigure },
  };
}

// ---------------------------------------------------------------------------------------
// A pair of ways, alternating: the DataFrame's capture, the profile
// ---------------------------------------------------------------------------------------

interface Pair {
  readonly on: Run[];
  readonly off: Run[];
}

/**
 * `plan.runs` runs of each body, alternating which goes first, after one uncounted run of
 * each in the full plan; `inspect` sees every run with `on`. With `onMayTimeOut`, a run
 * with `on` may end by its timeout: it is kept, and no more runs with `on` follow.
 */
async function alternate(
  url: string,
  plan: Plan,
  bodies: { on: Record<string, unknown>; off: Record<string, unknown> },
  output: string,
  what: string,
  inspect: (debug: DebugRecord, result: ExecutionResult) => void,
  onMayTimeOut = false,
): Promise<Pair> {
  let onTimedOut = false;
  const once = async (way: 'on' | 'off') => {
    const mayTimeOut = onMayTimeOut && way === 'on';
    const { run, result, debug } = await runOnce(
      url,
      bodies[way],
      output,
      `${what}, ${way}`,
      plan.pauseMs,
      mayTimeOut,
    );
    if (way === 'on') inspect(debug, result);
    onTimedOut ||= run.timedOut;
    return run;
  };
  const pair: Pair = { on: [], off: [] };
  if (plan.warmUp) {
    const first = await once('on');
    // Counted all the same: a run that reached its timeout is the figure.
    if (first.timedOut) pair.on.push(first);
    await once('off');
  }
  for (let round = 0; round < plan.runs; round++) {
    for (const way of round % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
      if (way === 'on' && onTimedOut) continue;
      pair[way].push(await once(way));
    }
  }
  console.log(`  ${what}: done`);
  return pair;
}

interface FrameFigures {
  readonly rows: number;
  /** debug_mode true (on) against false (off). */
  readonly runs: Pair;
  /** What variables_after said of `df` in the last run with debug_mode. */
  readonly df: { type: string; preview: Preview | null } | null;
}

async function framePreview(url: string, plan: Plan): Promise<FrameFigures> {
  const code = frameCode(plan.frameRows);
  let df: FrameFigures['df'] = null;
  const runs = await alternate(
    url,
    plan,
    { on: { code, debug_mode: true }, off: { code, debug_mode: false } },
    `(${plan.frameRows}, 3)\n`,
    `a ${plan.frameRows}-row DataFrame, debug_mode`,
    (debug) => {
      const variable = debug.variables_after?.df;
      if (!variable) throw new Error('debug_mode: variables_after has no df');
      const preview = variable.preview ?? null;
      df = {
        type: variable.type,
        preview: preview && { kind: preview.kind, shape: preview.shape, columns: preview.columns },
      };
    },
  );
  return { rows: plan.frameRows, runs, df };
}

interface ProfileFigures {
  readonly calls: number;
  /** Each run's `timeout`. */
  readonly timeoutS: number;
  /** profile true (on) against absent (off); a run with it may have reached its timeout. */
  readonly runs: Pair;
  /** The profile of the last run with it: its first functions, or null when none came. */
  readonly topFunctions: { function: string; cumulative_ms: number }[] | null;
  readonly profileError: string | null;
}

async function profileOverhead(url: string, plan: Plan): Promise<ProfileFigures> {
  const code = loopCode(plan.loopCalls);
  let topFunctions: ProfileFigures['topFunctions'] = null;
  let profileError: string | null = null;
  const runs = await alternate(
    url,
    plan,
    {
      on: { code, profile: true, timeout: plan.profileTimeoutS },
      off: { code, timeout: plan.profileTimeoutS },
    },
    loopOutput(plan.loopCalls),
    'a pure-Python loop, profile',
    (debug) => {
      if (!debug.profile) return;
      topFunctions = debug.profile.functions
        .slice(0, 3)
        .map(({ function: name, cumulative_ms }) => ({ function: name, cumulative_ms }));
      profileError = debug.profile.error;
    },
    true,
  );
  return {
    calls: plan.loopCalls,
    timeoutS: plan.profileTimeoutS,
    runs,
    topFunctions,
    profileError,
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

interface Results {
  readonly date: string;
  readonly plan: Plan;
  readonly host: { readonly cpus: number; readonly loadAverageBefore: number[] };
  readonly serviceEnv: Record<string, string>;
  /** The default preload first, then the rich one. */
  readonly kinds: KindsFigures[];
  readonly frame: FrameFigures;
  readonly profile: ProfileFigures;
  readonly containers: {
    readonly sandboxAllBefore: number;
    readonly sandboxAllAfter: number;
    readonly sandboxThisRunAfter: number;
  };
  readonly servicesStopped: { readonly how: string; readonly ms: number }[];
  readonly seconds: number;
}

/**
 * The compiled service with `preload`, settled, running `body`; stopped after, whatever
 * happens. Records in a folder of their own, gone with the run.
 */
async function withService<T>(
  plan: Plan,
  serviceEnv: Record<string, string>,
  preload: string,
  stopped: { how: string; ms: number }[],
  body: (url: string, instanceId: string) => Promise<T>,
): Promise<T> {
  const instanceId = `${serviceEnv.SANDBOX_INSTANCE_ID}-${stopped.length}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-rich-results-'));
  try {
    const service = await ServiceProcess.startCompiled({
      ...serviceEnv,
      SANDBOX_INSTANCE_ID: instanceId,
      SANDBOX_PRELOAD: preload,
      DATABASE_PATH: join(dataDir, 'sandbox.db'),
    });
    try {
      await sleep(plan.settleMs);
      return await body(service.url, instanceId);
    } finally {
      stopped.push(await service.stop());
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function richResults(): Promise<void> {
  const plan = process.env.BENCH_SMOKE === '1' ? SMOKE : FULL;
  const startedAt = performance.now();
  const date = new Date().toISOString();
  console.log(
    `\nRich results (${plan.name} run): plots, models, table previews and profiles, ` +
      `compiled service in its own process, warm pool of ${WARM_POOL}`,
  );
  const runId = `bench-results-${randomUUID().slice(0, 8)}`;
  const serviceEnv = {
    SANDBOX_INSTANCE_ID: runId,
    SANDBOX_WARM_POOL: String(WARM_POOL),
    RATE_LIMIT_PER_MINUTE: '0',
  };
  const loadAverageBefore = loadavg().map((load) => Number(load.toFixed(2)));
  const sandboxAllBefore = containersLabelled(SANDBOX_LABEL);
  const servicesStopped: { how: string; ms: number }[] = [];
  const [first, frame, profile] = await withService(
    plan,
    serviceEnv,
    DEFAULT_PRELOAD,
    servicesStopped,
    async (url, instanceId) =>
      [
        await threeKinds(url, plan, DEFAULT_PRELOAD, instanceId),
        await framePreview(url, plan),
        await profileOverhead(url, plan),
      ] as const,
  );
  const second = await withService(
    plan,
    serviceEnv,
    RICH_PRELOAD,
    servicesStopped,
    (url, instanceId) => threeKinds(url, plan, RICH_PRELOAD, instanceId),
  );
  const results: Results = {
    date,
    plan,
    host: { cpus: cpus().length, loadAverageBefore },
    serviceEnv,
    kinds: [first, second],
    frame,
    profile,
    containers: {
      sandboxAllBefore,
      sandboxAllAfter: containersLabelled(SANDBOX_LABEL),
      sandboxThisRunAfter: servicesStopped
        .map((_, n) => containersLabelled(`${SANDBOX_LABEL}=${runId}-${n}`))
        .reduce((total, count) => total + count, 0),
    },
    servicesStopped,
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

/** The values of one field over the runs, the runs without it left out. */
function field(runs: Run[], name: 'wallMs' | 'runMs' | 'codeMs' | 'peakMemoryBytes'): number[] {
  return runs.map((run) => run[name]).filter((value): value is number => value !== null);
}

const p50 = (values: number[]) => (values.length > 0 ? median(values) : Number.NaN);
const msOf = (values: number[]) => (values.length > 0 ? msText(median(values)) : '-');

function printKinds(plan: Plan, kinds: KindsFigures): void {
  const baseline = median(field(kinds.runs.print, 'wallMs'));
  console.log(`\n  preload ${kinds.preload}`);
  for (const kind of KINDS) {
    const runs = kinds.runs[kind];
    const wall = field(runs, 'wallMs');
    const warm = runs.filter(
      (run) => run.containerStartMs !== null && run.containerStartMs < WARM_START_MS,
    ).length;
    sideBySide(
      `  ${KIND_LABEL[kind]}`,
      msText(median(wall)),
      msText(percentile(wall, 90)),
      ratioOf(median(wall), baseline),
      `code_ms p50 ${msOf(field(runs, 'codeMs'))}; from the pool ${warm}/${plan.runs}`,
    );
  }
  const { usageBytes, anonBytes } = kinds.warmMemory;
  row(
    '  an idle warm container, memory (docker stats)',
    usageBytes.length > 0 ? mibText(median(usageBytes)) : '-',
    `anon ${anonBytes.length > 0 ? mibText(median(anonBytes)) : '-'}; ` +
      `${usageBytes.length} containers read${kinds.warmMemory.still ? '' : ', still preloading'}`,
  );
  const peak = field(kinds.runs.print, 'peakMemoryBytes');
  row(
    '  print(1), peak RSS of the job, p50',
    peak.length > 0 ? mibText(median(peak)) : '-',
    'GET /debug/{id}: the forked worker, preloaded modules included',
  );
}

function printFigures(figures: FigureCheck, runs: number): void {
  const first = figures.firstFigure;
  row(
    '  matplotlib runs whose result had a figure',
    `${figures.runsWithFigures}/${runs}`,
    figures.runsWithFigures === 0
      ? 'none: this service does not capture figures yet'
      : `width > 0 in ${figures.runsWithWidth}; the first ${first?.width}×${first?.height}, ` +
          `${first?.size} bytes`,
  );
}

function printTable(results: Results): void {
  const { plan, kinds, frame, profile, containers } = results;
  console.log(
    `\nThree kinds of job, one client, ${plan.pauseMs / 1000} s pause after each, ` +
      `interleaved, warm pool of ${WARM_POOL} (${plan.runs} runs each)`,
  );
  sideBySide('', 'p50', 'p90', 'ratio', 'p50 / print(1) p50, target ≤ 1.5');
  for (const each of kinds) {
    printKinds(plan, each);
    printFigures(each.figures, plan.runs);
  }
  const [first, second] = kinds;
  const firstMemory = first.warmMemory.usageBytes;
  const secondMemory = second.warmMemory.usageBytes;
  if (firstMemory.length > 0 && secondMemory.length > 0) {
    sideBySide(
      'idle warm container, rich preload against default',
      mibText(median(secondMemory)),
      mibText(median(firstMemory)),
      ratioOf(median(secondMemory), median(firstMemory)),
      `× ${WARM_POOL} warm containers`,
    );
  }

  const on = frame.runs.on;
  const off = frame.runs.off;
  console.log(
    `\nA DataFrame of ${frame.rows.toLocaleString('en')} rows × 3, debug_mode on against off ` +
      `(p50, ${plan.runs} runs each, alternating)`,
  );
  sideBySide('', 'on', 'off', 'on−off', '');
  for (const [name, key, note] of [
    ['wall, POST /execute?wait=true', 'wallMs', ''],
    ['run_ms (container start to exit)', 'runMs', 'the capture is in it'],
    ['code_ms (the code alone)', 'codeMs', 'the capture is not'],
  ] as const) {
    const a = p50(field(on, key));
    const b = p50(field(off, key));
    sideBySide(name, msText(a), msText(b), msText(a - b), note);
  }
  const preview = frame.df?.preview;
  row(
    'df in variables_after',
    frame.df?.type ?? '-',
    preview
      ? `preview: ${preview.kind}, shape ${JSON.stringify(preview.shape)}, ` +
          `${preview.columns?.length ?? 0} columns`
      : 'no preview: this service captures its repr only',
  );

  console.log(
    `\nA pure-Python loop of ${profile.calls.toLocaleString('en')} calls, profile on against off ` +
      `(p50, ${plan.runs} runs each, alternating)`,
  );
  sideBySide('', 'on', 'off', 'ratio', 'on / off');
  const finished = profile.runs.on.filter((run) => !run.timedOut);
  for (const [name, key] of [
    ['code_ms (GET /debug/{id})', 'codeMs'],
    ['wall, POST /execute?wait=true', 'wallMs'],
  ] as const) {
    const a = p50(field(finished, key));
    const b = p50(field(profile.runs.off, key));
    const some = finished.length > 0;
    sideBySide(name, some ? msText(a) : '-', msText(b), some ? ratioOf(a, b) : '-');
  }
  const timedOut = profile.runs.on.length - finished.length;
  if (timedOut > 0) {
    const atLeast = ratioOf(profile.timeoutS * 1000, p50(field(profile.runs.off, 'codeMs')));
    row(
      'profiled runs that reached their timeout',
      `${timedOut}/${profile.runs.on.length}`,
      `timeout ${profile.timeoutS} s: on / off ≥ ${atLeast}; no profiled run after it`,
    );
  }
  row(
    'profile in the debug record',
    profile.topFunctions === null ? 'none' : 'yes',
    profile.topFunctions === null
      ? timedOut > 0
        ? 'none: no profiled run ended in time'
        : 'this service does not profile yet: the ratio is the noise'
      : `top: ${profile.topFunctions.map((f) => `${f.function} ${msText(f.cumulative_ms)}`).join(', ')}` +
          (profile.profileError ? `; error: ${profile.profileError}` : ''),
  );

  console.log('\nContainers');
  row(
    `${SANDBOX_LABEL} containers, all instances, before / after`,
    `${containers.sandboxAllBefore} / ${containers.sandboxAllAfter}`,
    `this run's left: ${containers.sandboxThisRunAfter} (must be 0)`,
  );
  for (const [n, stopped] of results.servicesStopped.entries()) {
    row(`service ${n + 1} stopped by SIGTERM`, msText(stopped.ms), stopped.how);
  }
  row(
    'section took',
    `${results.seconds.toFixed(0)} s`,
    `load average before ${results.host.loadAverageBefore.join(', ')} on ${results.host.cpus} cores`,
  );
}

/** bench/results/rich-results-<ISO date>.json, the colons of the time made dashes. */
function writeResults(results: Results): string {
  const folder = join(__dirname, 'results');
  mkdirSync(folder, { recursive: true });
  const file = join(folder, `rich-results-${results.date.replace(/:/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}
