/**
 * The bench's "Pipelines" section: what a data pipeline does with the service, each way
 * side by side in one run, against the compiled service in a process of its own (as
 * deployed, see test/support/separate-service.ts) on the real engine:
 *
 * - Many small inputs: N × `print(input_data["n"])` as one batch (POST
 *   /executions/batch?wait=true, a container per item), as N single POST /execute?wait=true
 *   sent by as many clients as the service has slots, and as one batch in one container
 *   (`shared_container: true`); jobs/s.
 * - A large file: a CSV read by pandas, uploaded once (POST /files) and named by its
 *   file_id in each run, against the same CSV inline (files[].content, base64) in each
 *   run's request; per-run p50, and the upload's own time.
 * - Callbacks: print(1) with a callback_url on a loopback receiver (node:http on
 *   127.0.0.1), one at a time; from the result's end_time to the signed callback's arrival.
 *
 * Prints a table and writes every figure to bench/results/pipelines-<date>.json.
 *
 *   BENCH_ONLY=pipelines npm run bench
 *   BENCH_ONLY=pipelines BENCH_SMOKE=1 npm run bench   (10 items, 1 MiB CSV, 2 callbacks)
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { SANDBOX_LABEL } from '@brain-net/runner/runner-options';
import { ServiceProcess } from '../test/support/separate-service';
import { median, percentile, ratioOf, row, sideBySide } from './figures';

const MIB = 2 ** 20;

/** How much of each figure to take: the full run, or CI's smoke run. */
interface Plan {
  readonly name: string;
  /** One uncounted run of each way first: page cache, the engine, the service's JIT. */
  readonly warmUp: boolean;
  readonly items: number;
  /** Rounds of batch against singles, alternating which goes first. */
  readonly itemRounds: number;
  readonly csvBytes: number;
  /** Runs reading the CSV, per way. */
  readonly fileRuns: number;
  readonly callbacks: number;
}

const FULL: Plan = {
  name: 'full',
  warmUp: true,
  items: 100,
  itemRounds: 3,
  csvBytes: 10 * MIB,
  fileRuns: 5,
  callbacks: 10,
};

const SMOKE: Plan = {
  name: 'smoke',
  warmUp: false,
  items: 10,
  itemRounds: 1,
  csvBytes: MIB,
  fileRuns: 2,
  callbacks: 2,
};

/** Running executions at once, and so the clients sending single requests. */
const SLOTS = 8;
/** After each one-at-a-time run: the warm pool refills, as between an agent's requests. */
const REFILL_PAUSE_MS = 1000;
/** Between rounds of many jobs: containers are removed and the pool refills. */
const SETTLE_MS = 3000;
const CALLBACK_TIMEOUT_MS = 30_000;

const ITEM_CODE = 'print(input_data["n"])';
const CSV_CODE = 'import pandas as pd\nprint(len(pd.read_csv("data.csv")))';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const excerpt = (text: string) => (text.length > 300 ? `${text.slice(0, 300)}…` : text);

interface ExecutionResult {
  readonly execution_id: string;
  readonly status: string;
  readonly output: string;
  readonly end_time: string | null;
}

interface Batch {
  readonly status: string;
  readonly total: number;
  readonly counts: Record<string, number>;
  readonly items: ExecutionResult[];
}

/** POST `body` and the answer's JSON; throws unless the status is `expected`. */
async function post<T>(
  url: string,
  path: string,
  body: string | Uint8Array<ArrayBuffer>,
  expected: number,
  contentType = 'application/json',
): Promise<T> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': contentType },
    body,
  });
  const text = await response.text();
  if (response.status !== expected) {
    throw new Error(`POST ${path} answered ${response.status}: ${excerpt(text)}`);
  }
  return JSON.parse(text) as T;
}

/** Proof the job ran: completed, and printed what it must. */
function check(result: ExecutionResult, output: string, what: string): void {
  if (result.status !== 'completed' || result.output !== output) {
    throw new Error(`${what}: ${result.status}, printed ${excerpt(result.output)}`);
  }
}

async function seconds(task: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await task();
  return (performance.now() - started) / 1000;
}

// ---------------------------------------------------------------------------------------
// Many small inputs: one batch against single requests
// ---------------------------------------------------------------------------------------

