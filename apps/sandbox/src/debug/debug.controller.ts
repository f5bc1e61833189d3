import { Controller, Get, Headers, MessageEvent, Param, Res, Sse } from '@nestjs/common';
import type { Response } from 'express';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Observable } from 'rxjs';
import { ExecutionFeed } from '@brain-net/messaging';
import { ExecutionService } from '../execution/execution.service';
import { CurrentCaller, RequireScope } from '../auth/access.decorators';
import { Caller } from '../auth/caller';
import { ApiProblem } from '../errors/problem-details.dto';
import { DebugService } from './debug.service';
import { DebugRecordDto } from './dto/debug-record.dto';
import { executionStream } from './execution-stream';

const STORE_FAILED = 'STORE_UNAVAILABLE: the execution store failed; see Retry-After';

@ApiTags('debug')
@Controller()
export class DebugController {
  constructor(
    private readonly debug: DebugService,
    private readonly executions: ExecutionService,
    private readonly feed: ExecutionFeed,
  ) {}

  @Get('debug/:id')
  @RequireScope('read')
  @ApiOperation({
    operationId: 'getDebugRecord',
    summary: 'Full debug record of one execution',
    description:
      'Variables (with debug_mode), exceptions with frames and causes, stdout and stderr, exit code, OOM flag, the limits applied, timings and resource use.',
  })
  @ApiOkResponse({ type: DebugRecordDto })
  @ApiProblem(404, 'No execution has this id')
  @ApiProblem(503, STORE_FAILED)
  async get(
    @Param('id') id: string,
    @CurrentCaller() caller: Caller,
    @Res() response: Response,
  ): Promise<void> {
    response.type('application/json').send(await this.debug.getJson(id, caller));
  }

  @Sse('execution/:id/stream')
  @RequireScope('read')
  @ApiOperation({
    operationId: 'streamExecution',
    summary: 'Live output of one execution (Server-Sent Events)',
    description:
      'Events: `output` {stream, data} (what was already printed first, in the order it was written, then chunks as they come), `status` {status}, and a final `result` with the execution result; then the stream ends. Each event has an `id`: the sequence number of the last output chunk sent so far (0 before the first). A `: keep-alive` comment line comes every 15 seconds.',
  })
  @ApiHeader({
    name: 'Last-Event-ID',
    required: false,
    description:
      'An event id this stream sent before: only the output chunks after it are replayed, then the stream goes on live. A value that is not a non-negative integer is ignored (everything is replayed).',
  })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ description: 'An event stream' })
  @ApiProblem(404, 'No execution has this id')
  @ApiProblem(503, STORE_FAILED)
  async stream(
    @Param('id') id: string,
    @CurrentCaller() caller: Caller,
    @Headers('last-event-id') lastEventId: string | undefined,
  ): Promise<Observable<MessageEvent>> {
    await this.executions.get(id, caller); // 404 before the stream begins
    const afterSeq = resumePoint(lastEventId);
    return executionStream(id, () => this.executions.get(id, caller), this.feed, afterSeq);
  }
}

/**
 * The seq a reconnecting client had reached, from its `Last-Event-ID`; 0 (replay all)
 * when it sent none, or anything but the decimal ids this stream hands out.
 */
export function resumePoint(lastEventId: string | undefined): number {
  const text = lastEventId?.trim() ?? '';
  if (!/^\d{1,15}$/.test(text)) return 0;
  return Number(text);
}
