import type { ExecutionInput, ExecutionRecord, ExecutionStatus } from '../execution-record';

/** Execution records for the stores' specs: one builder for every adapter and the contract. */
export const T0 = Date.parse('2030-01-01T00:00:00.000Z');
export const MB = 1024 * 1024;

export function record(id: string, status: ExecutionStatus, createdAfterMs = 0): ExecutionRecord {
  const finished = status !== 'queued' && status !== 'running';
  return {
    id,
    tenant: 'tenant-a',
    createdBy: 'key-a',
    requestId: `request-${id}`,
    processorId: null,
    debugMode: true,
    timeoutS: 30,
    limits: {
      memoryBytes: 256 * MB,
      cpus: 1,
      pids: 64,
      tmpfsBytes: 64 * MB,
      openFiles: 256,
      fileSizeBytes: 64 * MB,
      user: '10001:10001',
    },
    queuedAt: new Date(T0 + createdAfterMs),
    status,
    startedAt: status === 'queued' ? null : new Date(T0 + createdAfterMs + 100),
    endedAt: finished ? new Date(T0 + createdAfterMs + 300) : null,
    stdout: finished ? '1\n' : '',
    stderr: '',
    truncated: { stdout: false, stderr: false },
    exitCode: finished ? 0 : null,
    error: null,
    oomKilled: false,
    exceptions: [],
    variablesAfter: finished ? { x: { type: 'int', value: 1, truncated: false } } : null,
    timings: finished ? { queuedMs: 0, containerStartMs: 100, runMs: 200, totalMs: 300 } : null,
    codeMs: finished ? 1.5 : null,
    usage: finished ? { peakMemoryBytes: 9_000_000, cpuTimeMs: 12 } : null,
    imageId: 'sha256:abc',
    pruned: false,
  };
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
