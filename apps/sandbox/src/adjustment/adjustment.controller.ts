import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
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
import { AdjustmentService } from './adjustment.service';

@ApiTags('adjustment')
@Controller()
export class AdjustmentController {
  constructor(private readonly adjustments: AdjustmentService) {}

  @Post('adjust-processor')
  @RequireScope('adjust')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Send processor adjustment recommendations to the backend',
    description:
      'Answers 202 once the adjustment is stored; it is then delivered in the background, ' +
      'retried with backoff while the backend is unavailable, across restarts of this service. ' +
      'Follow it at GET /adjustments/{id}.',
  })
  @ApiAcceptedResponse({ type: AdjustmentAcceptedDto, description: 'Stored; delivery under way' })
  @ApiProblem(400, 'Invalid body, unknown field or malformed JSON')
  @ApiProblem(413, 'Body larger than allowed')
  accept(
    @Body() body: AdjustProcessorRequestDto,
    @CurrentCaller() caller: Caller,
  ): AdjustmentAcceptedDto {
    const record = this.adjustments.accept(body, caller);
    return { adjustment_id: record.id, status: record.status };
  }

  @Get('adjustments/:id')
  @RequireScope('adjust')
  @ApiOperation({ summary: 'An adjustment and the state of its delivery' })
  @ApiOkResponse({ type: AdjustmentDto })
  @ApiProblem(404, 'No adjustment has this id')
  get(@Param('id') id: string, @CurrentCaller() caller: Caller): AdjustmentDto {
    return toAdjustmentDto(this.adjustments.get(id, caller));
  }

  @Get('adjustments')
  @RequireScope('adjust')
  @ApiOperation({ summary: 'Adjustments, newest first' })
  @ApiOkResponse({ type: AdjustmentListDto })
  @ApiProblem(400, 'Bad page or limit')
  list(@Query() query: ListQueryDto, @CurrentCaller() caller: Caller): AdjustmentListDto {
    const { items, total } = this.adjustments.list(query.page, query.limit, caller, query.tenant);
    return { items: items.map(toAdjustmentDto), total, page: query.page, limit: query.limit };
  }
}
