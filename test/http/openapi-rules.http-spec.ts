import { ScriptedSandboxApp, startScriptedSandboxApp } from '../support/sandbox-app';

/** The parts of an OpenAPI 3.0 document these rules read. */
interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  allOf?: Schema[];
  anyOf?: Schema[];
  oneOf?: Schema[];
}

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: Schema;
}

type Content = Record<string, { schema?: Schema }>;

interface Operation {
  operationId?: string;
  summary?: string;
  security?: unknown[];
  parameters?: Parameter[];
  requestBody?: { content: Content };
  responses: Record<string, { content?: Content }>;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

interface ServiceInfo {
  endpoints: { method: string; path: string; summary: string; operation_id: string }[];
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const SCHEMAS = '#/components/schemas/';
const PROBLEM_REF = `${SCHEMAS}ProblemDetailsDto`;

/** Fields of a request body that hold any JSON object (additionalProperties: true). */
const FREE_JSON_FIELDS = ['input_data', 'adjustments'];

/** Errors answered with another body than a problem: a probe's 503 carries the health report. */
const NON_PROBLEM_ERRORS: Record<string, string> = {
  'GET /health 503': `${SCHEMAS}HealthDto`,
  'GET /health/ready 503': `${SCHEMAS}HealthDto`,
};

/** Numeric fields that only ever hold whole numbers: counts, sizes, pages, exit codes. */
const INTEGER_FIELDS = new Set([
  'attempts',
  'container_start_ms',
  'exit_code',
  'frames_omitted',
  'limit',
  'line',
  'memory_mb',
  'page',
  'pids',
  'queued',
  'queued_ms',
  'run_ms',
  'running',
  'size',
  'status',
  'timeout',
  'timeout_s',
  'tmpfs_mb',
  'total',
  'total_ms',
]);

interface Located {
  readonly key: string;
  readonly method: string;
  readonly path: string;
  readonly operation: Operation;
}

function operationsOf(document: OpenApiDocument): Located[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    HTTP_METHODS.filter((method) => item[method]).map((method) => ({
      key: `${method.toUpperCase()} ${path}`,
      method,
      path,
      operation: item[method],
    })),
  );
}

/** Every property of every component schema, nested ones too, with where it was found. */
function propertiesOf(
  document: OpenApiDocument,
): { where: string; name: string; schema: Schema }[] {
  const found: { where: string; name: string; schema: Schema }[] = [];
  const visit = (schema: Schema | boolean | undefined, where: string): void => {
    if (!schema || typeof schema === 'boolean') return;
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      found.push({ where: `${where}.${name}`, name, schema: property });
      visit(property, `${where}.${name}`);
    }
    visit(schema.items, `${where}[]`);
    visit(schema.additionalProperties, `${where}{}`);
    [...(schema.allOf ?? []), ...(schema.anyOf ?? []), ...(schema.oneOf ?? [])].forEach((member) =>
      visit(member, where),
    );
  };
  for (const [name, schema] of Object.entries(document.components.schemas)) visit(schema, name);
  return found;
}

