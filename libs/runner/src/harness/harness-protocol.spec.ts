import {
  HarnessException,
  HarnessExit,
  HarnessFrameDecoder,
  HarnessMessage,
  HarnessResult,
  MAX_FILE_CHUNK_BYTES,
  MAX_FRAME_BYTES,
  MAX_OMITTED_LISTED,
  MAX_REJECTION_REASONS,
  isPlainRelativePath,
} from './harness-protocol';

const CAUSE: HarnessException = {
  type: 'KeyError',
  message: "'k'",
  line: null,
  frames: [],
  frames_omitted: 3,
  cause: null,
  cause_relation: null,
};

const EXCEPTION: HarnessException = {
  type: 'ValueError',
  message: 'bad',
  line: 2,
  frames: [{ file: 'main.py', line: 2, function: '<module>', source: 'raise ValueError("bad")' }],
  frames_omitted: 0,
  cause: CAUSE,
  cause_relation: 'context',
};

const RESULT: HarnessResult = {
  duration_ms: 1.25,
  figures: null,
  figures_omitted: 0,
  profile: null,
  exceptions: [EXCEPTION],
  variables_after: {
    count: { type: 'int', value: 1, truncated: false },
    nothing: { type: 'NoneType', value: null, truncated: false },
    thing: { type: 'Thing', repr: '<Thing>', truncated: true },
  },
  variables_omitted: 2,
};

const EXIT: HarnessExit = {
  exit_code: 1,
  signal: null,
  harness_timeout: false,
  max_rss_kb: 9000,
  cpu_time_ms: 12.5,
  stdout_bytes: 3,
  stderr_bytes: 0,
  result: RESULT,
  result_error: null,
  output_files: null,
};

/** An exit frame, its fields and its result's fields replaced by those given. */
function exitFrame(fields: object, resultFields: object = {}): object {
  return { type: 'exit', ...EXIT, result: { ...RESULT, ...resultFields }, ...fields };
}

