import type { ExecutionStatus } from '@brain-net/store';
import { DomainError } from '../errors/domain-error';
import type {
  ExceptionInfoDto,
  ExecutionResultDto,
  FigureDto,
} from '../execution/dto/execution-result.dto';
import {
  MAX_QUOTED_STREAM_CHARS,
  MAX_SHOWN_VARIABLES,
  MAX_VARIABLE_CHARS,
  executionSummary,
  isFailedRun,
  outputFileLinks,
  problemText,
} from './execution-summary';

const ID = '5b0f8c1e-3c1d-4a59-9f7e-0a8f1a2b3c4d';

/** A completed run that printed one line and left one variable. */
function result(overrides: Partial<ExecutionResultDto> = {}): ExecutionResultDto {
  return {
    execution_id: ID,
    tenant: 'default',
    status: 'completed',
    processor_id: null,
    output: '42\n',
    stderr: '',
    error: null,
    exit_code: 0,
    truncated: false,
    debug_info: {
      variables_after: { x: { type: 'int', value: 42, truncated: false } },
      exceptions: [],
      profile: null,
    },
    created_at: '2026-12-07T08:00:00.000Z',
    start_time: '2026-12-07T08:00:00.250Z',
    end_time: '2026-12-07T08:00:00.430Z',
    execution_time: 0.18,
    batch_id: null,
    batch_index: null,
    files: [],
    files_truncated: false,
    files_omitted: [],
    figures: [],
    figures_omitted: 0,
    runtime: 'python-3.11',
    module_hint: null,
    ...overrides,
  };
}

function zeroDivision(overrides: Partial<ExceptionInfoDto> = {}): ExceptionInfoDto {
  return {
    type: 'ZeroDivisionError',
    message: 'division by zero',
    line: 3,
    frames: [
      { file: 'main.py', line: 5, function: '<module>', source: 'ratio(1)' },
      { file: 'main.py', line: 3, function: 'ratio', source: '    return x / 0' },
    ],
    frames_omitted: 0,
    cause: null,
    cause_relation: null,
    ...overrides,
  };
}

function figure(index: number, overrides: Partial<FigureDto> = {}): FigureDto {
  return {
    index,
    title: null,
    width: 640,
    height: 480,
    size: 23145,
    media_type: 'image/png',
    url: `/execution/${ID}/figures/${index}`,
    error: null,
    ...overrides,
  };
}

