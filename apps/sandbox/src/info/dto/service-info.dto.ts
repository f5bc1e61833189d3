/** One operation of the API, as the OpenAPI document at /docs-json declares it. */
export class EndpointDto {
  /** @example "POST" */
  method!: string;
  /** In OpenAPI's template form. @example "/execute" */
  path!: string;
  /** @example "Run Python code in a fresh sandbox container" */
  summary!: string;
  /** The operation's id in the OpenAPI document (and in clients generated from it). @example "executeCode" */
  operation_id!: string;
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
  /** Every operation of the API, in the OpenAPI document's order. */
  endpoints!: EndpointDto[];
}
