import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResult, CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { keyEntry, writeKeysFile } from './support/api-keys';
import { SandboxApp, startSandboxApp } from './support/sandbox-app';
import { MAX_PARSED_MEMBER_VALUES } from '../apps/sandbox/src/http/json-body';

const KEYS = {
  alice: 'alice-mcp-key-0123456789',
  bob: 'bob-mcp-key-0123456789',
  reader: 'reader-mcp-key-0123456789',
};

type Image = Extract<CallToolResult['content'][number], { type: 'image' }>;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The SDK's own client over streamable HTTP, sending `key` as a bearer credential. */
async function connect(url: string, key?: string): Promise<Client> {
  const client = new Client({ name: 'mcp-e2e-spec', version: '1.0.0' });
  const headers = key === undefined ? undefined : { Authorization: `Bearer ${key}` };
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers } }),
  );
  return client;
}

/** Calls a tool; the result as the MCP schema types it. */
async function call(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<CallToolResult> {
  return CallToolResultSchema.parse(await client.callTool({ name, arguments: args }));
}

function textOf(result: CallToolResult): string {
  return result.content.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('\n');
}

function imagesOf(result: CallToolResult): Image[] {
  return result.content.filter((part): part is Image => part.type === 'image');
}

function executionIdOf(result: CallToolResult): string {
  const id = /^Execution (\S+) /.exec(textOf(result))?.[1];
  if (id === undefined) throw new Error(`no execution id in ${textOf(result)}`);
  return id;
}

/** Issue 18: the sandbox as MCP tools, driven by the SDK's own client, on the real engine. */
describe('MCP at /mcp (AUTH_MODE=api-key, real Docker engine)', () => {
  let directory: string;
  let sandbox: SandboxApp;
  let alice: Client;

  /** A raw POST /mcp with alice's key: for bodies the SDK's client would not send. */
  function postAsAlice(body: string): Promise<Response> {
    return fetch(`${sandbox.url}/mcp`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${KEYS.alice}`,
        Accept: 'application/json, text/event-stream',
        'Content-Type': 'application/json',
      },
      body,
    });
  }

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'sandbox-mcp-'));
    const keysFile = writeKeysFile(directory, [
      keyEntry('alice', KEYS.alice, 'tenant-a'),
      keyEntry('bob', KEYS.bob, 'tenant-b'),
      keyEntry('reader', KEYS.reader, 'tenant-a', ['read']),
    ]);
    sandbox = await startSandboxApp({ AUTH_MODE: 'api-key', API_KEYS_FILE: keysFile });
    alice = await connect(sandbox.url, KEYS.alice);
  });

  afterAll(async () => {
    await alice.close();
    await sandbox.close();
    await sandbox.containersSettle();
    rmSync(directory, { recursive: true, force: true });
  });

  it('lists the three tools, each described for a model with the limits in force', async () => {
    const { tools } = await alice.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([
      'get_execution',
      'list_runtimes',
      'run_python',
    ]);
    const runPython = tools.find((tool) => tool.name === 'run_python');
    expect(runPython?.description).toContain('NO network');
    expect(runPython?.description).toContain('256 MiB of memory'); // SANDBOX_MEMORY_MB's default
    expect(runPython?.description).toContain('plt.show()');
    expect(runPython?.inputSchema).toMatchObject({
      required: ['code'],
      properties: {
        code: { type: 'string' },
        input_data: { type: 'object' },
        files: { type: 'array' },
        timeout: { type: 'integer' },
      },
    });
    for (const tool of tools) expect(tool.description?.length).toBeGreaterThan(100);
  });

  it('runs code with input_data and stdin, and answers with its output and variables', async () => {
    const result = await call(alice, 'run_python', {
      code: 'word = input()\nx = 6 * 7 * input_data["n"]\nprint(x, word)',
      input_data: { n: 2 },
      stdin: 'hello\n',
    });
    expect(result.isError).toBe(false);
    const summary = textOf(result);
    expect(summary).toMatch(/^Execution \S+ completed \(exit code 0, ran [\d.]+ s/);
    expect(summary).toContain('stdout:\n84 hello');
    expect(summary).toContain('x (int) = 84');
    expect(summary).toContain('word (str) = "hello"');
  });

  it('marks a run that raises as an error, naming the failing line', async () => {
    const result = await call(alice, 'run_python', { code: 'x = 1\ny = x / 0\nprint("never")' });
    expect(result.isError).toBe(true);
    const summary = textOf(result);
    expect(summary).toMatch(/^Execution \S+ failed \(exit code 1,/);
    expect(summary).toContain('Error: ZeroDivisionError: division by zero (line 2)');
    expect(summary).toContain('Failing line 2: y = x / 0');
    expect(summary).toContain('x (int) = 1');
  });

  it('returns a matplotlib figure as a PNG image; get_execution reads the run again', async () => {
    const code = [
      'import matplotlib.pyplot as plt',
      'plt.plot([1, 2, 3], [2, 4, 1])',
      'plt.title("line")',
    ].join('\n');
    const result = await call(alice, 'run_python', { code });
    expect(result.isError).toBe(false);
    expect(textOf(result)).toContain('figure 0 "line": 640×480 px');
    const [image] = imagesOf(result);
    expect(image?.mimeType).toBe('image/png');
    const png = Buffer.from(image?.data ?? '', 'base64');
    expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(png.toString('ascii', 12, 16)).toBe('IHDR');
    expect(png.readUInt32BE(16)).toBe(640);
    expect(png.readUInt32BE(20)).toBe(480);

    const again = await call(alice, 'get_execution', { execution_id: executionIdOf(result) });
    expect(again.isError).toBe(false);
    expect(textOf(again)).toBe(textOf(result));
    expect(imagesOf(again).map((part) => part.data)).toEqual([image?.data]);
  });

  it('puts an upload in the working directory, and links the files written under out/', async () => {
    const upload = await sandbox.http
      .post('/files?name=sales.csv')
      .set('Authorization', `Bearer ${KEYS.alice}`)
      .set('Content-Type', 'text/csv')
      .send('month,total\njan,3\nfeb,4\n')
      .expect(201);
    const code = [
      'import os',
      'rows = open("data/sales.csv").read().splitlines()[1:]',
      'os.makedirs("out")',
      'open("out/total.txt", "w").write(str(sum(int(r.split(",")[1]) for r in rows)))',
    ].join('\n');
    const result = await call(alice, 'run_python', {
      code,
      files: [{ path: 'data/sales.csv', file_id: (upload.body as { file_id: string }).file_id }],
    });
    expect(result.isError).toBe(false);
    const link = `${sandbox.url}/execution/${executionIdOf(result)}/files/total.txt`;
    expect(textOf(result)).toContain(`out/total.txt (1 byte, text/plain): ${link}`);
    const download = await fetch(link, { headers: { Authorization: `Bearer ${KEYS.alice}` } });
    expect(await download.text()).toBe('7');
  });

  it('lists the runtimes with their Python and key packages', async () => {
    const result = await call(alice, 'list_runtimes');
    expect(result.isError).toBeFalsy();
    const summary = textOf(result);
    expect(summary).toContain('- python-3.11 (default): Python 3.11.');
    expect(summary).toMatch(/key packages: numpy [\d.]+, pandas [\d.]+, matplotlib [\d.]+/);
  });

  it('refuses what POST /execute refuses, as a tool error with the problem code', async () => {
    const refusals: [Record<string, unknown>, string][] = [
      [{ code: 'print(1)', runtime: 'python-2.7' }, 'UNKNOWN_RUNTIME: '],
      [{ code: 'print(1)', timeout: 0 }, 'VALIDATION_FAILED: timeout must not be less than 1'],
      [{ code: 'print(1)', timeout: 100_000 }, 'TIMEOUT_OUT_OF_RANGE: '],
      [{ code: 'print(1)', files: [{ path: '../x', content: 'x' }] }, 'INVALID_FILE: '],
    ];
    for (const [args, problem] of refusals) {
      const result = await call(alice, 'run_python', args);
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain(problem);
    }
  });

  it('refuses a body nested past MAX_INPUT_DEPTH at the door, however deep, and runs nothing', async () => {
    const executions = async () =>
      (
        await sandbox.http
          .get('/executions')
          .set('Authorization', `Bearer ${KEYS.alice}`)
          .expect(200)
      ).body as { total: number };
    const before = (await executions()).total;
    // Sent by hand: the SDK's client cannot even serialise a value this deep.
    const depth = 200_000;
    const inputData = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const answer = await postAsAlice(
      `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"run_python","arguments":{"code":"print(1)","input_data":${inputData}}}}`,
    );
    // Refused at the door, as POST /execute's body would be: walked, never parsed.
    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toContain('application/problem+json');
    expect(await answer.json()).toMatchObject({ code: 'JSON_TOO_DEEP' });
    expect((await executions()).total).toBe(before);
  });

  it('refuses input_data of more values than a parsed field may hold: bulk data goes as a file', async () => {
    const answer = await postAsAlice(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: {
          name: 'run_python',
          arguments: { code: 'print(1)', input_data: new Array(MAX_PARSED_MEMBER_VALUES).fill(0) },
        },
      }),
    );
    expect(answer.status).toBe(413);
    expect(await answer.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('keeps another tenant’s executions as unknown as missing ones', async () => {
    const run = await call(alice, 'run_python', { code: 'print(1)' });
    const bob = await connect(sandbox.url, KEYS.bob);
    try {
      const result = await call(bob, 'get_execution', { execution_id: executionIdOf(run) });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain('EXECUTION_NOT_FOUND: ');
    } finally {
      await bob.close();
    }
  });

  it('refuses a client without a key (401) and a key without the execute scope (403)', async () => {
    await expect(connect(sandbox.url)).rejects.toMatchObject({ code: 401 });
    await expect(connect(sandbox.url, KEYS.reader)).rejects.toMatchObject({ code: 403 });
  });

  it('answers GET and DELETE with 405: the server keeps no sessions', async () => {
    for (const method of ['get', 'delete'] as const) {
      const answer = await sandbox.http[method]('/mcp')
        .set('Authorization', `Bearer ${KEYS.alice}`)
        .expect(405);
      expect(answer.headers.allow).toBe('POST');
    }
  });
});

describe('MCP at /mcp (AUTH_MODE=none)', () => {
  let sandbox: SandboxApp;

  beforeAll(async () => {
    sandbox = await startSandboxApp();
  });

  afterAll(async () => {
    await sandbox.close();
  });

  it('serves every tool to the anonymous caller, without credentials', async () => {
    const client = await connect(sandbox.url);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name).sort()).toEqual([
        'get_execution',
        'list_runtimes',
        'run_python',
      ]);
    } finally {
      await client.close();
    }
  });
});

describe('MCP at /mcp behind an ingress (PUBLIC_URL)', () => {
  let sandbox: SandboxApp;

  beforeAll(async () => {
    sandbox = await startSandboxApp({ PUBLIC_URL: 'https://sandbox.invalid/prefix/' });
  });

  afterAll(async () => {
    await sandbox.close();
    await sandbox.containersSettle();
  });

  it('links the files written under out/ where callers reach the service, not where it listens', async () => {
    const client = await connect(sandbox.url);
    try {
      const result = await call(client, 'run_python', {
        code: 'import os\nos.makedirs("out")\nopen("out/a.txt", "w").write("a")',
      });
      const link = `https://sandbox.invalid/prefix/execution/${executionIdOf(result)}/files/a.txt`;
      expect(textOf(result)).toContain(`out/a.txt (1 byte, text/plain): ${link}`);
    } finally {
      await client.close();
    }
  });
});
