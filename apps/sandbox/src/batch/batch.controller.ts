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
import { CurrentCaller, RequireScope } from '../auth/access.decorators';
import { Caller } from '../auth/caller';
import { ApiProblem } from '../errors/problem-details.dto';
import { ExecuteQueryDto } from '../execution/dto/execute-request.dto';
import { requestIdOf } from '../http/request-id';
import { TenantRateLimit } from '../quota/tenant-rate-limit.guard';
import { BatchService } from './batch.service';
import { BatchAcceptedDto, BatchDto, BatchQueryDto } from './dto/batch.dto';
import { BatchRequestDto } from './dto/batch-request.dto';

@ApiTags('execution')
@Controller()
export class BatchController {
  constructor(private readonly batches: BatchService) {}

  @Post('executions/batch')
  @RequireScope('execute')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    operationId: 'executeBatch',
    summary: 'Run one code over many inputs, or many requests, as one batch',
    description:
      'Admitted whole or not at all: every item is checked, and the queue must have room for all, before any is stored. Each item is an execution of its own (GET /execution/{id}), run in its own container. With ?wait=true, answers 200 with the finished batch (its first page).',
  })
  @ApiAcceptedResponse({ type: BatchAcceptedDto, description: 'Accepted and queued' })
  @ApiOkResponse({ type: BatchDto, description: 'With ?wait=true: the finished batch' })
  @ApiHeader({
    name: 'idempotency-key',
    required: false,
    description: 'As on POST /execute, for the whole batch.',
  })
  @ApiProblem(400, 'Invalid body (the problem names items[i]), or BATCH_SIZE_OUT_OF_RANGE')
  @ApiProblem(404, 'PROCESSOR_NOT_FOUND: an item’s processor is unknown to the backend')
  @ApiProblem(413, 'Body, code, stdin or files larger than allowed')
  @ApiProblem(422, 'IDEMPOTENCY_KEY_REUSED: the key was used for a different request')
  @TenantRateLimit()
  @ApiProblem(429, 'The queue has no room for the whole batch (QUEUE_FULL, TENANT_QUEUE_FULL)')
  @ApiProblem(502, 'BACKEND_UNAVAILABLE: a processor’s code could not be fetched')
  @ApiProblem(503, 'Docker engine unreachable, store or queue unavailable, or shutting down')
  async submit(
    @Body() body: BatchRequestDto,
    @Query() query: ExecuteQueryDto,
    @CurrentCaller() caller: Caller,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<BatchAcceptedDto | BatchDto> {
    const { batchId, executionIds, replayed } = await this.batches.submit(
      body,
      requestIdOf(request),
      caller,
      idempotencyKey,
    );
    if (replayed) response.setHeader('Idempotent-Replayed', 'true');
    response.setHeader('Location', `/batches/${batchId}`);
    if (!query.wait) return { batch_id: batchId, execution_ids: executionIds };
    await this.batches.finished(batchId, caller);
    response.status(HttpStatus.OK);
    return this.batches.view(batchId, caller, 1, 100);
  }

  @Get('batches/:id')
  @RequireScope('read')
  @ApiOperation({
    operationId: 'getBatch',
    summary: 'A batch: counts by status and its results in order, a page at a time',
  })
  @ApiOkResponse({ type: BatchDto })
  @ApiProblem(404, 'No batch of yours has this id')
  @ApiProblem(503, 'The store failed')
  view(
    @Param('id') id: string,
    @Query() query: BatchQueryDto,
    @CurrentCaller() caller: Caller,
  ): Promise<BatchDto> {
    return this.batches.view(id, caller, query.page, query.limit);
  }

  @Delete('batches/:id')
  @RequireScope('execute')
  @ApiOperation({
    operationId: 'cancelBatch',
    summary: 'Cancel what has not finished of a batch',
    description: 'Answers once their containers are killed and removed, with the first page.',
  })
  @ApiOkResponse({ type: BatchDto })
  @ApiProblem(404, 'No batch of yours has this id')
  @ApiProblem(503, 'The store failed')
  async cancel(@Param('id') id: string, @CurrentCaller() caller: Caller): Promise<BatchDto> {
    await this.batches.cancel(id, caller);
    return this.batches.view(id, caller);
  }
}
