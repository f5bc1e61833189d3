import { Injectable } from '@nestjs/common';
import type { OpenAPIObject } from '@nestjs/swagger';
import { EndpointDto } from './dto/service-info.dto';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/**
 * The API's operations, taken from the OpenAPI document built from the live routes
 * (configureApp hands it over), so GET / can never list a route that is not there.
 */
@Injectable()
export class ServiceEndpoints {
  private endpoints: readonly EndpointDto[] = [];

  describe(document: OpenAPIObject): void {
    this.endpoints = Object.entries(document.paths).flatMap(([path, item]) =>
      HTTP_METHODS.flatMap((method) => {
        const operation = item[method];
        return operation
          ? [
              {
                method: method.toUpperCase(),
                path,
                summary: operation.summary ?? '',
                operation_id: operation.operationId ?? '',
              },
            ]
          : [];
      }),
    );
  }

  list(): EndpointDto[] {
    return [...this.endpoints];
  }
}
