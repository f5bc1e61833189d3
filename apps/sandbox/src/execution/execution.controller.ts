import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  Headers,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Query,
  Req,
  Res,
  StreamableFile,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { CallbackOutbox, ExecutionRecord } from '@brain-net/store';
import { RequireScope } from '../auth/access.decorators';
import { ApiProblem } from '../errors/problem-details.dto';
import { requestIdOf } from '../http/request-id';
import { ExecuteQueryDto, ExecuteRequestDto } from './dto/execute-request.dto';
import {
  CallbackStatusDto,
  ExecutionAcceptedDto,
  ExecutionDetailsDto,
  ExecutionListDto,
  ExecutionResultDto,
  executionLocation,
  toCallbackStatus,
  toExecutionResult,
  toExecutionSummary,
} from './dto/execution-result.dto';
import { ExecutionListQueryDto, executionFilterOf } from './dto/execution-list-query.dto';
import { CurrentCaller } from '../auth/access.decorators';
import { Caller } from '../auth/caller';
import { TenantRateLimit } from '../quota/tenant-rate-limit.guard';
import { downloadOf } from '../files/download';
import { FIGURE_MEDIA_TYPE, OutputFileKeeper } from '../files/output-files';
import { ExecutionService } from './execution.service';
import { fromStore } from './from-store';

const STORE_FAILED = 'STORE_UNAVAILABLE: the execution store failed; see Retry-After';

@ApiTags('execution')
@Controller()
export class ExecutionController {
  constructor(
    private readonly executions: ExecutionService,
    private readonly outputFiles: OutputFileKeeper,
    private readonly callbacks: CallbackOutbox,
  ) {}

  @Post('execute')
  @RequireScope('execute')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    operationId: 'executeCode',
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
  @ApiProblem(
    400,
    'VALIDATION_FAILED (invalid or unknown field, neither code nor processor_id, malformed ' +
      'Idempotency-Key), MALFORMED_JSON, MALFORMED_BODY, JSON_TOO_DEEP, TIMEOUT_OUT_OF_RANGE, ' +
      'LIMIT_OUT_OF_RANGE, INVALID_FILE, TOO_MANY_FILES or UNKNOWN_FILE',
  )
  // Named as the handler reads it: Nest documents a @Headers() argument too, and only an
  // exact match merges the two into one (optional) header.
  @ApiHeader({
    name: 'idempotency-key',
    required: false,
    description:
      'Retrying a submit with the same key (per tenant) answers with the first execution instead of running the code again; the same key for a different request is a 422.',
  })
  @ApiProblem(
    404,
    'PROCESSOR_NOT_FOUND: the backend knows no such processor_id (a request without code)',
  )
  @ApiProblem(
    413,
    'PAYLOAD_TOO_LARGE (MAX_REQUEST_BYTES), CODE_TOO_LARGE, STDIN_TOO_LARGE or FILES_TOO_LARGE',
  )
  @ApiProblem(422, 'IDEMPOTENCY_KEY_REUSED: the key was used for a different request')
  @TenantRateLimit()
  @ApiProblem(
    429,
    'RATE_LIMITED (RateLimit-* headers), QUEUE_FULL, TENANT_QUEUE_FULL or ' +
      'TENANT_TOO_MANY_UPLOADS; see Retry-After',
  )
  @ApiProblem(
    502,
    'BACKEND_UNAVAILABLE: the backend holding the processor’s code cannot be reached ' +
      '(a request without code), or the keys that verify tokens cannot be fetched (AUTH_MODE=jwt)',
  )
  @ApiProblem(
    503,
    'ENGINE_UNAVAILABLE, RUNTIME_IMAGE_MISSING, RUNTIME_UNAVAILABLE, SHUTTING_DOWN, ' +
      'STORE_UNAVAILABLE, QUEUE_UNAVAILABLE or TOO_MANY_UPLOADS; see Retry-After',
  )
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
  @ApiOkResponse({ type: ExecutionDetailsDto })
  @ApiProblem(404, 'No execution has this id')
  @ApiProblem(503, STORE_FAILED)
  async get(
    @Param('id') id: string,
    @CurrentCaller() caller: Caller,
  ): Promise<ExecutionDetailsDto> {
    const record = await this.executions.get(id, caller);
    return { ...toExecutionResult(record), callback: await this.callbackOf(record) };
  }

