import { Test } from '@nestjs/testing';
import type { ExecutionInput, ExecutionRecord } from '@brain-net/store';
import {
  INPUT,
  queuedRecord,
  withoutRunSettings,
} from '@brain-net/store/testing/execution-records';
import { ANONYMOUS_CALLER } from '../auth/caller';
import { AppConfig, loadConfig } from '../config/app-config';
import { ExecutionService } from '../execution/execution.service';
import { DebugService } from './debug.service';
import type { DebugRecordDto } from './dto/debug-record.dto';

describe('DebugService', () => {
  let stored: ExecutionRecord;

  /** The debug record of `stored`, read by an app whose MAX_OUTPUT_BYTES is 4096. */
  async function debugRecord(): Promise<DebugRecordDto> {
    const executions: Pick<ExecutionService, 'get' | 'input'> = {
      get: () => Promise.resolve(stored),
      input: (): Promise<ExecutionInput> => Promise.resolve(INPUT),
    };
    const moduleRef = await Test.createTestingModule({
      providers: [
        DebugService,
        { provide: ExecutionService, useValue: executions },
        { provide: AppConfig, useValue: loadConfig({ MAX_OUTPUT_BYTES: '4096' }) },
      ],
    }).compile();
    const json = await moduleRef.get(DebugService).getJson(stored.id, ANONYMOUS_CALLER);
    return JSON.parse(json) as DebugRecordDto;
  }

  it('shows the settings the run was accepted with, not the reading app’s', async () => {
    stored = queuedRecord({
      runSettings: { maxOutputBytes: 2048, network: 'none', readOnlyRoot: true },
    });
    expect((await debugRecord()).limits).toMatchObject({
      max_output_bytes: 2048,
      network: 'none',
      read_only_root: true,
    });
  });

  it('says the settings of a record from before they were kept are unknown', async () => {
    stored = withoutRunSettings(queuedRecord());
    const { limits } = await debugRecord();
    expect(limits).toMatchObject({ max_output_bytes: null, network: null, read_only_root: null });
    // Its limits were always kept: those it still shows.
    expect(limits).toMatchObject({ memory_mb: 256, pids: 64, user: '10001:10001' });
  });
});
