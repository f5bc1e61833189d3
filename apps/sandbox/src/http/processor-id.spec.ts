import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { AdjustProcessorRequestDto } from '../adjustment/dto/adjust-processor-request.dto';
import { ExecuteRequestDto } from '../execution/dto/execute-request.dto';

/** The processor_id problems of each route's body with this id (none: it is accepted). */
function problemsOf(processorId: unknown): { execute: string[]; adjust: string[] } {
  const problems = (dto: object) =>
    validateSync(dto)
      .filter((error) => error.property === 'processor_id')
      .flatMap((error) => Object.values(error.constraints ?? {}));
  return {
    execute: problems(plainToInstance(ExecuteRequestDto, { processor_id: processorId })),
    adjust: problems(
      plainToInstance(AdjustProcessorRequestDto, {
        processor_id: processorId,
        adjustments: { x: 1 },
        reason: 'r',
      }),
    ),
  };
}

describe('processor_id, on both routes that take one', () => {
  it.each(['processor-123', 'p', '7', 'ns:proc_1.v2', 'a.b.c', 'x-', 'P'.repeat(200)])(
    'accepts the plain identifier %j',
    (processorId) => {
      expect(problemsOf(processorId)).toEqual({ execute: [], adjust: [] });
    },
  );

  it.each([
    ['a dot segment', '.'],
    ['a double-dot segment', '..'],
    ['.. inside', 'a..b'],
    ['a leading dot', '.hidden'],
    ['a leading underscore', '_x'],
    ['a leading dash', '-x'],
    ['a slash', 'a/b'],
    ['a space', 'a b'],
    ['a percent sign', '%2e%2e'],
    ['a non-ASCII letter', 'é'],
    ['the empty string', ''],
    ['201 characters', 'P'.repeat(201)],
    ['a number', 7],
  ])('refuses %s', (_what, processorId) => {
    const { execute, adjust } = problemsOf(processorId);
    expect(execute.length).toBeGreaterThan(0);
    expect(adjust).toEqual(execute);
  });
});
