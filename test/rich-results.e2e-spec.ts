import type { Response } from 'supertest';
import type { VariableDto } from '../apps/sandbox/src/execution/dto/execution-result.dto';
import { SandboxApp, run, startSandboxApp } from './support/sandbox-app';

/** Collects a download's bytes as they are (supertest would parse text and JSON). */
function asBytes(response: Response, done: (error: Error | null, body: Buffer) => void): void {
  const pieces: Buffer[] = [];
  response.on('data', (piece: Buffer) => pieces.push(piece));
  response.on('end', () => done(null, Buffer.concat(pieces)));
}

/** Width and height from a PNG's IHDR chunk, after checking its signature. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  expect(png.toString('latin1', 12, 16)).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('Figures, table previews and profiles (real Docker engine)', () => {
  let sandbox: SandboxApp;

  beforeAll(async () => {
    sandbox = await startSandboxApp({});
  });

  afterAll(async () => {
    await sandbox.close();
    await sandbox.containersSettle();
  });

  async function image(url: string | null): Promise<Buffer> {
    const response = await sandbox.http
      .get(url ?? 'no url')
      .buffer(true)
      .parse(asBytes)
      .expect(200)
      .expect('Content-Type', 'image/png');
    return response.body as Buffer;
  }

  it('returns a line plot left open as a PNG of its size, served at its url', async () => {
    const code = [
      'import matplotlib.pyplot as plt',
      'plt.plot([1, 2, 3], [2, 4, 1])',
      'plt.title("line")',
    ].join('\n');
    const result = await run(sandbox.http, { code, timeout: 60 });

    expect(result.status).toBe('completed');
    expect(result.figures).toHaveLength(1);
    const [figure] = result.figures;
    // matplotlib's default figure: 6.4 x 4.8 inches at 100 dpi.
    expect(figure).toMatchObject({ index: 0, title: 'line', width: 640, height: 480, error: null });
    const png = await image(figure.url);
    expect(png.length).toBe(figure.size);
    expect(pngSize(png)).toEqual({ width: 640, height: 480 });
  });

  it('returns the figures shown with plt.show() and the one left open, in order', async () => {
    const code = [
      'import matplotlib.pyplot as plt',
      'for n in range(2):',
      '    plt.figure(figsize=(4, 3))',
      '    plt.bar([1, 2], [n, n + 1])',
      '    plt.suptitle(f"shown {n}")',
      '    plt.show()',
      'fig, ax = plt.subplots(figsize=(2, 2))',
      'ax.set_title("open")',
    ].join('\n');
    const result = await run(sandbox.http, { code, timeout: 60 });

    expect(result.figures.map(({ title, width, height }) => ({ title, width, height }))).toEqual([
      { title: 'shown 0', width: 400, height: 300 },
      { title: 'shown 1', width: 400, height: 300 },
      { title: 'open', width: 200, height: 200 },
    ]);
    for (const figure of result.figures) {
      expect(pngSize(await image(figure.url))).toEqual({
        width: figure.width,
        height: figure.height,
      });
    }
  });

  it('keeps the rest of the result whole when a figure raises while rendering', async () => {
    const code = [
      'import matplotlib.pyplot as plt',
      'from matplotlib.artist import Artist',
      'class Broken(Artist):',
      '    def draw(self, renderer):',
      '        raise RuntimeError("cannot draw this")',
      'plt.figure().add_artist(Broken())',
      'plt.figure()',
      'plt.plot([0, 1])',
      'answer = 41 + 1',
      'print("done")',
    ].join('\n');
    const result = await run(sandbox.http, { code, timeout: 60 });

    expect(result).toMatchObject({ status: 'completed', output: 'done\n' });
    expect(result.debug_info.variables_after?.answer).toMatchObject({ value: 42 });
    expect(result.figures).toHaveLength(2);
    expect(result.figures[0]).toMatchObject({ index: 0, url: null, width: null });
    expect(result.figures[0].error).toContain('cannot draw this');
    expect(result.figures[1]).toMatchObject({ index: 1, error: null, width: 640 });
  });

  it('costs nothing and lists no figure for code that never imports matplotlib', async () => {
    const result = await run(sandbox.http, { code: 'print(1)' });
    expect(result).toMatchObject({ status: 'completed', figures: [], figures_omitted: 0 });
  });

  it('previews a DataFrame, a Series and an array: shape, dtypes, nulls and first rows', async () => {
    const code = [
      'import numpy as np, pandas as pd',
      'frame = pd.DataFrame({',
      '    "price": [1.5, np.nan, 3.0],',
      '    "when": pd.to_datetime(["2024-01-01", None, "2024-03-01 12:30"]),',
      '    "kind": pd.Categorical(["x", "y", "x"]),',
      '})',
      'prices = frame["price"]',
      'grid = np.arange(12).reshape(3, 4)',
    ].join('\n');
    const result = await run(sandbox.http, { code, timeout: 60 });
    const variables = result.debug_info.variables_after as Record<string, VariableDto>;

    expect(variables.frame.repr).toContain('price');
    expect(variables.frame.preview).toMatchObject({
      kind: 'dataframe',
      shape: [3, 3],
      columns: [
        { name: 'price', dtype: 'float64', nulls: 1 },
        { name: 'when', dtype: 'datetime64[ns]', nulls: 1 },
        { name: 'kind', dtype: 'category', nulls: 0 },
      ],
      columns_omitted: 0,
      index: [0, 1, 2],
      rows_omitted: 0,
    });
    const rows = variables.frame.preview?.rows ?? [];
    expect(rows[0][0]).toBe(1.5);
    expect(rows[0][1]).toMatch(/^2024-01-01T00:00:00/);
    expect(rows[0][2]).toBe('x');
    expect(rows[1].slice(0, 2)).toEqual([null, null]);
    expect(rows[2][1]).toMatch(/^2024-03-01T12:30:00/);

    expect(variables.prices.preview).toMatchObject({
      kind: 'series',
      shape: [3],
      name: 'price',
      dtype: 'float64',
      nulls: 1,
      values: [1.5, null, 3.0],
      index: [0, 1, 2],
    });
    expect(variables.grid.preview).toMatchObject({
      kind: 'ndarray',
      shape: [3, 4],
      dtype: 'int64',
      values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
      values_omitted: 0,
    });
  });

  it('profiles on request: the slowest function, the line that allocated most, the imports', async () => {
    const code = [
      'def slow():',
      '    total = 0',
      '    for i in range(3_000_000):',
      '        total += i',
      '    return total',
      'big = [0] * 5_000_000',
      'import csv',
      'slow()',
    ].join('\n');
    const result = await run(sandbox.http, { code, timeout: 60, profile: true });
    const profile = result.debug_info.profile;

    expect(result.status).toBe('completed');
    expect(profile).not.toBeNull();
    const functions = profile?.functions ?? [];
    const userFunctions = functions.filter((fn) => fn.user_code && fn.function !== '<module>');
    expect(userFunctions[0]).toMatchObject({
      function: 'slow',
      file: 'main.py',
      line: 1,
      calls: 1,
    });
    expect(userFunctions[0].cumulative_ms).toBeGreaterThan(0);
    expect(profile?.allocations[0]).toMatchObject({ file: 'main.py', line: 6 });
    expect(profile?.allocations[0].bytes).toBeGreaterThanOrEqual(5_000_000 * 8);
    expect(profile?.peak_traced_bytes).toBeGreaterThanOrEqual(5_000_000 * 8);
    expect(profile?.imports.map((entry) => entry.module)).toContain('csv');

    const plain = await run(sandbox.http, { code: 'print(1)' });
    expect(plain.debug_info.profile).toBeNull();
  });
});