/**
 * jobs/s of `items` inputs as one batch, waited for in the same call: a container per
 * item, or all of them in one (`shared_container`).
 */
async function viaBatch(url: string, items: number, sharedContainer: boolean): Promise<number> {
  const body = JSON.stringify({
    code: ITEM_CODE,
    inputs: Array.from({ length: items }, (_, n) => ({ input_data: { n } })),
    ...(sharedContainer && { shared_container: true }),
  });
  let batch: Batch | undefined;
  const took = await seconds(async () => {
    batch = await post<Batch>(url, '/executions/batch?wait=true', body, 200);
  });
  if (batch?.status !== 'finished' || batch.counts.completed !== items) {
    throw new Error(`batch: ${JSON.stringify(batch?.counts)}`);
  }
  for (const [n, item] of batch.items.entries()) check(item, `${n}\n`, `batch item ${n}`);
  return items / took;
}

/** jobs/s of `items` single POST /execute?wait=true, SLOTS clients at once. */
async function viaSingles(url: string, items: number): Promise<number> {
  let next = 0;
  const client = async () => {
    while (next < items) {
      const n = next++;
      const body = JSON.stringify({ code: ITEM_CODE, input_data: { n } });
      check(await post(url, '/execute?wait=true', body, 200), `${n}\n`, `single ${n}`);
    }
  };
  const took = await seconds(async () => {
    await Promise.all(Array.from({ length: SLOTS }, client));
  });
  return items / took;
}

const WAYS = ['batch', 'singles', 'shared'] as const;
type Way = (typeof WAYS)[number];
/** jobs/s of each way in one round. */
type ItemRound = Record<Way, number>;

function viaWay(way: Way, url: string, items: number): Promise<number> {
  if (way === 'singles') return viaSingles(url, items);
  return viaBatch(url, items, way === 'shared');
}

/** Each round runs every way, the first of them rotating, so that none always goes first. */
async function manySmallInputs(url: string, plan: Plan): Promise<ItemRound[]> {
  if (plan.warmUp) {
    for (const way of WAYS) await viaWay(way, url, SLOTS);
    await sleep(SETTLE_MS);
  }
  const rounds: ItemRound[] = [];
  for (let round = 0; round < plan.itemRounds; round++) {
    const figures: Partial<ItemRound> = {};
    for (let turn = 0; turn < WAYS.length; turn++) {
      const way = WAYS[(round + turn) % WAYS.length];
      figures[way] = await viaWay(way, url, plan.items);
      await sleep(SETTLE_MS);
    }
    rounds.push(figures as ItemRound);
    console.log(`  many small inputs: round ${round + 1} done`);
  }
  return rounds;
}

// ---------------------------------------------------------------------------------------
// A large file: uploaded once against inline in every run
// ---------------------------------------------------------------------------------------

/** A CSV of numbers, four columns, of at least `bytes`; and its rows. */
function csvOf(bytes: number): { csv: Buffer<ArrayBuffer>; rows: number } {
  const lines = ['id,value,ratio,bucket'];
  let size = lines[0].length + 1;
  let rows = 0;
  while (size < bytes) {
    const line = `${rows},${(rows * 7919) % 1_000_003},${((rows % 10_000) / 7).toFixed(4)},${rows % 97}`;
    lines.push(line);
    size += line.length + 1;
    rows += 1;
  }
  return { csv: Buffer.from(`${lines.join('\n')}\n`), rows };
}

/** Per run of one way to bring the CSV: its request's size and the runs' times. */
interface Runs {
  readonly requestBytes: number;
  readonly ms: number[];
}

interface Upload {
  readonly fileId: string;
  readonly ms: number;
}

/** A CSV brought two ways, each way run `fileRuns` times. */
interface CsvFigures {
  readonly csvBytes: number;
  readonly rows: number;
  readonly upload: Upload;
  readonly byFileId: Runs;
  readonly other: Runs;
}

interface FileFigures {
  /** The large CSV by file_id against the same CSV inline (files[].content, base64). */
  readonly large: CsvFigures;
}

async function upload(url: string, csv: Buffer<ArrayBuffer>): Promise<Upload> {
  let fileId = '';
  const took = await seconds(async () => {
    const stored = await post<{ file_id: string }>(
      url,
      '/files?name=data.csv',
      csv,
      201,
      'text/csv',
    );
    fileId = stored.file_id;
  });
  return { fileId, ms: 1000 * took };
}

