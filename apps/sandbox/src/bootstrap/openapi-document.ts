import {
  getSchemaPath,
  type OpenAPIObject,
  type OperationObject,
  type ReferenceObject,
  type SchemaObject,
} from '@nestjs/swagger';
import { ProblemDetailsDto } from '../errors/problem-details.dto';

/** What every error answer is sent as (see ProblemDetailsFilter). */
const PROBLEM_MEDIA_TYPE = 'application/problem+json';

/** Where a $ref of Nest's document points: a component schema, by name. */
const SCHEMA_PATH = getSchemaPath('');

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** An error answer that comes from outside the route's own code, and why. */
interface SharedProblem {
  readonly status: number;
  readonly description: string;
}

/** Any route: what no route expects. */
const UNEXPECTED: SharedProblem[] = [
  { status: 500, description: 'INTERNAL: an unexpected error; the request id identifies it' },
];

/** Routes that need credentials (AUTH_MODE other than none): the auth guard's answers. */
const AUTHENTICATED: SharedProblem[] = [
  {
    status: 401,
    description: 'UNAUTHENTICATED: no credentials, or invalid ones; see WWW-Authenticate',
  },
  { status: 403, description: 'FORBIDDEN: the caller lacks the scope this route needs' },
  {
    status: 502,
    description:
      'BACKEND_UNAVAILABLE (AUTH_MODE=jwt): the keys that verify tokens could not be fetched',
  },
];

/** Routes with a query DTO: the ValidationPipe refuses bad and unknown parameters. */
const QUERIED: SharedProblem[] = [
  { status: 400, description: 'VALIDATION_FAILED: a query parameter is invalid or unknown' },
];

/** The routes whose JSON body configureApp reads: the body parser's and upload slots' answers. */
const BODY_READ: SharedProblem[] = [
  {
    status: 400,
    description:
      'MALFORMED_JSON, MALFORMED_BODY, JSON_TOO_DEEP (MAX_INPUT_DEPTH) or VALIDATION_FAILED (an invalid or unknown field)',
  },
  { status: 413, description: 'PAYLOAD_TOO_LARGE: the body is over MAX_REQUEST_BYTES' },
  { status: 415, description: 'UNSUPPORTED_MEDIA_TYPE: a Content-Encoding or charset not read' },
  {
    status: 429,
    description:
      'TENANT_TOO_MANY_UPLOADS: the tenant sends MAX_CONCURRENT_UPLOADS_PER_TENANT bodies already',
  },
  {
    status: 503,
    description: 'TOO_MANY_UPLOADS: MAX_CONCURRENT_UPLOADS bodies are being received already',
  },
];

export interface OpenApiDocumentOptions {
  /** The paths whose POST body configureApp parses as JSON (BODY_ROUTES). */
  readonly bodyRoutes: readonly string[];
}

/**
 * Completes Nest's document, in place, for client generators: every error answer is
 * declared as the problem+json it is sent as, with the statuses that middleware, guards
 * and the body parser add to a route's own, and request bodies refuse unknown fields
 * as the ValidationPipe (forbidNonWhitelisted) does.
 */
export function finishOpenApiDocument(
  document: OpenAPIObject,
  options: OpenApiDocumentOptions,
): void {
  const schemas = document.components?.schemas ?? {};
  const problemSchema = getSchemaPath(ProblemDetailsDto).slice(SCHEMA_PATH.length);
  // Every error answer is made to refer to it: a dangling $ref would break generators.
  if (!(problemSchema in schemas)) {
    throw new Error(`The OpenAPI document has no ${problemSchema} schema to refer to`);
  }
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (!operation) continue;
      for (const problem of sharedProblemsOf(operation, method, path, options)) {
        operation.responses[problem.status] ??= { description: problem.description };
      }
      declareProblemContent(operation);
      closeRequestBody(operation, schemas);
    }
  }
}

function sharedProblemsOf(
  operation: OperationObject,
  method: string,
  path: string,
  options: OpenApiDocumentOptions,
): SharedProblem[] {
  const queried = (operation.parameters ?? []).some(
    (parameter) => !('$ref' in parameter) && parameter.in === 'query',
  );
  return [
    ...(method === 'post' && options.bodyRoutes.includes(path) ? BODY_READ : []),
    ...(queried ? QUERIED : []),
    ...((operation.security?.length ?? 0) > 0 ? AUTHENTICATED : []),
    ...UNEXPECTED,
  ];
}

/**
 * Error answers are application/problem+json whatever the route produces otherwise
 * (Nest lists ApiProblem's schema under the route's own media types). A route that
 * declares an error with another body (a health probe's 503) keeps it.
 */
function declareProblemContent(operation: OperationObject): void {
  const problem = { schema: { $ref: getSchemaPath(ProblemDetailsDto) } };
  for (const [status, response] of Object.entries(operation.responses)) {
    if (!response || '$ref' in response || !isErrorStatus(status)) continue;
    if (Object.values(response.content ?? {}).every(({ schema }) => isProblemSchema(schema))) {
      response.content = { [PROBLEM_MEDIA_TYPE]: problem };
    }
  }
}

function isErrorStatus(status: string): boolean {
  return /^[45]/.test(status);
}

function isProblemSchema(schema: SchemaObject | ReferenceObject | undefined): boolean {
  return (
    schema !== undefined && '$ref' in schema && schema.$ref === getSchemaPath(ProblemDetailsDto)
  );
}

/**
 * additionalProperties: false on every object schema a request body holds, through
 * $refs, properties, items and compositions; a schema that declares its own (free JSON
 * such as input_data: true) keeps it.
 */
function closeRequestBody(
  operation: OperationObject,
  schemas: Record<string, SchemaObject | ReferenceObject>,
): void {
  const body = operation.requestBody;
  if (!body || '$ref' in body) return;
  const seen = new Set<SchemaObject | ReferenceObject>();
  const close = (schema: SchemaObject | ReferenceObject | undefined): void => {
    if (!schema || seen.has(schema)) return;
    seen.add(schema);
    if ('$ref' in schema) {
      close(schemas[schema.$ref.slice(SCHEMA_PATH.length)]);
      return;
    }
    if (
      schema.additionalProperties === undefined &&
      (schema.type === 'object' || schema.properties)
    ) {
      schema.additionalProperties = false;
    }
    if (typeof schema.additionalProperties === 'object') close(schema.additionalProperties);
    Object.values(schema.properties ?? {}).forEach(close);
    close(schema.items);
    [...(schema.allOf ?? []), ...(schema.anyOf ?? []), ...(schema.oneOf ?? [])].forEach(close);
  };
  Object.values(body.content).forEach(({ schema }) => close(schema));
}
