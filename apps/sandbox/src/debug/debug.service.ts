import { Injectable } from '@nestjs/common';
import { Caller } from '../auth/caller';
import { appendRawJsonMember } from '@brain-net/runner';
import { ExecutionInput, ExecutionRecord } from '@brain-net/store';
import { toFigure, toModuleHint } from '../execution/dto/execution-result.dto';
import { ExecutionService } from '../execution/execution.service';
import { DebugRecordDto } from './dto/debug-record.dto';

const MIB = 1024 * 1024;

/** A read model over execution records: the full picture of one run. */
@Injectable()
export class DebugService {
  constructor(private readonly executions: ExecutionService) {}

  /**
   * The debug record as JSON text. `input_data` goes in as the text it arrived as: a
   * dense input would cost far more to parse and serialize again than to copy.
   */
  async getJson(id: string, caller: Caller): Promise<string> {
    const record = await this.executions.get(id, caller);
    const input = await this.executions.input(id, caller);
    const json = JSON.stringify(this.toDebugRecord(record, input));
    return appendRawJsonMember(json, 'input_data', input?.inputJson ?? 'null');
  }

  private toDebugRecord(
    record: ExecutionRecord,
    input: ExecutionInput | undefined,
  ): Omit<DebugRecordDto, 'input_data'> {
    const { limits, runSettings, timings, usage } = record;
    return {
      execution_id: record.id,
      status: record.status,
      processor_id: record.processorId,
      code: input?.code ?? null,
      stdin: input?.stdin ?? null,
      pruned: record.pruned,
      debug_mode: record.debugMode,
      error: record.error,
      exit_code: record.exitCode,
      oom_killed: record.oomKilled,
      stdout: record.stdout,
      stderr: record.stderr,
      truncated: { ...record.truncated },
      variables_after: record.variablesAfter,
      exceptions: record.exceptions,
      profile: record.profile,
      figures: (record.figures?.figures ?? []).map((figure) => toFigure(record.id, figure)),
      figures_omitted: record.figures?.omittedCount ?? 0,
      limits: {
        memory_mb: limits.memoryBytes / MIB,
        cpus: limits.cpus,
        pids: limits.pids,
        tmpfs_mb: limits.tmpfsBytes / MIB,
        timeout_s: record.timeoutS,
        // Null when the record predates run settings: today's configuration may differ.
        max_output_bytes: runSettings?.maxOutputBytes ?? null,
        network: runSettings?.network ?? null,
        user: limits.user,
        read_only_root: runSettings?.readOnlyRoot ?? null,
        // Records from before SANDBOX_RUNTIME have none either: the default ran them.
        runtime: limits.runtime ?? 'default',
      },
      timings_ms: timings && {
        queued_ms: timings.queuedMs,
        container_start_ms: timings.containerStartMs,
        run_ms: timings.runMs,
        total_ms: timings.totalMs,
        code_ms: record.codeMs,
      },
      resource_usage: usage && {
        peak_memory_bytes: usage.peakMemoryBytes,
        cpu_time_ms: usage.cpuTimeMs,
      },
      image_id: record.imageId,
      runtime: record.runtime,
      module_hint: toModuleHint(record.moduleHint),
      created_at: record.queuedAt.toISOString(),
      start_time: record.startedAt?.toISOString() ?? null,
      end_time: record.endedAt?.toISOString() ?? null,
    };
  }
}