const byFileIdBody = (fileId: string) =>
  JSON.stringify({ code: CSV_CODE, files: [{ path: 'data.csv', file_id: fileId }] });
const inlineBody = (csv: Buffer) =>
  JSON.stringify({
    code: CSV_CODE,
    files: [{ path: 'data.csv', content: csv.toString('base64'), encoding: 'base64' }],
  });

/**
 * `fileRuns` runs of each body (each must print `rows`), alternating which goes first,
 * after one uncounted run of each in the full plan.
 */
async function alternateRuns(
  url: string,
  plan: Plan,
  rows: number,
  bodies: readonly [string, string],
): Promise<[Runs, Runs]> {
  const runThenPause = async (body: string) => {
    let result: ExecutionResult | undefined;
    const took = await seconds(async () => {
      result = await post<ExecutionResult>(url, '/execute?wait=true', body, 200);
    });
    if (result) check(result, `${rows}\n`, 'reading the CSV');
    await sleep(REFILL_PAUSE_MS);
    return 1000 * took;
  };
  if (plan.warmUp) for (const body of bodies) await runThenPause(body);
  const ms: [number[], number[]] = [[], []];
  for (let round = 0; round < plan.fileRuns; round++) {
    for (const way of round % 2 === 0 ? [0, 1] : [1, 0]) {
      ms[way].push(await runThenPause(bodies[way]));
    }
  }
  return [
    { requestBytes: Buffer.byteLength(bodies[0]), ms: ms[0] },
    { requestBytes: Buffer.byteLength(bodies[1]), ms: ms[1] },
  ];
}

async function largeFile(url: string, plan: Plan): Promise<FileFigures> {
  const large = csvOf(plan.csvBytes);
  const largeUpload = await upload(url, large.csv);
  const [byFileId, inline] = await alternateRuns(url, plan, large.rows, [
    byFileIdBody(largeUpload.fileId),
    inlineBody(large.csv),
  ]);
  console.log('  large files: done');
  return {
    large: {
      csvBytes: large.csv.length,
      rows: large.rows,
      upload: largeUpload,
      byFileId,
      other: inline,
    },
  };
}

// ---------------------------------------------------------------------------------------
// Callbacks: from the execution's end to the receiver
// ---------------------------------------------------------------------------------------

interface Arrival {
  /** Wall clock (the service's end_time is too, on the same machine). */
  readonly atMs: number;
  readonly signed: boolean;
  readonly result: ExecutionResult;
}

interface Receiver {
  readonly url: string;
  /** Deliveries received, repeats included (delivery is at least once). */
  readonly deliveries: () => number;
  arrivalOf(executionId: string): Promise<Arrival>;
  close(): Promise<void>;
}

