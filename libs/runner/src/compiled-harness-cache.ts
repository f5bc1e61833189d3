import type { CompiledHarness } from './harness/harness-program';

/** What compiling the harness for an image tag found: the image it ran, and the code. */
export interface HarnessCompilation {
  readonly imageId: string;
  readonly compiled: CompiledHarness;
}

/** After a failed compilation, how long containers of that tag get the source before the next try. */
export const COMPILE_RETRY_AFTER_MS = 60_000;

/**
 * The harness compiled by each image's own Python, compiled once per image and in the
 * background: until it is there (and whenever compiling fails) containers get the
 * harness's source, which behaves the same and costs each container a few ms of CPU
 * more. An entry stays valid while the tag points at the image it was compiled for.
 */
export class CompiledHarnessCache<Context> {
  private readonly byTag = new Map<string, HarnessCompilation>();
  private readonly compiling = new Map<string, Promise<void>>();
  private readonly failedAt = new Map<string, number>();

  constructor(
    private readonly compile: (tag: string, context: Context) => Promise<HarnessCompilation>,
    private readonly onFailed: (tag: string, error: unknown) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The compiled harness for a container of `tag` (which the engine last resolved to
   * `imageId`, when known), or null for the source; starts compiling it, with `context`,
   * when it is missing.
   */
  lookup(tag: string, imageId: string | undefined, context: Context): CompiledHarness | null {
    const known = this.peek(tag, imageId);
    if (known) return known;
    if (!this.compiling.has(tag) && !this.failedRecently(tag)) this.start(tag, context);
    return null;
  }

  /** What lookup() would give now, without starting anything. */
  peek(tag: string, imageId: string | undefined): CompiledHarness | null {
    const known = this.byTag.get(tag);
    return known && (imageId === undefined || known.imageId === imageId) ? known.compiled : null;
  }

  /** Settles when no compilation is under way (shutdown waits for their containers). */
  async settled(): Promise<void> {
    await Promise.all(this.compiling.values());
  }

  private start(tag: string, context: Context): void {
    const compilation = this.compile(tag, context).then(
      (found) => {
        this.byTag.set(tag, found);
        this.failedAt.delete(tag);
      },
      (error: unknown) => {
        this.byTag.delete(tag);
        this.failedAt.set(tag, this.now());
        this.onFailed(tag, error);
      },
    );
    this.compiling.set(tag, compilation);
    void compilation.finally(() => this.compiling.delete(tag));
  }

  private failedRecently(tag: string): boolean {
    const failedAt = this.failedAt.get(tag);
    return failedAt !== undefined && this.now() - failedAt < COMPILE_RETRY_AFTER_MS;
  }
}
