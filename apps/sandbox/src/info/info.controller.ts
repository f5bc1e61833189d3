import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/access.decorators';
import { SERVICE_NAME, SERVICE_VERSION } from '../service-info';
import { ServiceInfoDto } from './dto/service-info.dto';
import { ServiceEndpoints } from './service-endpoints';

@ApiTags('service')
@Controller()
export class InfoController {
  constructor(private readonly endpoints: ServiceEndpoints) {}

  @Get()
  @Public()
  @ApiOperation({
    operationId: 'getServiceInfo',
    summary: 'What this service is and where its endpoints are',
  })
  @ApiOkResponse({ type: ServiceInfoDto })
  describe(): ServiceInfoDto {
    return {
      name: SERVICE_NAME,
      version: SERVICE_VERSION,
      docs: '/docs',
      openapi: '/docs-json',
      endpoints: this.endpoints.list(),
    };
  }
}
