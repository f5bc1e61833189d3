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

/** Everything known about one execution. The store holds the one true copy. */
export interface ExecutionRecord {
  readonly id: string;
  /** The request that submitted it, to tie its log lines to the caller's. */
  readonly requestId: string;
  readonly processorId: string | null;
  readonly code: string;
  readonly inputData: unknown;
  readonly debugMode: boolean;
  readonly timeoutS: number;
  readonly limits: ContainerLimits;
  readonly queuedAt: Date;
  status: ExecutionStatus;
  startedAt: Date | null;
  endedAt: Date | null;
  stdout: string;
  stderr: string;
  truncated: { stdout: boolean; stderr: boolean };
  exitCode: number | null;
  error: string | null;
  oomKilled: boolean;
  exceptions: HarnessException[];
  variablesAfter: Record<string, HarnessVariable> | null;
  timings: ExecutionTimings | null;
  /** Time in the user's code alone, as the harness measured it. */
  codeMs: number | null;
  usage: ResourceUsage | null;
  imageId: string | null;
}
