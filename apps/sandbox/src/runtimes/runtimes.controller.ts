import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../auth/access.decorators';
import { AppConfig } from '../config/app-config';
import { RuntimeListDto, toRuntime } from './dto/runtime.dto';
import { RuntimeCatalog } from './runtime-catalog';

@ApiTags('runtimes')
@Controller('runtimes')
export class RuntimesController {
  constructor(
    private readonly catalog: RuntimeCatalog,
    private readonly config: AppConfig,
  ) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({
    operationId: 'listRuntimes',
    summary: 'The runtimes a request may pick, with their Python and packages',
    description:
      'Each runtime of SANDBOX_RUNTIMES, the default first: its image, and what the image holds, read once per image by a locked-down container of it (the first call after a start or a rebuild takes a second or so). An image that cannot be read (missing, engine away) is listed with `error` and null facts.',
  })
  @ApiOkResponse({ type: RuntimeListDto })
  async list(): Promise<RuntimeListDto> {
    const entries = await this.catalog.entries();
    return { default: this.config.runtimes.default.name, items: entries.map(toRuntime) };
  }
}