describe('OpenAPI document rules (for client generators)', () => {
  let sandbox: ScriptedSandboxApp;
  let document: OpenApiDocument;
  let operations: Located[];

  beforeAll(async () => {
    sandbox = await startScriptedSandboxApp();
    document = (await sandbox.http.get('/docs-json').expect(200)).body as OpenApiDocument;
    operations = operationsOf(document);
  });

  afterAll(() => sandbox.close());

  const resolve = (schema: Schema): Schema | undefined =>
    schema.$ref === undefined
      ? schema
      : document.components.schemas[schema.$ref.slice(SCHEMAS.length)];

  it('documents the API: operations, request bodies and schemas to check', () => {
    expect(operations.length).toBeGreaterThanOrEqual(15);
    expect(operations.filter(({ operation }) => operation.requestBody).length).toBeGreaterThan(1);
    expect(document.components.schemas).toHaveProperty('ProblemDetailsDto');
  });

  it('defines every schema a $ref names: a generator refuses a dangling one', () => {
    const refs = new Set<string>();
    JSON.stringify(document, (key, value: unknown) => {
      if (key === '$ref' && typeof value === 'string') refs.add(value);
      return value;
    });
    const dangling = [...refs].filter(
      (ref) =>
        !ref.startsWith(SCHEMAS) || !(ref.slice(SCHEMAS.length) in document.components.schemas),
    );
    expect(refs.size).toBeGreaterThan(10);
    expect(dangling).toEqual([]);
  });

  it('names every operation with a unique camelCase operationId', () => {
    const ids = operations.map(({ operation }) => operation.operationId ?? '');
    expect(ids.filter((id) => !/^[a-z][A-Za-z0-9]+$/.test(id))).toEqual([]);
    expect(ids.filter((id, index) => ids.indexOf(id) !== index)).toEqual([]);
    expect(ids).toEqual(
      expect.arrayContaining([
        'executeCode',
        'getExecution',
        'listExecutions',
        'cancelExecution',
        'adjustProcessor',
      ]),
    );
  });

  it('declares every error answer as application/problem+json with the problem schema', () => {
    const wrong = operations.flatMap(({ key, operation }) =>
      Object.entries(operation.responses)
        .filter(([status]) => /^[45]/.test(status))
        .flatMap(([status, response]) => {
          const expected = NON_PROBLEM_ERRORS[`${key} ${status}`];
          const declared = Object.entries(response.content ?? {}).map(
            ([mediaType, { schema }]) => `${mediaType} ${schema?.$ref}`,
          );
          const wanted = expected
            ? [`application/json ${expected}`]
            : [`application/problem+json ${PROBLEM_REF}`];
          return declared.join() === wanted.join() ? [] : [`${key} ${status}: ${declared.join()}`];
        }),
    );
    expect(wrong).toEqual([]);
  });

  it('declares what POST /execute can answer', () => {
    const statuses = Object.keys(document.paths['/execute'].post.responses);
    expect(statuses).toEqual(
      expect.arrayContaining([
        '400',
        '401',
        '403',
        '404',
        '413',
        '415',
        '422',
        '429',
        '502',
        '503',
      ]),
    );
  });

  it('declares 401 and 403 on every operation that takes credentials', () => {
    const missing = operations
      .filter(({ operation }) => (operation.security ?? []).length > 0)
      .flatMap(({ key, operation }) =>
        ['401', '403'].filter((status) => !operation.responses[status]).map((s) => `${key} ${s}`),
      );
    expect(missing).toEqual([]);
  });

  it('declares each path template parameter, and each parameter once', () => {
    const wrong = operations.flatMap(({ key, path, operation }) => {
      const parameters = operation.parameters ?? [];
      const undeclared = [...path.matchAll(/\{(\w+)\}/g)]
        .map(([, name]) => name)
        .filter((name) => !parameters.some((p) => p.in === 'path' && p.name === name && p.required))
        .map((name) => `${key}: path parameter ${name} undeclared`);
      // Header names are case-insensitive: two spellings are one header declared twice.
      const names = parameters.map(
        (p) => `${p.in} ${p.in === 'header' ? p.name.toLowerCase() : p.name}`,
      );
      const twice = names
        .filter((name, index) => names.indexOf(name) !== index)
        .map((name) => `${key}: ${name} declared twice`);
      return [...undeclared, ...twice];
    });
    expect(wrong).toEqual([]);
  });

  it('refuses unknown fields in every request body, except the free-JSON fields', () => {
    const open: string[] = [];
    let checked = 0;
    const seen = new Set<Schema>();
    /** `field`: the property that holds the schema (or its items); '' for a whole body. */
    const check = (schema: Schema | undefined, where: string, field: string): void => {
      const target = schema && resolve(schema);
      if (!target || seen.has(target)) return;
      seen.add(target);
      if (target.type === 'object' || target.properties) {
        checked += 1;
        const free = FREE_JSON_FIELDS.includes(field);
        if (target.additionalProperties !== free) open.push(where);
        if (free) return;
      }
      for (const [name, property] of Object.entries(target.properties ?? {})) {
        check(property, `${where}.${name}`, name);
      }
      check(target.items, `${where}[]`, field);
      [...(target.allOf ?? []), ...(target.anyOf ?? []), ...(target.oneOf ?? [])].forEach(
        (member) => check(member, where, field),
      );
    };
    for (const { key, operation } of operations) {
      for (const [mediaType, { schema }] of Object.entries(operation.requestBody?.content ?? {})) {
        check(schema, `${key} ${mediaType}`, '');
      }
    }
    expect(open).toEqual([]);
    // The bodies of POST /execute (with its files[] entries) and POST /adjust-processor.
    expect(checked).toBeGreaterThanOrEqual(5);
  });

  it('gives every *_at and *_time string the date-time format', () => {
    const times = propertiesOf(document).filter(
      ({ name, schema }) => /_(at|time)$/.test(name) && schema.type === 'string',
    );
    expect(times.filter(({ schema }) => schema.format !== 'date-time').map((t) => t.where)).toEqual(
      [],
    );
    expect(times.length).toBeGreaterThanOrEqual(10);
  });

  it('types counts, sizes, pages, limits and exit codes as integers', () => {
    const numeric = propertiesOf(document).filter(
      ({ name, schema }) =>
        INTEGER_FIELDS.has(name) && (schema.type === 'number' || schema.type === 'integer'),
    );
    expect(numeric.filter(({ schema }) => schema.type !== 'integer').map((n) => n.where)).toEqual(
      [],
    );
    expect(numeric.length).toBeGreaterThanOrEqual(20);
  });

  it('lists at GET / exactly the operations of the document', async () => {
    const info = (await sandbox.http.get('/').expect(200)).body as ServiceInfo;
    const listed = info.endpoints.map(
      ({ method, path, summary, operation_id }) => `${method} ${path} ${operation_id} ${summary}`,
    );
    const documented = operations.map(
      ({ key, operation }) => `${key} ${operation.operationId} ${operation.summary}`,
    );
    expect([...listed].sort()).toEqual([...documented].sort());
  });
});
