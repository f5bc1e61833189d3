import {
  SandboxApp,
  run,
  startSandboxApp,
  waitForStatus,
  startSleeper,
} from './support/sandbox-app';

describe('Executing Python code (real Docker engine)', () => {
  let sandbox: SandboxApp;

  beforeAll(async () => {
    sandbox = await startSandboxApp();
  });

  afterAll(async () => {
    await sandbox.close();
    await sandbox.containersSettle();
  });

  it('accepts code with 202 and an id, then serves the completed result', async () => {
    const accepted = await sandbox.http
      .post('/execute')
      .send({ code: 'print("Hello, World!")' })
      .expect(202);
    const body = accepted.body as { execution_id: string; status: string };
    expect(body.execution_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(['queued', 'running']).toContain(body.status);

    const result = await waitForStatus(sandbox.http, body.execution_id, (s) => s === 'completed');
    expect(result).toMatchObject({
      execution_id: body.execution_id,
      status: 'completed',
      output: 'Hello, World!\n',
      stderr: '',
      error: null,
      exit_code: 0,
      truncated: false,
    });
    expect(Date.parse(result.start_time ?? '')).toBeLessThanOrEqual(
      Date.parse(result.end_time ?? ''),
    );
    expect(result.execution_time).toBeGreaterThan(0);
  });

  it('answers with the finished result when asked to wait', async () => {
    const result = await run(sandbox.http, {
      code: 'result = 2 + 2\nprint(f"Result: {result}")',
      debug_mode: true,
    });
    expect(result.status).toBe('completed');
    expect(result.output).toBe('Result: 4\n');
    expect(result.debug_info.variables_after).toEqual({
      result: { type: 'int', value: 4, truncated: false },
    });
  });

  it('binds input_data as a global and keeps processor_id', async () => {
    const result = await run(sandbox.http, {
      code: 'total = sum(input_data["values"])\nprint(input_data["name"], total)',
      input_data: { name: 'series', values: [1, 2, 3.5] },
      processor_id: 'processor-123',
    });
    expect(result.output).toBe('series 6.5\n');
    expect(result.processor_id).toBe('processor-123');
    expect(result.debug_info.variables_after?.total).toEqual({
      type: 'float',
      value: 6.5,
      truncated: false,
    });
  });

  it('reports an exception with the user line, frames and source', async () => {
    const code = ['def ratio(a, b):', '    return a / b', '', 'x = ratio(1, 0)'].join('\n');
    const result = await run(sandbox.http, { code });
    expect(result.status).toBe('failed');
    expect(result.exit_code).toBe(1);
    expect(result.error).toBe('ZeroDivisionError: division by zero (line 2)');
    const [exception] = result.debug_info.exceptions;
    expect(exception.type).toBe('ZeroDivisionError');
    expect(exception.line).toBe(2);
    expect(exception.frames).toEqual([
      { file: 'main.py', line: 4, function: '<module>', source: 'x = ratio(1, 0)' },
      { file: 'main.py', line: 2, function: 'ratio', source: 'return a / b' },
    ]);
    expect(result.stderr).toContain('ZeroDivisionError: division by zero');
  });

  it('reports chained causes', async () => {
    const code = [
      'try:',
      '    int("x")',
      'except ValueError as e:',
      '    raise RuntimeError("parsing failed") from e',
    ].join('\n');
    const result = await run(sandbox.http, { code });
    const [exception] = result.debug_info.exceptions;
    expect(exception).toMatchObject({ type: 'RuntimeError', line: 4, cause_relation: 'cause' });
    expect(exception.cause).toMatchObject({ type: 'ValueError', line: 2 });
  });

  it('gives input() the lines of stdin, then EOFError on the next; without stdin EOF at once', async () => {
    const code = ['first = input()', 'second = input()', 'print(first, second)', 'input()'].join(
      '\n',
    );
    const result = await run(sandbox.http, { code, stdin: 'one, é\ntwo\n' });
    expect(result).toMatchObject({ status: 'failed', exit_code: 1, output: 'one, é two\n' });
    expect(result.error).toBe('EOFError: EOF when reading a line (line 4)');

    const lines = await run(sandbox.http, {
      code: 'import sys\nprint([line for line in sys.stdin], repr(sys.stdin.read()))',
      stdin: 'a\nb',
    });
    expect(lines.output).toBe("['a\\n', 'b'] ''\n");

    const none = await run(sandbox.http, {
      code: 'import sys\nprint(repr(sys.stdin.read()))\ninput()',
    });
    expect(none.output).toBe("''\n");
    expect(none.error).toBe('EOFError: EOF when reading a line (line 3)');
  });

  it('reports a syntax error at its line', async () => {
    const result = await run(sandbox.http, { code: 'x = 1\ny = (2 +\n' });
    expect(result.status).toBe('failed');
    expect(result.debug_info.exceptions[0].type).toBe('SyntaxError');
    expect(result.error).toMatch(/^SyntaxError: .*\(line 2\)$/);
  });

  it('keeps stderr apart from stdout', async () => {
    const result = await run(sandbox.http, {
      code: 'import sys\nprint("to out")\nprint("to err", file=sys.stderr)',
    });
    expect(result.output).toBe('to out\n');
    expect(result.stderr).toBe('to err\n');
  });

  it('reports a non-zero exit code with the code', async () => {
    const result = await run(sandbox.http, { code: 'import sys\nprint("bye")\nsys.exit(3)' });
    expect(result).toMatchObject({
      status: 'failed',
      exit_code: 3,
      error: 'The process exited with code 3.',
      output: 'bye\n',
    });
  });

  it('skips modules and dunders in variables_after, and captures none without debug_mode', async () => {
    const code = 'import math\nimport numpy as np\narr = np.arange(3)\nroot = math.sqrt(16)';
    const debug = await run(sandbox.http, { code, debug_mode: true });
    expect(Object.keys(debug.debug_info.variables_after ?? {}).sort()).toEqual(['arr', 'root']);
    expect(debug.debug_info.variables_after?.arr).toMatchObject({
      type: 'ndarray',
      value: [0, 1, 2],
    });

    const quiet = await run(sandbox.http, { code: `${code}\n1/0`, debug_mode: false });
    expect(quiet.debug_info.variables_after).toBeNull();
    expect(quiet.debug_info.exceptions[0].type).toBe('ZeroDivisionError');
  });

  it('runs pandas', async () => {
    const result = await run(sandbox.http, {
      code: 'import pandas as pd\ndf = pd.DataFrame({"a": [1, 2, 3]})\nprint(int(df["a"].sum()))',
    });
    expect(result.output).toBe('6\n');
  });

  it('cancels a running execution, removing its container, and refuses to cancel it twice', async () => {
    const id = await startSleeper(sandbox.http);

    const cancelled = await sandbox.http.delete(`/execution/${id}`).expect(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', output: 'started\n' });
    await sandbox.containersSettle();

    const again = await sandbox.http.delete(`/execution/${id}`).expect(409);
    expect(again.body).toMatchObject({ code: 'EXECUTION_ALREADY_FINISHED' });
  });
});
