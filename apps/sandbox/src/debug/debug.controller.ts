import { Controller, Get, MessageEvent, Param, Res, Sse } from '@nestjs/common';
import type { Response } from 'express';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Observable } from 'rxjs';
import { ExecutionEvents } from '../execution/execution-events';
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
    private readonly events: ExecutionEvents,
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
  get(@Param('id') id: string, @CurrentCaller() caller: Caller, @Res() response: Response): void {
    response.type('application/json').send(this.debug.getJson(id, caller));
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
  stream(@Param('id') id: string, @CurrentCaller() caller: Caller): Observable<MessageEvent> {
    return executionStream(this.executions.get(id, caller), this.events);
  }
}