  @Get('execution/:id/files/*path')
  @RequireScope('read')
  @ApiOperation({
    operationId: 'getExecutionFile',
    summary: 'A file the code wrote under out/, by its path there',
  })
  @ApiParam({
    name: 'path',
    description: 'The file’s path under out/ (as in the result’s files[].path); may span segments',
    schema: { type: 'string', example: 'chart.png' },
  })
  @ApiProduces('application/octet-stream')
  @Header('X-Content-Type-Options', 'nosniff')
  @ApiOkResponse({ schema: { type: 'string', format: 'binary' } })
  @ApiProblem(404, 'No execution has this id, or it has no such file (or it was pruned)')
  @ApiProblem(503, 'STORE_UNAVAILABLE: the execution or file store failed; see Retry-After')
  async file(
    @Param('id') id: string,
    @Param('path') path: string | string[],
    @CurrentCaller() caller: Caller,
  ): Promise<StreamableFile> {
    const record = await this.executions.get(id, caller);
    const [file, content] = await this.outputFiles.open(
      record,
      Array.isArray(path) ? path.join('/') : path,
    );
    return downloadOf(content, { name: file.path, size: file.size, mediaType: file.mediaType });
  }

  @Get('execution/:id/figures/:index')
  @RequireScope('read')
  @ApiOperation({
    operationId: 'getExecutionFigure',
    summary: 'A matplotlib figure the code drew, as a PNG, by its index in the result’s figures',
  })
  @ApiParam({ name: 'index', schema: { type: 'integer', minimum: 0, example: 0 } })
  @ApiProduces(FIGURE_MEDIA_TYPE)
  @Header('X-Content-Type-Options', 'nosniff')
  @ApiOkResponse({ schema: { type: 'string', format: 'binary' } })
  @ApiProblem(404, 'No execution has this id, or no rendered figure this index (or it was pruned)')
  @ApiProblem(503, 'STORE_UNAVAILABLE: the execution or file store failed; see Retry-After')
  async figure(
    @Param('id') id: string,
    @Param('index') index: string,
    @CurrentCaller() caller: Caller,
  ): Promise<StreamableFile> {
    const record = await this.executions.get(id, caller);
    const [image, content] = await this.outputFiles.openFigure(record, index);
    return downloadOf(content, {
      name: `figure-${index}.png`,
      size: image.size,
      mediaType: FIGURE_MEDIA_TYPE,
    });
  }

  // The same read under the collection's path, through get(): its scope is declared
  // alike, and tenants and problems are get()'s own, so the two cannot drift apart.
  @Get('executions/:id')
  @RequireScope('read')
  @ApiOperation({
    operationId: 'getExecutionAlias',
    summary: 'An execution, under the collection’s path: the same as GET /execution/{id}',
  })
  @ApiOkResponse({ type: ExecutionDetailsDto })
  @ApiProblem(404, 'No execution has this id')
  @ApiProblem(503, STORE_FAILED)
  getAlias(@Param('id') id: string, @CurrentCaller() caller: Caller): Promise<ExecutionDetailsDto> {
    return this.get(id, caller);
  }

  @Get('executions')
  @RequireScope('read')
  @ApiOperation({
    operationId: 'listExecutions',
    summary: 'Recent executions, newest first',
    description:
      'Filters (status, processor_id, since) are applied before paging: total counts the matches.',
  })
  @ApiOkResponse({ type: ExecutionListDto })
  @ApiProblem(400, 'Bad page, limit, status, processor_id or since (the problem names it)')
  @ApiProblem(503, STORE_FAILED)
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
    operationId: 'cancelExecution',
    summary: 'Cancel a queued or running execution',
    description: 'Answers once its container is killed and removed.',
  })
  @ApiOkResponse({ type: ExecutionResultDto })
  @ApiProblem(404, 'No execution has this id')
  @ApiProblem(409, 'The execution already finished')
  @ApiProblem(503, 'STORE_UNAVAILABLE or QUEUE_UNAVAILABLE; see Retry-After')
  async cancel(
    @Param('id') id: string,
    @CurrentCaller() caller: Caller,
  ): Promise<ExecutionResultDto> {
    return toExecutionResult(await this.executions.cancel(id, caller));
  }

  /** Its callback's state: read only when it has one (most have none). */
  private async callbackOf(record: ExecutionRecord): Promise<CallbackStatusDto | null> {
    const url = record.callbackUrl;
    if (url === null) return null;
    const state = await fromStore(() => this.callbacks.status(record.id));
    return state && toCallbackStatus(url, state);
  }
}
