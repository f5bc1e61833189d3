import { Controller, Get, MessageEvent, Param, Res, Sse } from '@nestjs/common';
import type { Response } from 'express';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Observable } from 'rxjs';
import { ExecutionFeed } from '@brain-net/messaging';
import { ExecutionService } from '../execution/execution.service';
import { CurrentCaller, RequireScope } from '../auth/access.decorators';
import { Caller } from '../auth/caller';
import { ApiProblem } from '../errors/problem-details.dto';
import { DebugService } from './debug.service';
import { DebugRecordDto } from './dto/debug-record.dto';
import { executionStream } from './execution-stream';

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
    summary: 'Full debug record of one execution',
    description:
      'Variables (with debug_mode), exceptions with frames and causes, stdout and stderr, exit code, OOM flag, the limits applied, timings and resource use.',
  })
  @ApiOkResponse({ type: DebugRecordDto })
  @ApiProblem(404, 'No execution has this id')
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
    summary: 'Live output of one execution (Server-Sent Events)',
    description:
      'Events: `output` {stream, data} (what was already printed first, then chunks as they come), `status` {status}, and a final `result` with the execution result; then the stream ends.',
  })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ description: 'An event stream' })
  @ApiProblem(404, 'No execution has this id')
  async stream(
    @Param('id') id: string,
    @CurrentCaller() caller: Caller,
  ): Promise<Observable<MessageEvent>> {
    await this.executions.get(id, caller); // 404 before the stream begins
    return executionStream(id, () => this.executions.get(id, caller), this.feed);
  }
}