describe('executionSummary', () => {
  it('says what happened in one line, then the output and the variables', () => {
    expect(executionSummary(result())).toBe(
      [
        `Execution ${ID} completed (exit code 0, ran 0.18 s, waited 0.25 s to start, runtime python-3.11).`,
        'stdout:\n42',
        'Variables after the run:\n  x (int) = 42',
      ].join('\n\n'),
    );
  });

  it('names the error, the line that raised it with its source, and what it was raised from', () => {
    const summary = executionSummary(
      result({
        status: 'failed',
        exit_code: 1,
        output: '',
        stderr: 'Traceback (most recent call last):\n  File "main.py", line 5\nZeroDivisionError\n',
        error: 'ZeroDivisionError: division by zero (line 3)',
        debug_info: {
          variables_after: {},
          exceptions: [
            zeroDivision({
              cause: { ...zeroDivision(), type: 'KeyError', message: "'n'", line: 2, frames: [] },
              cause_relation: 'context',
            }),
          ],
          profile: null,
        },
      }),
    );
    expect(summary).toContain(`Execution ${ID} failed (exit code 1,`);
    expect(summary).toContain(
      [
        'Error: ZeroDivisionError: division by zero (line 3)',
        'Failing line 3: return x / 0',
        "Raised while handling: KeyError: 'n' (line 2)",
      ].join('\n'),
    );
    expect(summary).toContain('stdout: (empty)');
    expect(summary).toContain('stderr:\nTraceback (most recent call last):');
    expect(summary).toContain('Variables after the run: none.');
  });

  it('says a run that is still going is so, without times it does not have yet', () => {
    const summary = executionSummary(
      result({
        status: 'queued',
        exit_code: null,
        output: '',
        start_time: null,
        end_time: null,
        execution_time: null,
        debug_info: { variables_after: null, exceptions: [], profile: null },
      }),
    );
    expect(summary).toBe(`Execution ${ID} is queued (runtime python-3.11).\n\nstdout: (empty)`);
  });

  it('quotes long output by its start and its end', () => {
    const output = `${'a'.repeat(MAX_QUOTED_STREAM_CHARS)}${'b'.repeat(1000)}\n`;
    const summary = executionSummary(result({ output, truncated: true }));
    const half = MAX_QUOTED_STREAM_CHARS / 2;
    expect(summary).toContain(
      `stdout:\n${'a'.repeat(half)}\n[… 1000 characters left out …]\n${'a'.repeat(half - 1000)}${'b'.repeat(1000)}`,
    );
    expect(summary).toContain('The output was cut at the sandbox’s output limit.');
  });

  it('shows each variable on one line, bounded, with a table’s shape, and counts the rest', () => {
    const many = Object.fromEntries(
      Array.from({ length: MAX_SHOWN_VARIABLES + 2 }, (_, n) => [
        `v${n}`,
        { type: 'int', value: n, truncated: false },
      ]),
    );
    const summary = executionSummary(
      result({
        debug_info: {
          variables_after: {
            frame: {
              type: 'DataFrame',
              repr: '   a  b\n0  1  2\n1  3  4',
              truncated: false,
              preview: { kind: 'dataframe', shape: [2, 2] },
            },
            long: { type: 'str', value: 'x'.repeat(500), truncated: false },
            ...many,
          },
          exceptions: [],
          profile: null,
        },
      }),
    );
    expect(summary).toContain('  frame (DataFrame, shape 2×2) = a b 0 1 2 1 3 4\n');
    expect(summary).toContain(`  long (str) = "${'x'.repeat(MAX_VARIABLE_CHARS - 1)}…\n`);
    expect(summary).toContain(`  v37 (int) = 37\n  … and 4 more`);
  });

  it('lists the figures in the order their images follow, and those without one', () => {
    const summary = executionSummary(
      result({
        figures: [
          figure(0, { title: 'Loss by epoch' }),
          figure(1, { url: null, width: null, height: null, error: 'it raised while rendering' }),
        ],
        figures_omitted: 3,
      }),
    );
    expect(summary).toContain(
      [
        'Figures (their images follow this text, in this order):',
        '  figure 0 "Loss by epoch": 640×480 px',
        '  figure 1: no image (it raised while rendering)',
        '  3 more figures were over the limit and not rendered',
      ].join('\n'),
    );
  });

  it('says which runtimes have a module the code could not import', () => {
    const hint = { module: 'sklearn', runtimes: ['python-3.11'], unchecked: [] };
    expect(executionSummary(result({ module_hint: hint }))).toContain(
      'The module sklearn is in these runtimes: python-3.11; pass one as `runtime`.',
    );
    expect(
      executionSummary(result({ module_hint: { ...hint, module: 'torch', runtimes: [] } })),
    ).toContain('No runtime has the module torch, and nothing can be installed: do without it.');
  });
});

describe('outputFileLinks', () => {
  it('gives each file its absolute download URL, and names what was left out', () => {
    const links = outputFileLinks(
      result({
        files: [
          {
            path: 'summary.csv',
            size: 1234,
            media_type: 'text/csv',
            sha256: 'ab',
            url: `/execution/${ID}/files/summary.csv`,
          },
        ],
        files_truncated: true,
        files_omitted: [{ path: 'big.parquet', size: 1 }],
      }),
      'http://sandbox.example:8001',
    );
    expect(links).toBe(
      [
        'Files the code wrote under out/ (download them with the same credentials as this call):',
        `  out/summary.csv (1234 bytes, text/csv): http://sandbox.example:8001/execution/${ID}/files/summary.csv`,
        'Left out, over the limits on returned files: out/big.parquet (1 byte).',
      ].join('\n'),
    );
  });

  it('is null for a run that wrote no file', () => {
    expect(outputFileLinks(result(), 'http://sandbox.example')).toBeNull();
  });
});

describe('problemText', () => {
  it('puts the problem code first, then each field and when to retry', () => {
    const error = new DomainError('LIMIT_OUT_OF_RANGE', 'A limit is over its maximum.', {
      fieldProblems: [{ field: 'timeout', messages: ['at most 300', 'an integer'] }],
      retryAfterS: 5,
    });
    expect(problemText(error)).toBe(
      'LIMIT_OUT_OF_RANGE: A limit is over its maximum.\n  timeout: at most 300; an integer\nRetry after 5 s.',
    );
  });
});

describe('isFailedRun', () => {
  it('is true for a run that did not complete, and false for one that did or has not ended', () => {
    const failed: ExecutionStatus[] = ['failed', 'timeout', 'cancelled'];
    const others: ExecutionStatus[] = ['completed', 'queued', 'running'];
    expect(failed.filter(isFailedRun)).toEqual(failed);
    expect(others.filter(isFailedRun)).toEqual([]);
  });
});
