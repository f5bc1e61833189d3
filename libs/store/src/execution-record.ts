import { randomUUID } from 'node:crypto';
import type { ContainerLimits, HarnessException, HarnessVariable } from '@brain-net/runner';

export const EXECUTION_STATUSES = [
  'queued',
  'running',
  'completed',
  'failed',
  'timeout',
  'cancelled',
] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

export function isFinished(status: ExecutionStatus): boolean {
  switch (status) {
    case 'queued':
    case 'running':
      return false;
    case 'completed':
    case 'failed':
    case 'timeout':
    case 'cancelled':
      return true;
  }
}

export interface ExecutionTimings {
  /** From acceptance to the moment a slot was free. */
  readonly queuedMs: number;
  /** Create, attach and start of the container. */
  readonly containerStartMs: number;
  /** Container start to exit. */
  readonly runMs: number;
  /** Acceptance to the end. */
  readonly totalMs: number;
}

export interface ResourceUsage {
  readonly peakMemoryBytes: number;
  readonly cpuTimeMs: number;
}

/**
 * What the caller asked to run: the bulky part of a submit, written once when the
 * execution is accepted and read back only when it starts or a debug record shows it.
 * Never kept in memory while the execution waits.
 */
export interface ExecutionInput {
  readonly code: string;
  /** `input_data` as the exact JSON text that arrived (validated, never parsed here). */
  readonly inputJson: string;
  /**
   * What the code reads on stdin; absent when the submit gave none (stdin is then empty).
   * Inputs stored before stdin existed read back without it.
   */
  readonly stdin?: string;
}

/**
 * How the container was set up beyond `limits`, as the service applied it to this run.
 * Fixed when the execution is accepted, like its limits: a later change of the
 * configuration is not what this run had.
 */
export interface RunSettings {
  /** Cap on each of stdout and stderr, in bytes (MAX_OUTPUT_BYTES). */
  readonly maxOutputBytes: number;
  /** The container's network mode (`HostConfig.NetworkMode`): `none`, loopback only. */
  readonly network: string;
  /** Whether the container's root file system was mounted read-only. */
  readonly readOnlyRoot: boolean;
}

/** A submit's Idempotency-Key, and a fingerprint of what that submit asked for. */
export interface IdempotentRequest {
  readonly key: string;
  readonly fingerprint: string;
}

/** The columns a listing shows: read without touching any bulky field. */
export interface ExecutionSummary {
  readonly id: string;
  /** Whose it is: only this tenant (and admins) can see it. */
  readonly tenant: string;
  /** The API key's name or the token's subject that submitted it. */
  readonly createdBy: string;
  /** The request that submitted it, to tie its log lines to the caller's. */
  readonly requestId: string;
  readonly processorId: string | null;
  readonly queuedAt: Date;
  status: ExecutionStatus;
  startedAt: Date | null;
  endedAt: Date | null;
  exitCode: number | null;
  error: string | null;
}

/**
 * Everything known about one execution but its input. The store holds the one true
 * copy; output, exceptions and variables are each bounded by the harness and the runner.
 */
export interface ExecutionRecord extends ExecutionSummary {
  readonly debugMode: boolean;
  readonly timeoutS: number;
  readonly limits: ContainerLimits;
  /**
   * Absent on records written before run settings were kept (on SQLite: before migration
   * 6): unknown for those, as today's configuration need not be what they ran with.
   */
  readonly runSettings?: RunSettings;
  stdout: string;
  stderr: string;
  truncated: { stdout: boolean; stderr: boolean };
  oomKilled: boolean;
  exceptions: HarnessException[];
  variablesAfter: Record<string, HarnessVariable> | null;
  timings: ExecutionTimings | null;
  /** Time in the user's code alone, as the harness measured it. */
  codeMs: number | null;
  usage: ResourceUsage | null;
  imageId: string | null;
  /**
   * True once the store budget (STORE_MAX_MB) dropped this record's bulky fields: its
   * output, exceptions, variables and input are gone, its status and times remain.
   */
  pruned: boolean;
}

/** What a newly accepted execution is made of: who asked, for what, and its settings. */
export interface NewExecution {
  /** A fresh UUID unless given. */
  readonly id?: string;
  readonly tenant: string;
  readonly createdBy: string;
  readonly requestId: string;
  readonly processorId: string | null;
  /** Now unless given. */
  readonly queuedAt?: Date;
  readonly debugMode: boolean;
  readonly timeoutS: number;
  readonly limits: ContainerLimits;
  readonly runSettings: RunSettings;
}

/** The record of a newly accepted execution: queued, with nothing run or recorded yet. */
export function newExecutionRecord({
  id = randomUUID(),
  queuedAt = new Date(),
  ...execution
}: NewExecution): ExecutionRecord {
  return {
    ...execution,
    id,
    queuedAt,
    status: 'queued',
    startedAt: null,
    endedAt: null,
    stdout: '',
    stderr: '',
    truncated: { stdout: false, stderr: false },
    exitCode: null,
    error: null,
    oomKilled: false,
    exceptions: [],
    variablesAfter: null,
    timings: null,
    codeMs: null,
    usage: null,
    imageId: null,
    pruned: false,
  };
}
