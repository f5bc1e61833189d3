import {
  COMPILE_RETRY_AFTER_MS,
  CompiledHarnessCache,
  type HarnessCompilation,
} from './compiled-harness-cache';

const compilation = (imageId: string): HarnessCompilation => ({
  imageId,
  compiled: { pythonVersion: 51053296, code: Buffer.from(imageId) },
});

/** A cache over a compiler whose answers the test gives, one call at a time. */
function cacheUnderTest() {
  const calls: {
    tag: string;
    context: string;
    settle: (result: HarnessCompilation | Error) => void;
  }[] = [];
  const failures: string[] = [];
  let now = 1_000;
  const cache = new CompiledHarnessCache<string>(
    (tag, context) =>
      new Promise((resolve, reject) =>
        calls.push({
          tag,
          context,
          settle: (result) => (result instanceof Error ? reject(result) : resolve(result)),
        }),
      ),
    (tag, error) => failures.push(`${tag}: ${String(error)}`),
    () => now,
  );
  return { cache, calls, failures, advance: (ms: number) => (now += ms) };
}

describe('CompiledHarnessCache', () => {
  it('gives the source until the compilation is there, and starts only one', async () => {
    const { cache, calls } = cacheUnderTest();
    expect(cache.lookup('img:1', 'sha256:a', 'limits A')).toBeNull();
    expect(cache.lookup('img:1', 'sha256:a', 'limits B')).toBeNull();
    expect(calls.map(({ tag, context }) => [tag, context])).toEqual([['img:1', 'limits A']]);

    calls[0].settle(compilation('sha256:a'));
    await cache.settled();
    expect(cache.lookup('img:1', 'sha256:a', 'limits A')?.code.toString()).toBe('sha256:a');
    expect(cache.lookup('img:1', undefined, 'limits A')?.code.toString()).toBe('sha256:a');
    expect(calls).toHaveLength(1);
  });

  it('compiles again when the tag points at another image', async () => {
    const { cache, calls } = cacheUnderTest();
    cache.lookup('img:1', 'sha256:a', 'x');
    calls[0].settle(compilation('sha256:a'));
    await cache.settled();

    expect(cache.lookup('img:1', 'sha256:b', 'x')).toBeNull();
    expect(calls).toHaveLength(2);
    calls[1].settle(compilation('sha256:b'));
    await cache.settled();
    expect(cache.lookup('img:1', 'sha256:b', 'x')?.code.toString()).toBe('sha256:b');
  });

  it('keeps to the source for a while after a failure, then tries again', async () => {
    const { cache, calls, failures, advance } = cacheUnderTest();
    cache.lookup('img:1', 'sha256:a', 'x');
    calls[0].settle(new Error('engine gone'));
    await cache.settled();
    expect(failures).toEqual(['img:1: Error: engine gone']);

    advance(COMPILE_RETRY_AFTER_MS - 1);
    expect(cache.lookup('img:1', 'sha256:a', 'x')).toBeNull();
    expect(calls).toHaveLength(1);
    advance(1);
    expect(cache.lookup('img:1', 'sha256:a', 'x')).toBeNull();
    expect(calls).toHaveLength(2);
    calls[1].settle(compilation('sha256:a'));
    await cache.settled();
    expect(cache.lookup('img:1', 'sha256:a', 'x')).not.toBeNull();
  });

  it('keeps each tag apart', async () => {
    const { cache, calls } = cacheUnderTest();
    cache.lookup('img:1', 'sha256:a', 'x');
    cache.lookup('img:2', 'sha256:b', 'x');
    expect(calls.map(({ tag }) => tag)).toEqual(['img:1', 'img:2']);
    calls[1].settle(compilation('sha256:b'));
    calls[0].settle(new Error('no'));
    await cache.settled();
    expect(cache.lookup('img:2', 'sha256:b', 'x')).not.toBeNull();
    expect(cache.lookup('img:1', 'sha256:a', 'x')).toBeNull();
  });
});
