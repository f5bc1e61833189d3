import { createHash, randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Injectable, Logger } from '@nestjs/common';
import { ExecutionQueue, type QueueRefusal } from '@brain-net/messaging';
import { ContainerLimits, sandboxContainerOptions } from '@brain-net/runner';
import {
  CallbackOutbox,
  EarlierSubmit,
  ExecutionRecord,
  ExecutionStore,
  IdempotentRequest,
  RunSettings,
  newExecutionRecord,
} from '@brain-net/store';
import { DestinationPolicy } from '@brain-net/webhooks';
import { Caller } from '../auth/caller';
import { AppConfig } from '../config/app-config';
import { Runtime, runtimeNamed } from '../config/runtime-settings';
import { DomainError } from '../errors/domain-error';
import { errorMessage } from '../errors/error-message';
import { CheckedInputFile, InputFiles } from '../files/input-files';
import { ProcessorDefinitionService } from '../processor/processor-definition.service';
import { queueRefusalError } from '../quota/queue-refusal';
import { ExecuteRequestDto } from './dto/execute-request.dto';
import { EngineStatusService } from './engine-status.service';
import { ExecutionLifecycle } from './execution-lifecycle';
import { fromQueue, fromStore } from './from-store';
import { shuttingDownError } from './graceful-shutdown';
import { sharedBatchJobId } from './shared-batch';

/** An empty `input_data` when the request has none. */
const NO_INPUT = '{}';
const MIB = 1024 * 1024;
/** Printable ASCII, as HTTP header values are, and short enough to index. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

/** What a submit came to: a new execution, or the one an earlier submit with its key made. */
export interface Admitted {
  readonly id: string;
  /** The new record; null when `replayed`: the caller reads the earlier one. */
  readonly record: ExecutionRecord | null;
  readonly replayed: boolean;
}

/** What a batch submit came to: its id and new records, or the batch an earlier submit made. */
export interface AdmittedBatch {
  readonly batchId: string;
  /** The new records in order; empty when `replayed`: the caller reads the earlier batch. */
  readonly records: readonly ExecutionRecord[];
  readonly replayed: boolean;
}

/** A submit checked whole: what it runs and with what; nothing stored yet. */
interface CheckedSubmit {
  readonly request: ExecuteRequestDto;
  readonly code: string;
  readonly timeoutS: number;
  readonly limits: ContainerLimits;
  readonly runtime: Runtime;
  readonly stdin: string | undefined;
  readonly callbackUrl: string | undefined;
  readonly files: CheckedInputFile[];
}

/**
 * The admission half of an execution's life: validates a submit, resolves its code,
 * checks the limits and the Idempotency-Key, stores the new record and queues it.
 */
@Injectable()
export class ExecutionAdmission {
  private readonly logger = new Logger(ExecutionAdmission.name);
  /** What every execution this instance accepts runs with besides its limits. */
  private readonly runSettings: RunSettings;
  /** Where callbacks may go; null while they are off (CALLBACK_ALLOWED_HOSTS empty). */
  private readonly callbackPolicy: DestinationPolicy | null;
  private shuttingDown = false;

  constructor(
    private readonly config: AppConfig,
    private readonly store: ExecutionStore,
    private readonly queue: ExecutionQueue,
    private readonly lifecycle: ExecutionLifecycle,
    private readonly engine: EngineStatusService,
    private readonly processors: ProcessorDefinitionService,
    private readonly inputFiles: InputFiles,
    private readonly callbacks: CallbackOutbox,
  ) {
    this.runSettings = runSettingsOf(config);
    const { allowedHosts, allowPrivateAddresses, allowHttp } = config.callbacks;
    this.callbackPolicy =
      allowedHosts.length > 0
        ? new DestinationPolicy({ allowedHosts, allowPrivateAddresses, allowHttp })
        : null;
  }

  /** From now on every submit is refused with 503 SHUTTING_DOWN (a replay still answers). */
  close(): void {
    this.shuttingDown = true;
  }

  get isClosed(): boolean {
    return this.shuttingDown;
  }

  /**
   * Validates and queues an execution. With an Idempotency-Key this tenant already used
   * for the same request, answers with that first execution instead, and nothing runs
   * again (on any instance: the store claims the key atomically).
   */
  async submit(
    request: ExecuteRequestDto,
    requestId: string,
    caller: Caller,
    idempotencyKey?: string,
  ): Promise<Admitted> {
    const idempotency =
      idempotencyKey === undefined ? null : idempotentRequest(idempotencyKey, askedOf(request));
    const earlier = idempotency && (await this.earlierSubmit(caller, idempotency));
    if (earlier) return replayOf(earlier, idempotency);
    if (this.shuttingDown) throw shuttingDownError();
    const checked = await this.check(request, caller);
    await this.requireRoom(caller.tenant, 1, [checked.runtime]);
    const stored = await this.storeRecord(checked, requestId, caller, idempotency, null);
    if ('earlier' in stored) return replayOf(stored.earlier, idempotency as IdempotentRequest);
    await this.enqueueAll([stored.record], caller.tenant, null);
    return { id: stored.record.id, record: stored.record, replayed: false };
  }

