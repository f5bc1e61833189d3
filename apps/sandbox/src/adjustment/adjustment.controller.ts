import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentCaller, RequireScope } from '../auth/access.decorators';
import { ApiProblem } from '../errors/problem-details.dto';
import { AdjustProcessorRequestDto } from './dto/adjust-processor-request.dto';
import {
  AdjustmentAcceptedDto,
  AdjustmentDto,
  AdjustmentListDto,
  toAdjustmentDto,
} from './dto/adjustment.dto';
import { ListQueryDto } from '../http/page.query.dto';
import { Caller } from '../auth/caller';
import { TenantRateLimit } from '../quota/tenant-rate-limit.guard';
import { AdjustmentService } from './adjustment.service';

const STORE_FAILED = 'STORE_UNAVAILABLE: the adjustment store failed; see Retry-After';

@ApiTags('adjustment')
@Controller()
export class AdjustmentController {
  constructor(private readonly adjustments: AdjustmentService) {}

  @Post('adjust-processor')
  @RequireScope('adjust')
  @TenantRateLimit('adjustments')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    operationId: 'adjustProcessor',
    summary: 'Send processor adjustment recommendations to the backend',
    description:
      'Answers 202 once the adjustment is stored; it is then delivered in the background, ' +
      'retried with backoff while the backend is unavailable, across restarts of this service ' +
      '(in cluster mode, by whichever instance is up). ' +
      'Follow it at GET /adjustments/{id}.',
  })
  @ApiAcceptedResponse({
    type: AdjustmentAcceptedDto,
    description: 'Stored; delivery under way (also for a replay, with Idempotent-Replayed: true)',
    headers: {
      Location: {
        description: 'Where the adjustment and its delivery are followed: /adjustments/{id}',
        schema: { type: 'string', example: '/adjustments/2f4e6a1c-8b9d-4c3e-a5f7-1d2b3c4e5f60' },
      },
    },
  })
  @ApiProblem(
    400,
    'VALIDATION_FAILED (invalid or unknown field, malformed Idempotency-Key), MALFORMED_JSON, ' +
      'MALFORMED_BODY or JSON_TOO_DEEP',
  )
  // Named as the handler reads it: Nest documents a @Headers() argument too, and only an
  // exact match merges the two into one (optional) header.
  @ApiHeader({
    name: 'idempotency-key',
    required: false,
    description:
      'Retrying with the same key (per tenant, on any instance) answers with the first adjustment, marked Idempotent-Replayed: true, instead of delivering it again; the same key for a different adjustment is a 422. 1 to 200 printable ASCII characters.',
  })
  @ApiProblem(404, "EXECUTION_NOT_FOUND: execution_id is unknown, or another tenant's")
  @ApiProblem(
    413,
    'PAYLOAD_TOO_LARGE: the body is over MAX_REQUEST_BYTES, or adjustments over its own limit',
  )
  @ApiProblem(422, 'IDEMPOTENCY_KEY_REUSED: the key was used for a different adjustment')
  @ApiProblem(
    429,
    'RATE_LIMITED: ADJUSTMENT_RATE_LIMIT_PER_MINUTE used up; TOO_MANY_PENDING_ADJUSTMENTS: ' +
      'MAX_PENDING_ADJUSTMENTS_PER_TENANT not yet delivered; TENANT_TOO_MANY_UPLOADS ' +
      '(Retry-After says when to try again)',
  )
  @ApiProblem(
    503,
    'STORE_UNAVAILABLE: the adjustment could not be stored (Redis away); TOO_MANY_UPLOADS',
  )
  async accept(
    @Body() body: AdjustProcessorRequestDto,
    @CurrentCaller() caller: Caller,
    @Res({ passthrough: true }) response: Response,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<AdjustmentAcceptedDto> {
    const { record, replayed } = await this.adjustments.accept(body, caller, idempotencyKey);
    if (replayed) response.setHeader('Idempotent-Replayed', 'true');
    response.setHeader('Location', `/adjustments/${encodeURIComponent(record.id)}`);
    return { adjustment_id: record.id, status: record.status };
  }

  @Get('adjustments/:id')
  @RequireScope('adjust')
  @ApiOperation({
    operationId: 'getAdjustment',
    summary: 'An adjustment and the state of its delivery',
  })
  @ApiOkResponse({ type: AdjustmentDto })
  @ApiProblem(404, 'No adjustment has this id')
  @ApiProblem(503, STORE_FAILED)
  async get(@Param('id') id: string, @CurrentCaller() caller: Caller): Promise<AdjustmentDto> {
    return toAdjustmentDto(await this.adjustments.get(id, caller));
  }

  @Get('adjustments')
  @RequireScope('adjust')
  @ApiOperation({ operationId: 'listAdjustments', summary: 'Adjustments, newest first' })
  @ApiOkResponse({ type: AdjustmentListDto })
  @ApiProblem(400, 'Bad page, limit or tenant')
  @ApiProblem(503, STORE_FAILED)
  async list(
    @Query() query: ListQueryDto,
    @CurrentCaller() caller: Caller,
  ): Promise<AdjustmentListDto> {
    const { items, total } = await this.adjustments.list(
      query.page,
      query.limit,
      caller,
      query.tenant,
    );
    return { items: items.map(toAdjustmentDto), total, page: query.page, limit: query.limit };
  }
}
