import { createHash, randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Injectable, Logger } from '@nestjs/common';
import { ExecutionQueue, type QueueRefusal } from '@brain-net/messaging';
import { ContainerLimits, sandboxContainerOptions } from '@brain-net/runner';
import {
  EarlierSubmit,
  ExecutionRecord,
  ExecutionStore,
  IdempotentRequest,
  RunSettings,
  newExecutionRecord,
} from '@brain-net/store';
import { Caller } from '../auth/caller';
import { AppConfig } from '../config/app-config';
import { DomainError } from '../errors/domain-error';
import { errorMessage } from '../errors/error-message';
import { InputFiles } from '../files/input-files';
import { ProcessorDefinitionService } from '../processor/processor-definition.service';
import { queueRefusalError } from '../quota/queue-refusal';
import { ExecuteRequestDto } from './dto/execute-request.dto';
import { EngineStatusService } from './engine-status.service';
import { ExecutionLifecycle } from './execution-lifecycle';
import { fromQueue, fromStore } from './from-store';
import { shuttingDownError } from './graceful-shutdown';

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

/**
 * The admission half of an execution's life: validates a submit, resolves its code,
 * checks the limits and the Idempotency-Key, stores the new record and queues it.
 */
@Injectable()
export class ExecutionAdmission {
  private readonly logger = new Logger(ExecutionAdmission.name);
  /** What every execution this instance accepts runs with besides its limits. */
  private readonly runSettings: RunSettings;
  private shuttingDown = false;

  constructor(
    private readonly config: AppConfig,
    private readonly store: ExecutionStore,
    private readonly queue: ExecutionQueue,
    private readonly lifecycle: ExecutionLifecycle,
    private readonly engine: EngineStatusService,
    private readonly processors: ProcessorDefinitionService,
    private readonly inputFiles: InputFiles,
  ) {
    this.runSettings = runSettingsOf(config);
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
      idempotencyKey === undefined ? null : idempotentRequest(idempotencyKey, request);
    if (idempotency) {
      const earlier = await fromStore(() =>
        this.store.findByIdempotencyKey(caller.tenant, idempotency.key),
      );
      if (earlier) return replayOf(earlier, idempotency);
    }
    if (this.shuttingDown) throw shuttingDownError();
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
    // null is absent, as class-validator's IsOptional lets it through.
    const stdin = request.stdin ?? undefined;
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
    // Alone on its machine the service needs its own engine; in a cluster any worker's will do.
    if (this.queue.runsJobsInThisProcess) this.engine.requireReady();
    const refusal = await fromQueue(() => this.queue.refusal(caller.tenant));
    if (refusal) {
      const load = await fromQueue(() => this.queue.load());
      throw queueRefusalError(refusal, load, caller.tenant, this.retryAfterS());
    }

    const id = randomUUID();
    // Before the record: a job never starts without its files. Should the record not be
    // stored after all, the sweep deletes them (their execution does not exist).
    const inputFiles = await this.inputFiles.keep(files, caller.tenant, id);
    const record = newExecutionRecord({
      id,
      inputFiles,
      tenant: caller.tenant,
      createdBy: caller.subject,
      requestId,
      processorId: request.processor_id ?? null,
      debugMode: request.debug_mode ?? true,
      timeoutS,
      limits,
      runSettings: this.runSettings,
    });
    // Storing a large input is a synchronous write on SQLite: give it an event-loop turn
    // of its own rather than adding it to whatever this turn already did (parsing, say).
    await nextTurn();
    const earlier = await fromStore(() =>
      this.store.create(
        record,
        {
          code,
          inputJson: request.input_data?.text ?? NO_INPUT,
          ...(stdin !== undefined && { stdin }),
        },
        idempotency,
      ),
    );
    if (earlier && idempotency) return replayOf(earlier, idempotency);
    // The shutdown may have begun while this submit awaited: its drain would not see it.
    if (this.shuttingDown) {
      await this.lifecycle.close(record, 'cancelled', 'The service shut down before it started.');
      throw shuttingDownError();
    }
    let refused: QueueRefusal | null;
    try {
      refused = await this.queue.enqueue(record.id, caller.tenant);
    } catch (error: unknown) {
      // Stored but not queued: record it as such rather than leave it waiting forever.
      const reason = errorMessage(error);
      this.logger.error(`execution ${record.id} could not be queued: ${reason}`);
      await this.lifecycle.close(record, 'failed', `The execution could not be queued: ${reason}`);
      throw new DomainError('QUEUE_UNAVAILABLE', `The execution queue failed: ${reason}`, {
        retryAfterS: 5,
      });
    }
    // Another submit of this tenant took the last place since refusal() let this one in.
    if (refused) {
      await this.lifecycle.close(record, 'cancelled', 'The queue refused it: it was full.');
      const load = await fromQueue(() => this.queue.load());
      throw queueRefusalError(refused, load, caller.tenant, this.retryAfterS());
    }
    return { id: record.id, record, replayed: false };
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
 * The key and a fingerprint of what the request asks for (not how its JSON was
 * spelled: the fields as parsed, input_data as the text it arrived as).
 */
function idempotentRequest(key: string, request: ExecuteRequestDto): IdempotentRequest {
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new DomainError(
      'VALIDATION_FAILED',
      'Idempotency-Key must be 1 to 200 printable ASCII characters.',
      { fieldProblems: [{ field: 'Idempotency-Key', messages: ['1 to 200 printable ASCII'] }] },
    );
  }
  const files = request.files?.map((file) => [
    file.path,
    file.file_id ?? null,
    file.encoding ?? null,
    file.content ?? null,
  ]);
  const newer = [request.stdin, request.memory_mb, request.cpus, request.pids].map(
    (value) => value ?? null,
  );
  const asked = JSON.stringify([
    request.code ?? null,
    request.processor_id ?? null,
    request.input_data?.text ?? NO_INPUT,
    request.timeout ?? null,
    request.debug_mode ?? null,
    // Only when one is given: a request without them keeps the fingerprint it had before
    // they existed, so a retry across an upgrade still finds its first execution.
    ...(newer.some((value) => value !== null) || files ? newer : []),
    ...(files ? [files] : []),
  ]);
  return { key, fingerprint: createHash('sha256').update(asked).digest('hex') };
}
