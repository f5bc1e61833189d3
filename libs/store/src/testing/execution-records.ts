import type { ContainerLimits } from '@brain-net/runner';
import {
  type ExecutionInput,
  type ExecutionRecord,
  type ExecutionStatus,
  type NewExecution,
  type RunSettings,
  isFinished,
  newExecutionRecord,
} from '../execution-record';

/** Execution records for the specs: newExecutionRecord() with values of their own. */
export const T0 = Date.parse('2030-01-01T00:00:00.000Z');
export const MB = 1024 * 1024;

export const LIMITS: ContainerLimits = {
  memoryBytes: 256 * MB,
  cpus: 1,
  pids: 64,
  tmpfsBytes: 64 * MB,
  openFiles: 256,
  fileSizeBytes: 64 * MB,
  user: '10001:10001',
};

export const RUN_SETTINGS: RunSettings = {
  maxOutputBytes: MB,
  network: 'none',
  readOnlyRoot: true,
};

/** A record as admission stores it; `overrides` replace what a submit would give. */
export function queuedRecord(overrides: Partial<NewExecution> = {}): ExecutionRecord {
  return newExecutionRecord({
    tenant: 'tenant-a',
    createdBy: 'key-a',
    requestId: 'request-1',
    processorId: null,
    queuedAt: new Date(T0),
    debugMode: true,
    timeoutS: 30,
    limits: LIMITS,
    runSettings: RUN_SETTINGS,
    ...overrides,
  });
}

/** A record in `status`, with what a run that far leaves on it. */
export function record(id: string, status: ExecutionStatus, createdAfterMs = 0): ExecutionRecord {
  const finished = isFinished(status);
  return {
    ...queuedRecord({ id, requestId: `request-${id}`, queuedAt: new Date(T0 + createdAfterMs) }),
    status,
    startedAt: status === 'queued' ? null : new Date(T0 + createdAfterMs + 100),
    endedAt: finished ? new Date(T0 + createdAfterMs + 300) : null,
    stdout: finished ? '1\n' : '',
    exitCode: finished ? 0 : null,
    variablesAfter: finished ? { x: { type: 'int', value: 1, truncated: false } } : null,
    timings: finished ? { queuedMs: 0, containerStartMs: 100, runMs: 200, totalMs: 300 } : null,
    codeMs: finished ? 1.5 : null,
    usage: finished ? { peakMemoryBytes: 9_000_000, cpuTimeMs: 12 } : null,
    imageId: 'sha256:abc',
  };
}

/** The record as a release from before run settings were kept wrote it: without them. */
export function withoutRunSettings({ runSettings: _unknown, ...older }: ExecutionRecord) {
  return older;
}

export const INPUT: ExecutionInput = { code: 'print(1)', inputJson: '{"n":1}' };

/** A record whose bulky fields (input and stdout) weigh `bytes` in all. */
export function heavy(id: string, status: ExecutionStatus, createdAfterMs: number, bytes: number) {
  const half = Math.floor(bytes / 2);
  return {
    record: { ...record(id, status, createdAfterMs), stdout: 'o'.repeat(half), exceptions: [] },
    input: { code: '', inputJson: `"${'i'.repeat(bytes - half - 2)}"` },
  };
}
