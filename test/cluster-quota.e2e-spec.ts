import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { startRedisServer, type RedisServer } from '@brain-net/testing';
import type { ExecutionResultDto } from '../apps/sandbox/src/execution/dto/execution-result.dto';
import { eventually } from './support/eventually';
import { ServiceProcess } from './support/separate-service';

const RATE_LIMIT_PER_MINUTE = 6;
const SLEEPER = "import time\nprint('started', flush=True)\ntime.sleep(60)";
const TENANTS = ['alpha', 'beta', 'gamma'] as const;
type Tenant = (typeof TENANTS)[number];

/**
 * Cluster mode keeps the per-tenant quotas of one machine: the rate limit and the cap on
 * a tenant's waiting executions hold across two instances on one Redis.
 */
describe('Cluster mode (REDIS_URL): tenant quotas across instances', () => {
  const run = randomUUID().slice(0, 6);
  const names = [`quota-a-${run}`, `quota-b-${run}`] as const;
  const [a, b] = names;
  const instances = new Map<string, ServiceProcess>();
  let redis: RedisServer;
  let dir: string;
  const submitted: string[] = [];

  const http = (instanceId: string) => {
    const service = instances.get(instanceId);
    if (!service) throw new Error(`${instanceId} is not running`);
    return request(service.url);
  };
  const post = (instanceId: string, tenant: Tenant, body: Record<string, unknown>) =>
    http(instanceId).post('/execute').set('X-API-Key', `${tenant}-key`).send(body);
  const submit = async (instanceId: string, tenant: Tenant): Promise<string> => {
    const response = await post(instanceId, tenant, { code: SLEEPER }).expect(202);
    const id = (response.body as { execution_id: string }).execution_id;
    submitted.push(id);
    return id;
  };
  const statusOf = async (id: string, tenant: Tenant): Promise<string> => {
    const response = await http(a)
      .get(`/execution/${id}`)
      .set('X-API-Key', `${tenant}-key`)
      .expect(200);
    return (response.body as ExecutionResultDto).status;
  };
  const running = (id: string, tenant: Tenant) =>
    eventually(
      async () => ((await statusOf(id, tenant)) === 'running' ? true : undefined),
      30_000,
      `execution ${id} to run`,
    );
  const cancel = (id: string, tenant: Tenant) =>
    http(b).delete(`/execution/${id}`).set('X-API-Key', `${tenant}-key`);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cluster-quota-'));
    const keyFile = join(dir, 'keys.json');
    writeFileSync(
      keyFile,
      JSON.stringify(
        TENANTS.map((tenant) => ({
          name: tenant,
          key_sha256: createHash('sha256').update(`${tenant}-key`).digest('hex'),
          tenant,
          scopes: ['execute', 'read'],
        })),
      ),
    );
    redis = await startRedisServer();
    const started = await Promise.all(
      names.map((name) =>
        ServiceProcess.start({
          REDIS_URL: redis.url,
          SANDBOX_INSTANCE_ID: name,
          AUTH_MODE: 'api-key',
          API_KEYS_FILE: keyFile,
          RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT_PER_MINUTE),
          MAX_CONCURRENT_EXECUTIONS: '1',
          MAX_QUEUED_PER_TENANT: '1',
        }),
      ),
    );
    names.forEach((name, i) => instances.set(name, started[i]));
  }, 180_000);

  afterAll(async () => {
    await Promise.all([...instances.values()].map((service) => service.stop()));
    await redis?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('answers 429 RATE_LIMITED with Retry-After and RateLimit-* past the minute of a tenant, whichever instance counts', async () => {
    // Refused by validation after the rate limit counted them: nothing runs.
    for (let i = 0; i < RATE_LIMIT_PER_MINUTE; i += 1) {
      const counted = await post(i % 2 === 0 ? a : b, 'gamma', {}).expect(400);
      expect(counted.headers['ratelimit-limit']).toBe(String(RATE_LIMIT_PER_MINUTE));
      expect(counted.headers['ratelimit-remaining']).toBe(String(RATE_LIMIT_PER_MINUTE - i - 1));
    }

    for (const instance of names) {
      const refused = await post(instance, 'gamma', { code: 'print(1)' }).expect(429);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
      const retryAfter = Number(refused.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(refused.headers['ratelimit-limit']).toBe(String(RATE_LIMIT_PER_MINUTE));
      expect(refused.headers['ratelimit-remaining']).toBe('0');
      expect(refused.headers['ratelimit-reset']).toBe(String(retryAfter));
    }
    // Another tenant's minute is its own.
    await post(b, 'beta', {}).expect(400);
  });

  it("holds MAX_QUEUED_PER_TENANT across instances, lets other tenants in, and frees a withdrawn job's place", async () => {
    try {
      // One slot per instance: both run alpha's first two, the third waits.
      const first = await submit(a, 'alpha');
      const second = await submit(b, 'alpha');
      await running(first, 'alpha');
      await running(second, 'alpha');
      const waiting = await submit(a, 'alpha');
      expect(await statusOf(waiting, 'alpha')).toBe('queued');

      const refused = await post(b, 'alpha', { code: SLEEPER }).expect(429);
      expect(refused.body).toMatchObject({ status: 429, code: 'TENANT_QUEUE_FULL' });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      // Beta's place is its own, on either instance.
      await submit(b, 'beta');

      await cancel(waiting, 'alpha').expect(200);
      await submit(b, 'alpha');
    } finally {
      for (const id of submitted) {
        for (const tenant of TENANTS) await cancel(id, tenant);
      }
    }
  });
});
