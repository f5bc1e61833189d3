import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteDatabase, SqliteExecutionStore } from '@brain-net/store';
import type { ExecutionRecord, StoreOptions } from '@brain-net/store';
import type { ExecutionListDto } from '../../apps/sandbox/src/execution/dto/execution-result.dto';
import { run, startSandboxApp } from '../support/sandbox-app';

const MIB = 1024 * 1024;

function unfinished(index: number): ExecutionRecord {
  return {
    id: `crashed-${index}`,
    tenant: 'default',
    createdBy: 'anonymous',
    requestId: `request-${index}`,
    processorId: null,
    queuedAt: new Date(Date.now() - 60_000 + index),
    status: index % 2 === 0 ? 'queued' : 'running',
    startedAt: null,
    endedAt: null,
    exitCode: null,
    error: null,
    debugMode: true,
    timeoutS: 60,
    limits: {
      memoryBytes: 256 * MIB,
      cpus: 1,
      pids: 64,
      tmpfsBytes: 64 * MIB,
      openFiles: 256,
      fileSizeBytes: 64 * MIB,
      user: '10001:10001',
    },
    stdout: '',
    stderr: '',
    truncated: { stdout: false, stderr: false },
    oomKilled: false,
    exceptions: [],
    variablesAfter: null,
    timings: null,
    codeMs: null,
    usage: null,
    imageId: null,
    inputFiles: [],
    callbackUrl: null,
    outputFiles: null,
    figures: null,
    profileRequested: false,
    profile: null,
    runtime: 'python-3.11',
    moduleHint: null,
    batchId: null,
    batchIndex: null,
    sharedContainer: false,
    pruned: false,
  };
}

describe('Start-up never needs more memory than a steady state', () => {
  let directory: string;

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'sandbox-hostile-restart-'));
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it('starts over 300 large unfinished records, closes them, and runs the next job', async () => {
    const databasePath = join(directory, 'sandbox.db');
    const options: StoreOptions = {
      databasePath,
      executionHistoryLimit: 1000,
      maxStoreBytes: 2048 * MIB,
    };
    // What a crash under a flood of dense 4 MB requests leaves behind.
    const database = new SqliteDatabase(options);
    const store = new SqliteExecutionStore(database, options);
    const dense = `{"items":[${new Array(1_300_000).fill('{}').join(',')}]}`;
    for (let i = 0; i < 300; i += 1)
      await store.create(unfinished(i), { code: 'pass', inputJson: dense });
    database.close();

    const rssBefore = process.memoryUsage().rss;
    const sandbox = await startSandboxApp({ DATABASE_PATH: databasePath, STORE_MAX_MB: '2048' });
    try {
      const rssGrowthMb = (process.memoryUsage().rss - rssBefore) / MIB;
      console.log(
        `start-up over 300 × 3.9 MB unfinished records: RSS grew ${rssGrowthMb.toFixed(0)} MB`,
      );
      expect(rssGrowthMb).toBeLessThan(300);
      const listing = (await sandbox.http.get('/executions?limit=100').expect(200))
        .body as ExecutionListDto;
      expect(listing.total).toBe(300);
      expect(new Set(listing.items.map((item) => item.status))).toEqual(new Set(['failed']));
      expect(listing.items[0].error).toContain('restarted');
      expect((await run(sandbox.http, { code: 'print("healed")' })).output).toBe('healed\n');
    } finally {
      await sandbox.close();
    }
  });

  it.each(['INFO', 'DEBUG', 'WARNING', 'ERROR', 'CRITICAL', 'info'])(
    'starts with the seed setting LOG_LEVEL=%s',
    async (level) => {
      const sandbox = await startSandboxApp({ LOG_LEVEL: level });
      try {
        await sandbox.http.get('/health/live').expect(200);
      } finally {
        await sandbox.close();
      }
    },
  );
});