function line(frame: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(frame)}\n`);
}

/** A decoder with the production line limit, fed `chunks` in order. */
function decode(...chunks: Buffer[]): { decoder: HarnessFrameDecoder; messages: HarnessMessage[] } {
  const decoder = new HarnessFrameDecoder(MAX_FRAME_BYTES);
  const messages = chunks.flatMap((chunk) => decoder.push(chunk));
  return { decoder, messages };
}

describe('HarnessFrameDecoder', () => {
  describe('valid frames', () => {
    it('decodes each kind of frame as it is', () => {
      const frames: HarnessMessage[] = [
        { type: 'stdout', data: 'out\n' },
        { type: 'stderr', data: '' },
        { type: 'truncated', stream: 'stderr' },
        { type: 'harness_error', message: 'bad payload: not JSON' },
        { type: 'exit', ...EXIT },
        { type: 'exit', ...EXIT, result: null, result_error: 'exceptions is not a list' },
        { type: 'file', path: 'plots/a b.png', size: 3 },
        { type: 'file_data', data: 'AAEC' },
        { type: 'file_data', data: 'A'.repeat((MAX_FILE_CHUNK_BYTES / 3) * 4) },
        {
          type: 'exit',
          ...EXIT,
          output_files: { sent: 1, omitted: [{ path: 'big.bin', size: 9 }], omitted_count: 4 },
        },
      ];

      const { decoder, messages } = decode(Buffer.concat(frames.map(line)));

      expect(messages).toEqual(frames);
      expect(decoder.rejectedLines).toBe(0);
      expect(decoder.rejectionReasons).toEqual([]);
    });

    it('joins a frame split across chunks, even inside a multi-byte character', () => {
      const bytes = line({ type: 'stdout', data: 'héllo' });
      const split = bytes.indexOf('é') + 1;

      const { messages } = decode(
        bytes.subarray(0, 5),
        bytes.subarray(5, split),
        bytes.subarray(split),
      );

      expect(messages).toEqual([{ type: 'stdout', data: 'héllo' }]);
    });

    it('drops fields the protocol does not have', () => {
      const { messages } = decode(line({ type: 'stdout', data: 'x', extra: 1 }));

      expect(messages).toEqual([{ type: 'stdout', data: 'x' }]);
    });
  });

  describe('malformed lines', () => {
    it.each([
      ['not JSON', Buffer.from('{"type": "stdout"\n'), 'line 1: not JSON'],
      ['not an object', line([1, 2]), 'line 1: not a frame: no known type'],
      [
        'of an unknown type',
        line({ type: 'stdin', data: 'x' }),
        'line 1: not a frame: no known type',
      ],
      [
        'output without string data',
        line({ type: 'stdout', data: 42 }),
        'line 1: malformed stdout frame: data: Invalid input: expected string, received number',
      ],
      [
        'file naming a path that leaves out/',
        line({ type: 'file', path: '../etc/passwd', size: 1 }),
        'line 1: malformed file frame: path: not a plain relative path',
      ],
      [
        'file_data that is not base64',
        line({ type: 'file_data', data: 'not base64!' }),
        'line 1: malformed file_data frame: data: Invalid base64-encoded string',
      ],
      [
        'file_data over the chunk size',
        line({ type: 'file_data', data: 'AAAA'.repeat(MAX_FILE_CHUNK_BYTES / 3 + 1) }),
        `line 1: malformed file_data frame: data: Too big: expected string to have <=${(MAX_FILE_CHUNK_BYTES / 3) * 4} characters`,
      ],
      [
        'truncated naming no stream',
        line({ type: 'truncated', stream: 'stdin' }),
        'line 1: malformed truncated frame: stream: Invalid option: expected one of "stdout"|"stderr"',
      ],
    ])('rejects a line %s and says why', (_case, bytes, reason) => {
      const { decoder, messages } = decode(bytes, line({ type: 'stdout', data: 'next' }));

      expect(messages).toEqual([{ type: 'stdout', data: 'next' }]);
      expect(decoder.rejectedLines).toBe(1);
      expect(decoder.rejectionReasons).toEqual([reason]);
    });

    it('ignores empty lines', () => {
      const { decoder, messages } = decode(Buffer.from('\n\n'));

      expect(messages).toEqual([]);
      expect(decoder.rejectedLines).toBe(0);
    });

    it(`counts every rejected line but keeps only the first ${MAX_REJECTION_REASONS} reasons`, () => {
      const { decoder } = decode(Buffer.from('junk\n'.repeat(MAX_REJECTION_REASONS + 3)));

      expect(decoder.rejectedLines).toBe(MAX_REJECTION_REASONS + 3);
      expect(decoder.rejectionReasons).toEqual(
        Array.from({ length: MAX_REJECTION_REASONS }, (_, index) => `line ${index + 1}: not JSON`),
      );
    });
  });

  describe('malformed exit and harness_error frames', () => {
    it.each([
      [
        'no result_error',
        exitFrame({ result_error: undefined }),
        'result_error: Invalid input: expected string, received undefined',
      ],
      [
        'a fractional exit code',
        exitFrame({ exit_code: 0.5 }),
        'exit_code: Invalid input: expected int, received number',
      ],
      [
        'exceptions that are a string',
        exitFrame({}, { exceptions: 'x' }),
        'result.exceptions: Invalid input: expected array, received string',
      ],
      [
        'a cause with a negative frames_omitted',
        exitFrame({}, { exceptions: [{ ...EXCEPTION, cause: { ...CAUSE, frames_omitted: -1 } }] }),
        'result.exceptions.0.cause.frames_omitted: Too small: expected number to be >=0',
      ],
      [
        `more than ${MAX_OMITTED_LISTED} omitted output files listed`,
        exitFrame({
          output_files: {
            sent: 0,
            omitted: Array.from({ length: MAX_OMITTED_LISTED + 1 }, () => ({ path: 'a', size: 1 })),
            omitted_count: MAX_OMITTED_LISTED + 1,
          },
        }),
        `output_files.omitted: Too big: expected array to have <=${MAX_OMITTED_LISTED} items`,
      ],
    ])(
      'turns an exit frame with %s into a harness_error naming the path',
      (_case, frame, issue) => {
        const { decoder, messages } = decode(line(frame));

        expect(messages).toEqual([
          { type: 'harness_error', message: `malformed exit frame: ${issue}` },
        ]);
        expect(decoder.rejectedLines).toBe(0);
      },
    );

    it('names a variable in the path by * only, since its name is user data', () => {
      const variables = { 'secret name': { type: 'int', value: 1, repr: '1', truncated: false } };

      const { messages } = decode(line(exitFrame({}, { variables_after: variables })));

      expect(messages).toEqual([
        {
          type: 'harness_error',
          message: 'malformed exit frame: result.variables_after.*: needs one of value and repr',
        },
      ]);
    });

    it('reports a cause chain too deep to check as a harness_error', () => {
      const depth = 100_000;
      const link = '{"type":"E","message":"","line":null,"frames":[],"frames_omitted":0,"cause":';
      const chain = `${link.repeat(depth)}null${',"cause_relation":"cause"}'.repeat(depth)}`;
      const frame = JSON.stringify(exitFrame({}, { exceptions: ['CHAIN'] })).replace(
        '"CHAIN"',
        chain,
      );
      const decoder = new HarnessFrameDecoder(frame.length);

      expect(decoder.push(Buffer.from(`${frame}\n`))).toEqual([
        { type: 'harness_error', message: 'malformed exit frame: nested too deeply' },
      ]);
    });

    it('turns a harness_error frame without a string message into one that says so', () => {
      const { messages } = decode(line({ type: 'harness_error', message: { text: 'x' } }));

      expect(messages).toEqual([
        {
          type: 'harness_error',
          message:
            'malformed harness_error frame: message: Invalid input: expected string, received object',
        },
      ]);
    });
  });

  describe('over-long lines', () => {
    it('rejects a line past the limit once, without keeping it, and decodes the next line', () => {
      const decoder = new HarnessFrameDecoder(100);
      const next = line({ type: 'stdout', data: 'next' });

      const messages = [
        ...decoder.push(Buffer.from('{"type":"stdout","data":"')),
        ...Array.from({ length: 1000 }, () => decoder.push(Buffer.alloc(1000, 'x'))).flat(),
        ...decoder.push(Buffer.concat([Buffer.from('"}\n'), next])),
      ];

      expect(messages).toEqual([{ type: 'stdout', data: 'next' }]);
      expect(decoder.rejectedLines).toBe(1);
      expect(decoder.rejectionReasons).toEqual(['line 1: longer than 100 bytes']);
    });

    it('rejects a line past the limit that arrives whole in one chunk', () => {
      const decoder = new HarnessFrameDecoder(100);

      const messages = decoder.push(line({ type: 'stdout', data: 'x'.repeat(200) }));

      expect(messages).toEqual([]);
      expect(decoder.rejectionReasons).toEqual(['line 1: longer than 100 bytes']);
    });

    it('accepts a line of exactly the limit', () => {
      const bytes = line({ type: 'stdout', data: 'x'.repeat(70) });
      const decoder = new HarnessFrameDecoder(bytes.length - 1);

      expect(decoder.push(bytes)).toEqual([{ type: 'stdout', data: 'x'.repeat(70) }]);
    });
  });
});

describe('isPlainRelativePath', () => {
  it.each(['a', 'data/input.csv', 'a b/ç/..x', '.hidden/x'])('takes %j', (path) => {
    expect(isPlainRelativePath(path)).toBe(true);
  });

  it.each(['', '/etc/passwd', '../x', 'a/../b', 'a/./b', 'a//b', 'a/', '.', 'a\u0000b'])(
    'refuses %j',
    (path) => {
      expect(isPlainRelativePath(path)).toBe(false);
    },
  );
});
