import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { RequireScope } from '../auth/access.decorators';
import { ApiProblem } from '../errors/problem-details.dto';
import { requestIdOf } from '../http/request-id';
import { ExecuteQueryDto, ExecuteRequestDto } from './dto/execute-request.dto';
import {
  ExecutionAcceptedDto,
  ExecutionListDto,
  ExecutionResultDto,
  toExecutionResult,
  toExecutionSummary,
} from './dto/execution-result.dto';
import { ExecutionListQueryDto, executionFilterOf } from './dto/execution-list-query.dto';
import { CurrentCaller } from '../auth/access.decorators';
import { Caller } from '../auth/caller';
import { TenantRateLimit } from '../quota/tenant-rate-limit.guard';
import { ExecutionService } from './execution.service';

/** Where an accepted execution is read: the seed's path (GET /executions/{id} is its alias). */
function executionLocation(id: string): string {
  return `/execution/${encodeURIComponent(id)}`;
}

@ApiTags('execution')
@Controller()
export class ExecutionController {
  constructor(private readonly executions: ExecutionService) {}

  @Post('execute')
  @RequireScope('execute')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Run Python code in a fresh sandbox container',
    description:
      'Answers 202 with the execution id at once; poll GET /execution/{id}. With ?wait=true, answers 200 with the finished result.',
  })
  @ApiAcceptedResponse({
    type: ExecutionAcceptedDto,
    description: 'Accepted and queued (also for a replay, with Idempotent-Replayed: true)',
    headers: {
      Location: {
        description: 'Where the execution is read: /execution/{id}',
        schema: { type: 'string', example: '/execution/5b0f8c1e-3c1d-4a59-9f7e-0a8f1a2b3c4d' },
      },
    },
  })
  @ApiOkResponse({ type: ExecutionResultDto, description: 'With ?wait=true: the finished result' })
  @ApiProblem(400, 'Invalid body, unknown field, malformed JSON or timeout out of range')
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Retrying a submit with the same key (per tenant) answers with the first execution instead of running the code again; the same key for a different request is a 422.',
  })
  @ApiProblem(413, 'Body or code larger than allowed')
  @ApiProblem(422, 'IDEMPOTENCY_KEY_REUSED: the key was used for a different request')
  @TenantRateLimit()
  @ApiProblem(
    429,
    'RATE_LIMITED (RateLimit-* headers), QUEUE_FULL or TENANT_QUEUE_FULL; see Retry-After',
  )
  @ApiProblem(503, 'Docker engine unreachable or runtime image missing')
  async execute(
    @Body() body: ExecuteRequestDto,
    @Query() query: ExecuteQueryDto,
    @CurrentCaller() caller: Caller,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<ExecutionAcceptedDto | ExecutionResultDto> {
    const { record, replayed } = await this.executions.submit(
      body,
      requestIdOf(request),
      caller,
      idempotencyKey,
    );
    if (replayed) response.setHeader('Idempotent-Replayed', 'true');
    if (!query.wait) {
      response.setHeader('Location', executionLocation(record.id));
      return { execution_id: record.id, status: record.status };
    }
    response.status(HttpStatus.OK);
    return toExecutionResult(await this.executions.result(record.id, caller));
  }

  @Get('execution/:id')
  @RequireScope('read')
  @ApiOperation({
    operationId: 'getExecution',
    summary: 'An execution: status, output, error, debug info, times',
    description: 'Also answered at GET /executions/{id}, exactly alike.',
  })
  @ApiOkResponse({ type: ExecutionResultDto })
  @ApiProblem(404, 'No execution has this id')
  async get(@Param('id') id: string, @CurrentCaller() caller: Caller): Promise<ExecutionResultDto> {
    return toExecutionResult(await this.executions.get(id, caller));
  }

  // The same read under the collection's path, through get(): its scope is declared
  // alike, and tenants and problems are get()'s own, so the two cannot drift apart.
  @Get('executions/:id')
  @RequireScope('read')
  @ApiOperation({
    operationId: 'getExecutionAlias',
    summary: 'An execution, under the collection’s path: the same as GET /execution/{id}',
  })
  @ApiOkResponse({ type: ExecutionResultDto })
  @ApiProblem(404, 'No execution has this id')
  getAlias(@Param('id') id: string, @CurrentCaller() caller: Caller): Promise<ExecutionResultDto> {
    return this.get(id, caller);
  }

  @Get('executions')
  @RequireScope('read')
  @ApiOperation({
    summary: 'Recent executions, newest first',
    description:
      'Filters (status, processor_id, since) are applied before paging: total counts the matches.',
  })
  @ApiOkResponse({ type: ExecutionListDto })
  @ApiProblem(400, 'Bad page, limit, status, processor_id or since (the problem names it)')
  async list(
    @Query() query: ExecutionListQueryDto,
    @CurrentCaller() caller: Caller,
  ): Promise<ExecutionListDto> {
    const { items, total } = await this.executions.list(
      query.page,
      query.limit,
      caller,
      query.tenant,
      executionFilterOf(query),
    );
    return { items: items.map(toExecutionSummary), total, page: query.page, limit: query.limit };
  }

  @Delete('execution/:id')
  @RequireScope('execute')
  @ApiOperation({
    summary: 'Cancel a queued or running execution',
    description: 'Answers once its container is killed and removed.',
  })
  @ApiOkResponse({ type: ExecutionResultDto })
  @ApiProblem(404, 'No execution has this id')
  @ApiProblem(409, 'The execution already finished')
  async cancel(
    @Param('id') id: string,
    @CurrentCaller() caller: Caller,
  ): Promise<ExecutionResultDto> {
    return toExecutionResult(await this.executions.cancel(id, caller));
  }
}