  /**
   * Validates and queues the executions of a batch, all or none: every item is checked
   * (a bad one named `items[i]`) and the queue must have room for all of them before
   * any is stored. An Idempotency-Key covers the whole batch.
   */
  async submitBatch(
    requests: readonly ExecuteRequestDto[],
    requestId: string,
    caller: Caller,
    options: { readonly idempotencyKey?: string; readonly sharedContainer?: boolean } = {},
  ): Promise<AdmittedBatch> {
    const { idempotencyKey, sharedContainer = false } = options;
    const max = this.config.maxBatchSize;
    if (requests.length === 0 || requests.length > max) {
      throw new DomainError(
        'BATCH_SIZE_OUT_OF_RANGE',
        `A batch has 1 to ${max} items (MAX_BATCH_SIZE); this one has ${requests.length}.`,
      );
    }
    const idempotency =
      idempotencyKey === undefined
        ? null
        : idempotentRequest(
            idempotencyKey,
            JSON.stringify([...requests.map(askedOf), ...(sharedContainer ? ['shared'] : [])]),
          );
    const earlier = idempotency && (await this.earlierSubmit(caller, idempotency));
    if (earlier) return this.replayedBatch(replayOf(earlier, idempotency));
    if (this.shuttingDown) throw shuttingDownError();
    const checked: CheckedSubmit[] = [];
    for (const [index, request] of requests.entries()) {
      checked.push(await inItem(index, () => this.check(request, caller)));
    }
    // Shared, the batch is one job of the queue: one container, one slot.
    await this.requireRoom(
      caller.tenant,
      sharedContainer ? 1 : checked.length,
      checked.map((item) => item.runtime),
    );
    const batchId = randomUUID();
    const records: ExecutionRecord[] = [];
    for (const [index, item] of checked.entries()) {
      // The key is claimed with the first item: a repeat finds the batch through it.
      const key = index === 0 ? idempotency : null;
      const batch = { id: batchId, index, shared: sharedContainer };
      const stored = await this.storeRecord(item, requestId, caller, key, batch);
      if ('earlier' in stored) {
        return this.replayedBatch(replayOf(stored.earlier, idempotency as IdempotentRequest));
      }
      records.push(stored.record);
    }
    await this.enqueueAll(
      records,
      caller.tenant,
      sharedContainer ? sharedBatchJobId(batchId) : null,
    );
    return { batchId, records, replayed: false };
  }

  private earlierSubmit(
    caller: Caller,
    idempotency: IdempotentRequest,
  ): Promise<EarlierSubmit | undefined> {
    return fromStore(() => this.store.findByIdempotencyKey(caller.tenant, idempotency.key));
  }

  /** The batch an earlier submit under the same key made: its first item's. */
  private async replayedBatch(first: Admitted): Promise<AdmittedBatch> {
    const record = await fromStore(() => this.store.get(first.id));
    if (!record?.batchId) {
      throw new DomainError(
        'IDEMPOTENCY_KEY_REUSED',
        `The Idempotency-Key was used for a single execution (${first.id}), not a batch.`,
      );
    }
    return { batchId: record.batchId, records: [], replayed: true };
  }

  /** Everything about a submit that can be refused before anything is stored. */
  private async check(request: ExecuteRequestDto, caller: Caller): Promise<CheckedSubmit> {
    const timeoutS = request.timeout ?? this.config.defaultTimeoutS;
    if (timeoutS > this.config.maxTimeoutS) {
      throw new DomainError(
        'TIMEOUT_OUT_OF_RANGE',
        `timeout must be between 1 and ${this.config.maxTimeoutS} seconds.`,
        {
          fieldProblems: [
            { field: 'timeout', messages: [`timeout must not exceed ${this.config.maxTimeoutS}`] },
          ],
        },
      );
    }
    const limits = this.limitsOf(request);
    const runtime = this.runtimeOf(request);
    // null is absent, as class-validator's IsOptional lets it through.
    const stdin = request.stdin ?? undefined;
    const callbackUrl = request.callback_url ?? undefined;
    if (callbackUrl !== undefined) this.checkCallbackUrl(callbackUrl);
    this.checkStdin(stdin);
    const files = await this.inputFiles.check(request.files, caller.tenant);
    const code = await this.codeFor(request, caller);
    const codeBytes = Buffer.byteLength(code, 'utf8');
    if (codeBytes > this.config.maxCodeBytes) {
      throw new DomainError(
        'CODE_TOO_LARGE',
        `code is ${codeBytes} bytes; the limit is ${this.config.maxCodeBytes} bytes.`,
      );
    }
    return { request, code, timeoutS, limits, runtime, stdin, callbackUrl, files };
  }

