import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/access.decorators';
import { SERVICE_NAME, SERVICE_VERSION } from '../service-info';

export class EndpointDto {
  /** @example "POST" */
  method!: string;
  /** @example "/execute" */
  path!: string;
  /** @example "Run Python code in a fresh sandbox container" */
  summary!: string;
}

export class ServiceInfoDto {
  /** @example "Brain_Net Sandbox" */
  name!: string;
  /** @example "0.1.0" */
  version!: string;
  /** @example "/docs" */
  docs!: string;
  /** @example "/docs-json" */
  openapi!: string;
  endpoints!: EndpointDto[];
}

const ENDPOINTS: EndpointDto[] = [
  { method: 'GET', path: '/', summary: 'This service description' },
  { method: 'GET', path: '/health', summary: 'Health with execution statistics' },
  { method: 'GET', path: '/health/live', summary: 'Liveness probe' },
  { method: 'GET', path: '/health/ready', summary: 'Readiness probe' },
  { method: 'GET', path: '/metrics', summary: 'Prometheus metrics' },
  { method: 'GET', path: '/docs', summary: 'Interactive API documentation (Swagger UI)' },
  { method: 'POST', path: '/execute', summary: 'Execute code in a sandbox' },
  {
    method: 'GET',
    path: '/execution/{execution_id}',
    summary: 'An execution result (also at /executions/{execution_id})',
  },
  { method: 'GET', path: '/execution/{execution_id}/stream', summary: 'Live output (SSE)' },
  {
    method: 'GET',
    path: '/executions',
    summary: 'Recent executions (paginated; filters: status, processor_id, since)',
  },
  { method: 'DELETE', path: '/execution/{execution_id}', summary: 'Cancel an execution' },
  { method: 'GET', path: '/debug/{execution_id}', summary: 'Full debug record' },
  { method: 'POST', path: '/adjust-processor', summary: 'Send a processor adjustment' },
  {
    method: 'GET',
    path: '/adjustments/{adjustment_id}',
    summary: 'An adjustment and its delivery',
  },
  { method: 'GET', path: '/adjustments', summary: 'Recent adjustments (paginated)' },
];

@ApiTags('service')
@Controller()
export class InfoController {
  @Get()
  @Public()
  @ApiOperation({ summary: 'What this service is and where its endpoints are' })
  @ApiOkResponse({ type: ServiceInfoDto })
  describe(): ServiceInfoDto {
    return {
      name: SERVICE_NAME,
      version: SERVICE_VERSION,
      docs: '/docs',
      openapi: '/docs-json',
      endpoints: ENDPOINTS,
    };
  }
}