/** A loopback receiver that checks each callback's signature and notes its first arrival. */
async function startReceiver(secret: string): Promise<Receiver> {
  const webhook = new Webhook(secret);
  const waiting = new Map<string, { arrived: Promise<Arrival>; arrive: (a: Arrival) => void }>();
  // Either side may come first: the callback, or the bench asking for it.
  const slot = (id: string) => {
    let entry = waiting.get(id);
    if (!entry) {
      let arrive!: (a: Arrival) => void;
      const arrived = new Promise<Arrival>((resolve) => (arrive = resolve));
      entry = { arrived, arrive };
      waiting.set(id, entry);
    }
    return entry;
  };
  let deliveries = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.once('end', () => {
      const atMs = Date.now();
      deliveries += 1;
      const raw = Buffer.concat(chunks).toString('utf8');
      const header = (name: string) => String(request.headers[name] ?? '');
      let signed = true;
      try {
        webhook.verify(raw, {
          'webhook-id': header('webhook-id'),
          'webhook-timestamp': header('webhook-timestamp'),
          'webhook-signature': header('webhook-signature'),
        });
      } catch {
        signed = false;
      }
      const { data } = JSON.parse(raw) as { data: ExecutionResult };
      slot(data.execution_id).arrive({ atMs, signed, result: data });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    deliveries: () => deliveries,
    async arrivalOf(executionId) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no callback for ${executionId} in ${CALLBACK_TIMEOUT_MS} ms`)),
          CALLBACK_TIMEOUT_MS,
        );
      });
      try {
        return await Promise.race([slot(executionId).arrived, late]);
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface CallbackFigures {
  /** From the result's end_time to the callback's arrival. */
  readonly afterEndMs: number[];
  /** From sending POST /execute to the callback's arrival. */
  readonly afterSubmitMs: number[];
  readonly deliveries: number;
}

async function callbackLatency(
  url: string,
  receiver: Receiver,
  plan: Plan,
): Promise<CallbackFigures> {
  const body = JSON.stringify({ code: 'print(1)', callback_url: receiver.url });
  const afterEndMs: number[] = [];
  const afterSubmitMs: number[] = [];
  for (let i = 0; i < plan.callbacks; i++) {
    const submittedAt = Date.now();
    const { execution_id } = await post<{ execution_id: string }>(url, '/execute', body, 202);
    const { atMs, signed, result } = await receiver.arrivalOf(execution_id);
    if (!signed) throw new Error(`callback of ${execution_id}: the signature does not verify`);
    check(result, '1\n', 'callback');
    if (result.end_time === null) throw new Error(`callback of ${execution_id}: no end_time`);
    afterEndMs.push(atMs - Date.parse(result.end_time));
    afterSubmitMs.push(atMs - submittedAt);
    await sleep(REFILL_PAUSE_MS);
  }
  console.log('  callbacks: done');
  return { afterEndMs, afterSubmitMs, deliveries: receiver.deliveries() };
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
  readonly host: { readonly cpus: number };
  /** The service's settings; the callback secret, random per run, left out. */
  readonly serviceEnv: Record<string, string>;
  readonly items: {
    readonly rounds: ItemRound[];
    /** Median jobs/s of each way over the rounds. */
    readonly medians: ItemRound;
  };
  readonly file: FileFigures;
  readonly callbacks: CallbackFigures;
  readonly containers: {
    readonly sandboxAllBefore: number;
    readonly sandboxAllAfter: number;
    readonly sandboxThisInstanceAfter: number;
  };
  readonly serviceStopped: { readonly how: string; readonly ms: number };
  readonly seconds: number;
}

export async function pipelines(): Promise<void> {
  const plan = process.env.BENCH_SMOKE === '1' ? SMOKE : FULL;
  const startedAt = performance.now();
  const date = new Date().toISOString();
  console.log(
    `\nPipelines (${plan.name} run): batches, uploaded files and callbacks, ` +
      `compiled service in its own process, ${SLOTS} slots`,
  );
  const instanceId = `bench-pipelines-${randomUUID().slice(0, 8)}`;
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const serviceEnv = {
    SANDBOX_INSTANCE_ID: instanceId,
    MAX_CONCURRENT_EXECUTIONS: String(SLOTS),
    MAX_QUEUED_EXECUTIONS: '1000',
    RATE_LIMIT_PER_MINUTE: '0',
    // The 10 MiB CSV inline (base64, 4/3 of it): above the 4 MiB default.
    MAX_REQUEST_BYTES: '20000000',
    CALLBACK_ALLOWED_HOSTS: '127.0.0.1',
    CALLBACK_ALLOW_PRIVATE: '127.0.0.1',
    CALLBACK_ALLOW_HTTP: 'true',
  };
  const sandboxAllBefore = containersLabelled(SANDBOX_LABEL);
  // Records and uploads in a folder of their own, gone with the run.
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-pipelines-'));
  const receiver = await startReceiver(secret);
  let items: ItemRound[];
  let file: FileFigures;
  let callbacks: CallbackFigures;
  let serviceStopped: { how: string; ms: number };
  try {
    const service = await ServiceProcess.startCompiled({
      ...serviceEnv,
      CALLBACK_SECRET: secret,
      DATABASE_PATH: join(dataDir, 'sandbox.db'),
    });
    try {
      await sleep(SETTLE_MS); // the pool's first containers start and preload
      items = await manySmallInputs(service.url, plan);
      file = await largeFile(service.url, plan);
      callbacks = await callbackLatency(service.url, receiver, plan);
    } finally {
      serviceStopped = await service.stop();
    }
  } finally {
    await receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const results: Results = {
    date,
    plan,
    host: { cpus: cpus().length },
    serviceEnv,
    items: {
      rounds: items,
      medians: {
        batch: median(items.map((round) => round.batch)),
        singles: median(items.map((round) => round.singles)),
        shared: median(items.map((round) => round.shared)),
      },
    },
    file,
    callbacks,
    containers: {
      sandboxAllBefore,
      sandboxAllAfter: containersLabelled(SANDBOX_LABEL),
      sandboxThisInstanceAfter: containersLabelled(`${SANDBOX_LABEL}=${instanceId}`),
    },
    serviceStopped,
    seconds: (performance.now() - startedAt) / 1000,
  };
  printTable(results);
  console.log(`\nAll figures: ${writeResults(results)}`);
}

// ---------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------

const msText = (ms: number) => `${ms.toFixed(0)} ms`;

const mibText = (bytes: number) => `${(bytes / MIB).toFixed(1)} MiB`;
const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

/** A CSV's rows: the upload, per-run p50 of both ways, and upload + runs against runs. */
function printCsv(plan: Plan, csv: CsvFigures, other: string): void {
  const what = `${mibText(csv.csvBytes)} CSV`;
  row(`${what}: POST /files, once`, msText(csv.upload.ms), `${csv.rows} rows`);
  sideBySide(
    `${what}: per run, p50`,
    msText(median(csv.byFileId.ms)),
    msText(median(csv.other.ms)),
    ratioOf(median(csv.other.ms), median(csv.byFileId.ms)),
    `${other}; requests ${(csv.byFileId.requestBytes / 1024).toFixed(1)} KiB, ` +
      `${mibText(csv.other.requestBytes)}`,
  );
  const uploadAndRuns = csv.upload.ms + sum(csv.byFileId.ms);
  sideBySide(
    `${what}: upload + ${plan.fileRuns} runs, against ${plan.fileRuns} runs`,
    msText(uploadAndRuns),
    msText(sum(csv.other.ms)),
    ratioOf(sum(csv.other.ms), uploadAndRuns),
  );
}

function printTable(results: Results): void {
  const { plan, items, file, callbacks, containers } = results;
  console.log(
    `\n${plan.items} × print(input_data["n"]), jobs/s (median of ${plan.itemRounds}; ` +
      `singles from ${SLOTS} clients)`,
  );
  sideBySide('', 'way', 'batch', 'ratio', 'way / batch');
  row('(a) one batch, a container per item', items.medians.batch.toFixed(2));
  sideBySide(
    '(b) single POST /execute?wait=true',
    items.medians.singles.toFixed(2),
    items.medians.batch.toFixed(2),
    ratioOf(items.medians.singles, items.medians.batch),
  );
  sideBySide(
    '(c) one batch, shared_container: true',
    items.medians.shared.toFixed(2),
    items.medians.batch.toFixed(2),
    ratioOf(items.medians.shared, items.medians.batch),
  );

  console.log(`\nA CSV read by pandas, ${plan.fileRuns} runs per way, alternating`);
  sideBySide('', 'file_id', 'other', 'ratio', 'other / file_id');
  printCsv(plan, file.large, 'other: inline, base64');

  console.log(`\nCallbacks of print(1), one at a time (${plan.callbacks} executions)`);
  row(
    'end_time to arrival, p50',
    msText(median(callbacks.afterEndMs)),
    'loopback receiver, signature checked',
  );
  row('end_time to arrival, p90', msText(percentile(callbacks.afterEndMs, 90)));
  row('POST /execute to arrival, p50', msText(median(callbacks.afterSubmitMs)));
  row('deliveries received', String(callbacks.deliveries), `for ${plan.callbacks} executions`);

  console.log('\nContainers');
  row(
    `${SANDBOX_LABEL} containers, all instances, before / after`,
    `${containers.sandboxAllBefore} / ${containers.sandboxAllAfter}`,
    `this instance's left: ${containers.sandboxThisInstanceAfter} (must be 0)`,
  );
  row('service stopped by SIGTERM', msText(results.serviceStopped.ms), results.serviceStopped.how);
  row('section took', `${results.seconds.toFixed(0)} s`);
}

/** bench/results/pipelines-<ISO date>.json, the colons of the time made dashes. */
function writeResults(results: Results): string {
  const folder = join(__dirname, 'results');
  mkdirSync(folder, { recursive: true });
  const file = join(folder, `pipelines-${results.date.replace(/:/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}