  /**
   * The engine with the runtimes' images (alone on its machine), and room in the queue
   * for `count` jobs, or why not.
   */
  private async requireRoom(
    tenant: string,
    count: number,
    runtimes: readonly Runtime[],
  ): Promise<void> {
    // Alone on its machine the service needs its own engine; in a cluster any worker's will do.
    if (this.queue.runsJobsInThisProcess) {
      for (const image of new Set(runtimes.map((runtime) => runtime.image))) {
        this.engine.requireReady(image);
      }
    }
    const refusal = await fromQueue(() => this.queue.refusal(tenant, count));
    if (refusal) {
      const load = await fromQueue(() => this.queue.load());
      throw queueRefusalError(refusal, load, tenant, this.retryAfterS());
    }
  }

  /** Keeps the files, registers the callback, and stores the record; or finds the earlier submit. */
  private async storeRecord(
    checked: CheckedSubmit,
    requestId: string,
    caller: Caller,
    idempotency: IdempotentRequest | null,
    batch: { readonly id: string; readonly index: number; readonly shared: boolean } | null,
  ): Promise<{ readonly record: ExecutionRecord } | { readonly earlier: EarlierSubmit }> {
    const { request, callbackUrl, stdin } = checked;
    const id = randomUUID();
    // Before the record: a job never starts without its files. Should the record not be
    // stored after all, the sweep deletes them (their execution does not exist).
    const inputFiles = await this.inputFiles.keep(checked.files, caller.tenant, id);
    // Before the record too: once it is stored, its end always has a callback waiting
    // for it, whatever happens to this process. Should the record not be stored after
    // all, the callback finds no execution and ends `failed`.
    if (callbackUrl !== undefined) {
      await fromStore(() => this.callbacks.expect(id, caller.tenant, callbackUrl));
    }
    const record = newExecutionRecord({
      id,
      inputFiles,
      callbackUrl: callbackUrl ?? null,
      ...(batch && { batch }),
      tenant: caller.tenant,
      createdBy: caller.subject,
      requestId,
      processorId: request.processor_id ?? null,
      debugMode: request.debug_mode ?? true,
      profileRequested: request.profile ?? false,
      timeoutS: checked.timeoutS,
      limits: checked.limits,
      runtime: checked.runtime.name,
      runSettings: this.runSettings,
    });
    // Storing a large input is a synchronous write on SQLite: give it an event-loop turn
    // of its own rather than adding it to whatever this turn already did (parsing, say).
    await nextTurn();
    const earlier = await fromStore(() =>
      this.store.create(
        record,
        {
          code: checked.code,
          inputJson: request.input_data?.text ?? NO_INPUT,
          ...(stdin !== undefined && { stdin }),
        },
        idempotency,
      ),
    );
    return earlier ? { earlier } : { record };
  }

  /**
   * Queues the stored records, one job each, or all as the one job `sharedJob` (a
   * shared-container batch). Should the queue refuse one (another submit of this tenant
   * took the last places since requireRoom) or fail, every record not yet taken by a
   * worker is recorded cancelled (or failed) and the whole submit refused; one a worker
   * already started runs to its end.
   */
  private async enqueueAll(
    records: readonly ExecutionRecord[],
    tenant: string,
    sharedJob: string | null,
  ): Promise<void> {
    // The shutdown may have begun while this submit awaited: its drain would not see it.
    if (this.shuttingDown) {
      await this.closeAll(records, 'cancelled', 'The service shut down before it started.');
      throw shuttingDownError();
    }
    const jobs = sharedJob
      ? [{ id: sharedJob, records }]
      : records.map((record) => ({ id: record.id, records: [record] }));
    for (const [index, job] of jobs.entries()) {
      const queued = jobs.slice(0, index).flatMap((earlier) => earlier.records);
      const rest = jobs.slice(index).flatMap((later) => later.records);
      let refused: QueueRefusal | null;
      try {
        refused = await this.queue.enqueue(job.id, tenant);
      } catch (error: unknown) {
        // Stored but not queued: record it as such rather than leave it waiting forever.
        const reason = errorMessage(error);
        this.logger.error(`job ${job.id} could not be queued: ${reason}`);
        await this.withdrawAll(queued);
        await this.closeAll(rest, 'failed', `The execution could not be queued: ${reason}`);
        throw new DomainError('QUEUE_UNAVAILABLE', `The execution queue failed: ${reason}`, {
          retryAfterS: 5,
        });
      }
      if (refused) {
        await this.withdrawAll(queued);
        await this.closeAll(rest, 'cancelled', 'The queue refused it: it was full.');
        const load = await fromQueue(() => this.queue.load());
        throw queueRefusalError(refused, load, tenant, this.retryAfterS());
      }
    }
  }

