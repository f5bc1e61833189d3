import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteDatabase, SqliteExecutionStore } from '@brain-net/store';
import type { ExecutionResultDto } from '../../apps/sandbox/src/execution/dto/execution-result.dto';
import { run, startScriptedSandboxApp, waitForStatus } from '../support/sandbox-app';
import { untilCancelled } from '../support/scripted-runs';

describe('Across a restart (DATABASE_PATH on disk, scripted runner)', () => {
  let directory: string;
  let databasePath: string;

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'sandbox-restart-'));
    databasePath = join(directory, 'sandbox.db');
  });

  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it('keeps finished executions', async () => {
    const first = await startScriptedSandboxApp({ DATABASE_PATH: databasePath });
    const result = await run(first.http, { code: 'print("kept")' });
    await first.close();

    const second = await startScriptedSandboxApp({ DATABASE_PATH: databasePath });
    const again = (await second.http.get(`/execution/${result.execution_id}`).expect(200))
      .body as ExecutionResultDto;
    expect(again).toEqual({ ...result, callback: null });
    await second.http.get(`/debug/${result.execution_id}`).expect(200);
    await second.close();
  });

  it('closes executions a crash left running as failed, saying why', async () => {
    const first = await startScriptedSandboxApp({ DATABASE_PATH: databasePath });
    const sleeper = 'import time\ntime.sleep(30)';
    first.runner.script(sleeper, untilCancelled());
    const accepted = await first.http.post('/execute').send({ code: sleeper }).expect(202);
    const id = (accepted.body as { execution_id: string }).execution_id;
    await waitForStatus(first.http, id, (status) => status === 'running');
    // What a crash leaves behind: the record still says running. (close() would cancel it.)
    const options = { databasePath, executionHistoryLimit: 1000, maxStoreBytes: 1024 ** 3 };
    const snapshot = new SqliteDatabase(options);
    const interrupted = await new SqliteExecutionStore(snapshot, options).get(id);
    snapshot.close();
    await first.close();
    expect(interrupted?.status).toBe('running');
    // No save reopens an ended record: the row is put back as the crash left it.
    const crashed = new SqliteDatabase(options);
    crashed.connection
      .prepare(
        `UPDATE executions SET status = 'running', ended_at = NULL, error = NULL WHERE id = ?`,
      )
      .run(id);
    crashed.close();

    const second = await startScriptedSandboxApp({ DATABASE_PATH: databasePath });
    const after = (await second.http.get(`/execution/${id}`).expect(200))
      .body as ExecutionResultDto;
    expect(after.status).toBe('failed');
    expect(after.error).toContain('restarted');
    await second.close();
  });
});
