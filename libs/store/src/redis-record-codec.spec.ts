import type { ExecutionRecord } from './execution-record';
import {
  SUMMARY_FIELDS,
  decodeRecord,
  decodeSummary,
  encodeDetails,
  encodeSummary,
} from './redis-record-codec';

const RECORD: ExecutionRecord = {
  id: 'a',
  tenant: 'tenant-a',
  createdBy: 'key-a',
  requestId: 'request-a',
  processorId: 'p-1',
  queuedAt: new Date('2030-01-01T00:00:00.000Z'),
  status: 'completed',
  startedAt: new Date('2030-01-01T00:00:00.100Z'),
  endedAt: null,
  exitCode: -9,
  error: 'Killed: "out of memory" ✓',
  debugMode: false,
  timeoutS: 30,
  limits: {
    memoryBytes: 1,
    cpus: 0.5,
    pids: 64,
    tmpfsBytes: 2,
    openFiles: 256,
    fileSizeBytes: 3,
    user: '10001:10001',
  },
  stdout: 'out',
  stderr: '',
  truncated: { stdout: false, stderr: true },
  oomKilled: true,
  exceptions: [],
  // A variable named like a summary field stays where it is.
  variablesAfter: { id: { type: 'str', value: 'x', truncated: false } },
  timings: null,
  codeMs: 0.25,
  usage: null,
  imageId: null,
  inputFiles: [{ path: 'data/in.csv', fileId: 'file_a', size: 3 }],
  outputFiles: {
    files: [{ path: 'o.txt', size: 1, mediaType: 'text/plain', sha256: 'ab', fileId: 'file_b' }],
    omitted: [],
    omittedCount: 0,
  },
  callbackUrl: 'https://hooks.example.org/sandbox',
  batchId: null,
  batchIndex: null,
  sharedContainer: false,
  figures: {
    figures: [
      {
        index: 0,
        title: 'loss',
        image: { width: 640, height: 480, size: 9, sha256: 'cd', fileId: 'file_c' },
        error: null,
      },
    ],
    omittedCount: 0,
  },
  profileRequested: true,
  profile: null,
  runtime: 'python-3.11-minimal',
  moduleHint: { module: 'sklearn', runtimes: ['python-3.11'], unchecked: [] },
  pruned: false,
};

/** HSET's flat field/value list as HMGET gives it back, in SUMMARY_FIELDS order. */
function hmget(flat: string[]): (string | null)[] {
  const hash = new Map<string, string>();
  for (let i = 0; i < flat.length; i += 2) hash.set(flat[i], flat[i + 1]);
  return SUMMARY_FIELDS.map((field) => hash.get(field) ?? null);
}

describe('redis record codec', () => {
  it('stores each summary field as JSON, dates as ISO strings', () => {
    expect(hmget(encodeSummary(RECORD))).toEqual([
      '"a"',
      '"tenant-a"',
      '"key-a"',
      '"request-a"',
      '"p-1"',
      '"2030-01-01T00:00:00.000Z"',
      '"completed"',
      '"2030-01-01T00:00:00.100Z"',
      'null',
      '-9',
      '"Killed: \\"out of memory\\" ✓"',
      'null',
      'null',
    ]);
  });

  it('reads a summary written before batches existed as in no batch', () => {
    const values = hmget(encodeSummary(RECORD));
    for (const field of ['batchId', 'batchIndex'] as const)
      values[SUMMARY_FIELDS.indexOf(field)] = null;
    expect(decodeSummary(values, 'exec:a:summary')).toMatchObject({
      batchId: null,
      batchIndex: null,
    });
    values[SUMMARY_FIELDS.indexOf('status')] = null;
    expect(decodeSummary(values, 'exec:a:summary')).toBeUndefined();
  });

  it('keeps the summary out of the details, and gives the whole record back', () => {
    const details = JSON.parse(encodeDetails(RECORD)) as Record<string, unknown>;
    for (const field of SUMMARY_FIELDS) expect(details).not.toHaveProperty(field);
    expect(details).toHaveProperty('variablesAfter.id.value', 'x');

    const decoded = decodeRecord(encodeDetails(RECORD), hmget(encodeSummary(RECORD)), 'exec:a');
    expect(decoded).toEqual(RECORD);
    expect(decoded?.queuedAt).toBeInstanceOf(Date);
  });

  it('throws on a value encodeSummary does not write, naming where it came from', () => {
    const values = hmget(encodeSummary(RECORD));
    values[SUMMARY_FIELDS.indexOf('queuedAt')] = '"yesterday"';
    expect(() => decodeSummary(values, 'exec:a:summary')).toThrow(
      /Unexpected Redis reply from exec:a:summary: .*\n.*at queuedAt/,
    );
    values[SUMMARY_FIELDS.indexOf('queuedAt')] = '{not JSON';
    expect(() => decodeSummary(values, 'exec:a:summary')).toThrow(/Not JSON text/);
    expect(() => decodeRecord('"text"', hmget(encodeSummary(RECORD)), 'exec:a')).toThrow(
      /from exec:a/,
    );
  });

  it('keeps every field of the details, also one this release does not know', () => {
    const details = JSON.stringify({ ...JSON.parse(encodeDetails(RECORD)), addedLater: 1 });
    expect(decodeRecord(details, hmget(encodeSummary(RECORD)), 'exec:a')).toEqual({
      ...RECORD,
      addedLater: 1,
    });
  });

  it('reads details stored before files and callbacks as having none', () => {
    const older = JSON.parse(encodeDetails(RECORD)) as Record<string, unknown>;
    const later = [
      'inputFiles',
      'outputFiles',
      'callbackUrl',
      'figures',
      'profileRequested',
      'runtime',
      'moduleHint',
    ];
    for (const field of later) delete older[field];
    expect(decodeRecord(JSON.stringify(older), hmget(encodeSummary(RECORD)), 'exec:a')).toEqual({
      ...RECORD,
      inputFiles: [],
      outputFiles: null,
      callbackUrl: null,
      figures: null,
      profileRequested: false,
      runtime: null,
      moduleHint: null,
    });
  });

  it('reads an absent summary hash as absent', () => {
    const absent = SUMMARY_FIELDS.map(() => null);
    expect(decodeSummary(absent, 'exec:a:summary')).toBeUndefined();
    expect(decodeRecord('{}', absent, 'exec:a')).toBeUndefined();
  });
});