  /** Takes queued records back and records them cancelled; those already started run on. */
  private async withdrawAll(records: readonly ExecutionRecord[]): Promise<void> {
    for (const record of records) {
      if (await this.queue.withdraw(record.id).catch(() => false)) {
        await this.lifecycle.close(
          record,
          'cancelled',
          'Its batch was refused whole: the queue was full.',
        );
      }
    }
  }

  private async closeAll(
    records: readonly ExecutionRecord[],
    status: 'cancelled' | 'failed',
    error: string,
  ): Promise<void> {
    for (const record of records) await this.lifecycle.close(record, status, error);
  }

  /**
   * The container limits the job gets: the configured ones, with the request's
   * `memory_mb`, `cpus` and `pids` where it gives them, each within its maximum (every
   * field over one is named, in one 400 LIMIT_OUT_OF_RANGE).
   */
  private limitsOf(request: ExecuteRequestDto): ContainerLimits {
    const max = this.config.maxLimits;
    // null is absent, as class-validator's IsOptional lets it through.
    const memoryMb = request.memory_mb ?? undefined;
    const cpus = request.cpus ?? undefined;
    const pids = request.pids ?? undefined;
    const asked: [field: string, value: number | undefined, max: number, unit: string][] = [
      ['memory_mb', memoryMb, max.memoryMb, ' MiB'],
      ['cpus', cpus, max.cpus, ' CPUs'],
      ['pids', pids, max.pids, ''],
    ];
    const over = asked.filter(([, value, most]) => value !== undefined && value > most);
    if (over.length > 0) {
      throw new DomainError(
        'LIMIT_OUT_OF_RANGE',
        over.map(([field, , most, unit]) => `${field} must not exceed ${most}${unit}.`).join(' '),
        {
          fieldProblems: over.map(([field, , most]) => ({
            field,
            messages: [`${field} must not exceed ${most}`],
          })),
        },
      );
    }
    return {
      ...this.config.limits,
      ...(memoryMb !== undefined && { memoryBytes: memoryMb * MIB }),
      ...(cpus !== undefined && { cpus }),
      ...(pids !== undefined && { pids }),
    };
  }

  /**
   * The runtime the request names, or the default one; any other name is
   * 400 UNKNOWN_RUNTIME, listing the names there are.
   */
  private runtimeOf(request: ExecuteRequestDto): Runtime {
    const { runtimes } = this.config;
    // null is absent, as class-validator's IsOptional lets it through.
    const name = request.runtime ?? undefined;
    if (name === undefined) return runtimes.default;
    const runtime = runtimeNamed(runtimes, name);
    if (runtime) return runtime;
    const known = runtimes.all.map((candidate) => candidate.name).join(', ');
    throw new DomainError(
      'UNKNOWN_RUNTIME',
      `runtime ${JSON.stringify(name)} is none of this service's runtimes: ${known} (GET /runtimes describes them).`,
      { fieldProblems: [{ field: 'runtime', messages: [`runtime must be one of ${known}`] }] },
    );
  }

  /**
   * 400 CALLBACK_URL_REFUSED unless callbacks are on and the URL passes the static
   * checks (scheme, no credentials, an allowed host); the addresses its host resolves
   * to are checked at each attempt, by the sender.
   */
  private checkCallbackUrl(url: string): void {
    const refusal = !this.callbackPolicy
      ? 'callbacks are off on this service (CALLBACK_ALLOWED_HOSTS is empty)'
      : !URL.canParse(url)
        ? 'it is not a URL'
        : this.callbackPolicy.refusalOfUrl(new URL(url));
    if (refusal === null) return;
    throw new DomainError('CALLBACK_URL_REFUSED', `callback_url is refused: ${refusal}.`, {
      fieldProblems: [{ field: 'callback_url', messages: [refusal] }],
    });
  }

