import { inputFilePathClashes, inputFilePathProblem } from './input-file-path';

describe('inputFilePathProblem', () => {
  it.each(['data.csv', 'data/input.csv', 'a/b/c/d.bin', '.hidden', 'über/größe.txt', 'con-fig.py'])(
    'takes %s',
    (path) => {
      expect(inputFilePathProblem(path)).toBeNull();
    },
  );

  it.each([
    ['', /empty/],
    ['/etc/passwd', /absolute/],
    ['../escape', /"\.\."/],
    ['data/../../escape', /"\.\."/],
    ['./data.csv', /"\."/],
    ['data//x', /empty name/],
    ['data/', /empty name/],
    ['a\\b', /backslash/],
    ['a\u0000b', /control/],
    ['line\nbreak', /control/],
    ['NUL', /device name/],
    ['out/com1.txt', /device name/],
    ['main.py', /code's own file/],
  ])('refuses %j', (path, reason) => {
    expect(inputFilePathProblem(path)).toMatch(reason);
  });

  it('refuses a name over 255 bytes and a path over 1024', () => {
    expect(inputFilePathProblem('x'.repeat(256))).toMatch(/name longer than 255/);
    expect(inputFilePathProblem(`${'d/'.repeat(600)}x`)).toMatch(/longer than 1024 bytes/);
  });
});

describe('inputFilePathClashes', () => {
  it('finds the same path twice and a file used as a directory, in either order', () => {
    const clashes = inputFilePathClashes([
      'data/a.csv',
      'data/a.csv',
      'data',
      'notes',
      'notes/x.txt',
      'data/b.csv',
    ]);
    expect([...clashes]).toEqual([
      [1, expect.stringMatching(/files\[0\]/)],
      [2, expect.stringMatching(/files\[0\]/)],
      [4, expect.stringMatching(/inside files\[3\]/)],
    ]);
  });

  it('has nothing to say about distinct files', () => {
    expect(inputFilePathClashes(['a/x', 'a/y', 'b', 'a/z/w']).size).toBe(0);
  });
});
