/**
 * `brain-net-sandbox run <script.py> [--input data.json] [--file path]... [--url URL]
 * [--api-key KEY]`: runs a script on the service, prints its output live and exits with
 * its exit code.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { Sandbox, type ExecuteRequest, type Execution } from './sandbox';

const USAGE = `Usage: brain-net-sandbox run <script.py> [options]

Runs the script in the sandbox, prints its stdout and stderr as they come and exits
with its exit code (1 if it failed without one).

Options:
  --input <data.json>  a JSON object, bound as the global input_data
  --file <path>        a file put beside the script under its own name (repeatable)
  --url <url>          the service (default: $SANDBOX_URL or http://localhost:8001)
  --api-key <key>      sent as a bearer token (default: $SANDBOX_API_KEY)
  -h, --help           this text
`;

const DEFAULT_URL = 'http://localhost:8001';

/** What a command line asks for; `help` when it asks for nothing runnable. */
type Command =
  | { readonly kind: 'help' }
  | {
      readonly kind: 'run';
      readonly script: string;
      readonly input: string | undefined;
      readonly files: readonly string[];
      readonly url: string;
      readonly apiKey: string | undefined;
    };

function parseCommand(args: readonly string[]): Command {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      input: { type: 'string' },
      file: { type: 'string', multiple: true },
      url: { type: 'string' },
      'api-key': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return { kind: 'help' };
  const [verb, script, ...extra] = positionals;
  if (verb !== 'run' || script === undefined || extra.length > 0) {
    throw new UsageError('expected: run <script.py>');
  }
  return {
    kind: 'run',
    script,
    input: values.input,
    files: values.file ?? [],
    url: values.url ?? process.env.SANDBOX_URL ?? DEFAULT_URL,
    apiKey: values['api-key'] ?? process.env.SANDBOX_API_KEY,
  };
}

class UsageError extends Error {}

/** Uploads the files, submits the script, echoes its output; resolves with the exit code. */
async function run(command: Extract<Command, { kind: 'run' }>): Promise<number> {
  const sandbox = new Sandbox({ baseUrl: command.url, apiKey: command.apiKey });
  const request: ExecuteRequest = { code: readFileSync(command.script, 'utf8') };
  if (command.input !== undefined) {
    request.input_data = JSON.parse(readFileSync(command.input, 'utf8')) as Record<string, unknown>;
  }
  if (command.files.length > 0) {
    request.files = await Promise.all(
      command.files.map(async (path) => {
        const name = basename(path);
        const uploaded = await sandbox.upload(readFileSync(path), name);
        return { path: name, file_id: uploaded.file_id };
      }),
    );
  }
  const { execution_id } = await sandbox.submit(request);
  let result: Execution | undefined;
  for await (const event of sandbox.stream(execution_id)) {
    if (event.type === 'output') {
      (event.stream === 'stdout' ? process.stdout : process.stderr).write(event.data);
    } else if (event.type === 'result') {
      result = event.result;
    }
  }
  // A stream that ended without its result: read the execution as it stands.
  result ??= await sandbox.get(execution_id);
  if (result.status === 'completed') return result.exit_code ?? 0;
  process.stderr.write(`${result.status}: ${result.error ?? 'no error message'}\n`);
  return result.exit_code || 1;
}

async function main(args: readonly string[]): Promise<number> {
  try {
    const command = parseCommand(args);
    if (command.kind === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    return await run(command);
  } catch (error) {
    if (error instanceof UsageError || (error instanceof TypeError && 'code' in error)) {
      // parseArgs's own errors (an unknown option) are TypeErrors with a code.
      process.stderr.write(`${error.message}\n\n${USAGE}`);
      return 2;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`brain-net-sandbox: ${message}\n`);
    return 1;
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