  /** 413 STDIN_TOO_LARGE for a stdin over MAX_STDIN_BYTES, counted in UTF-8 bytes. */
  private checkStdin(stdin: string | undefined): void {
    if (stdin === undefined) return;
    const max = this.config.maxStdinBytes;
    // Counted, not estimated: the body that holds it is bounded by MAX_REQUEST_BYTES.
    const bytes = Buffer.byteLength(stdin, 'utf8');
    if (bytes > max) {
      throw new DomainError(
        'STDIN_TOO_LARGE',
        `stdin is ${bytes} bytes; the limit is ${max} bytes.`,
        { fieldProblems: [{ field: 'stdin', messages: [`stdin must not exceed ${max} bytes`] }] },
      );
    }
  }

  /** The request's code, or else the code the backend holds for its processor. */
  private async codeFor(request: ExecuteRequestDto, caller: Caller): Promise<string> {
    if (request.code !== undefined) return request.code;
    if (request.processor_id !== undefined) {
      return this.processors.getCode(request.processor_id, caller);
    }
    // The DTO requires one of the two; this keeps the service honest without it.
    throw new DomainError('VALIDATION_FAILED', 'code is required unless processor_id is given.');
  }

  /** A guess at when a slot frees up: one default timeout spread over the slots. */
  private retryAfterS(): number {
    return Math.max(
      1,
      Math.ceil(this.config.defaultTimeoutS / this.config.maxConcurrentExecutions),
    );
  }
}

/** The earlier submit under this key; 422 if it asked for other work. */
function replayOf(earlier: EarlierSubmit, idempotency: IdempotentRequest): Admitted {
  if (earlier.fingerprint !== idempotency.fingerprint) {
    throw new DomainError(
      'IDEMPOTENCY_KEY_REUSED',
      `Idempotency-Key ${idempotency.key} was used for a different request (execution ${earlier.id}).`,
    );
  }
  return { id: earlier.id, record: null, replayed: true };
}

/**
 * The settings the runner gives containers of these limits, read from its container
 * options rather than restated here: the record cannot drift from what it applies.
 */
export function runSettingsOf(config: AppConfig): RunSettings {
  const host = sandboxContainerOptions(config.limits).HostConfig;
  return {
    maxOutputBytes: config.maxOutputBytes,
    // The engine's own defaults when an option is left out.
    network: host?.NetworkMode ?? 'default',
    readOnlyRoot: host?.ReadonlyRootfs ?? false,
  };
}

/**
 * What a request asks for (not how its JSON was spelled: the fields as parsed,
 * input_data as the text it arrived as), as the text an Idempotency-Key's fingerprint
 * is made of.
 */
function askedOf(request: ExecuteRequestDto): string {
  const files = request.files?.map((file) => [
    file.path,
    file.file_id ?? null,
    file.encoding ?? null,
    file.content ?? null,
  ]);
  const newer = [request.stdin, request.memory_mb, request.cpus, request.pids].map(
    (value) => value ?? null,
  );
  return JSON.stringify([
    request.code ?? null,
    request.processor_id ?? null,
    request.input_data?.text ?? NO_INPUT,
    request.timeout ?? null,
    request.debug_mode ?? null,
    // Only when one is given: a request without them keeps the fingerprint it had before
    // they existed, so a retry across an upgrade still finds its first execution.
    ...(newer.some((value) => value !== null) || files ? newer : []),
    ...(files ? [files] : []),
    // Tagged, so it cannot read as another field; absent from requests without it.
    ...(request.callback_url != null ? [{ callback_url: request.callback_url }] : []),
    ...(request.runtime != null ? [{ runtime: request.runtime }] : []),
    ...(request.profile ? [{ profile: true }] : []),
  ]);
}

/** The key, checked, and a fingerprint of what was asked (askedOf). */
function idempotentRequest(key: string, asked: string): IdempotentRequest {
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new DomainError(
      'VALIDATION_FAILED',
      'Idempotency-Key must be 1 to 200 printable ASCII characters.',
      { fieldProblems: [{ field: 'Idempotency-Key', messages: ['1 to 200 printable ASCII'] }] },
    );
  }
  return { key, fingerprint: createHash('sha256').update(asked).digest('hex') };
}

/** Runs a check of a batch's item `index`; what it refuses is named `items[index]`. */
async function inItem<T>(index: number, check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (error: unknown) {
    if (!(error instanceof DomainError)) throw error;
    const prefix = `items[${index}]`;
    throw new DomainError(error.code, `${prefix}: ${error.message}`, {
      ...error.details,
      ...(error.details.fieldProblems && {
        fieldProblems: error.details.fieldProblems.map((problem) => ({
          field: `${prefix}.${problem.field}`,
          messages: problem.messages,
        })),
      }),
    });
  }
}
