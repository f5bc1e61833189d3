import { DomainError } from '../errors/domain-error';
import { RawJson } from '../http/json-body';
import { executeBodyOf, runPythonInputSchema } from './run-python-input';

/** `{"a": {"a": … 1}}`, `levels` objects deep. */
function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { a: 1 };
  for (let level = 1; level < levels; level += 1) value = { a: value };
  return value;
}

describe('executeBodyOf', () => {
  it('keeps input_data as the JSON text POST /execute would keep', async () => {
    const body = await executeBodyOf({ code: 'print(1)', input_data: { n: [1, 2] } }, 20);
    expect(body).toEqual({ code: 'print(1)', input_data: new RawJson('{"n":[1,2]}', 'object') });
  });

  it('leaves input_data out when the call has none', async () => {
    expect(await executeBodyOf({ code: 'print(1)', timeout: 5 }, 20)).toEqual({
      code: 'print(1)',
      timeout: 5,
    });
  });

  it('refuses input_data nested past MAX_INPUT_DEPTH, however deep', async () => {
    expect(await executeBodyOf({ code: 'x', input_data: nested(20) }, 20)).toHaveProperty(
      'input_data',
    );
    for (const levels of [21, 100_000]) {
      const refused = executeBodyOf({ code: 'x', input_data: nested(levels) }, 20);
      await expect(refused).rejects.toBeInstanceOf(DomainError);
      await expect(refused).rejects.toMatchObject({ code: 'JSON_TOO_DEEP' });
    }
  });
});

describe('runPythonInputSchema', () => {
  const schema = runPythonInputSchema({
    code: 'c',
    input_data: 'i',
    stdin: 's',
    files: 'f',
    runtime: 'r',
    timeout: 't',
  });

  it('refuses fields POST /execute has but run_python does not offer, and unknown ones', () => {
    expect(schema.safeParse({ code: 'x', memory_mb: 512 }).success).toBe(false);
    expect(schema.safeParse({ code: 'x', files: [{ path: 'a', evil: 1 }] }).success).toBe(false);
    expect(schema.safeParse({ code: 'x', files: [{ path: 'a', file_id: 'f' }] }).success).toBe(
      true,
    );
  });
});
