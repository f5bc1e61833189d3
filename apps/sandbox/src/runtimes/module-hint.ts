import type { HarnessException } from '@brain-net/runner';
import type { ModuleHint } from '@brain-net/store';

/** Python's message for a module `import` cannot find: "No module named 'sklearn.linear_model'". */
const NO_MODULE_NAMED = /^No module named '([^']+)'/;

/**
 * The top-level module of the first ModuleNotFoundError among the exceptions and the
 * ones they were raised from or during (`sklearn` for 'sklearn.linear_model'); null when
 * there is none.
 */
export function missingModuleOf(exceptions: readonly HarnessException[]): string | null {
  for (const outermost of exceptions) {
    for (
      let exception: HarnessException | null = outermost;
      exception;
      exception = exception.cause
    ) {
      if (exception.type !== 'ModuleNotFoundError') continue;
      const topLevel = NO_MODULE_NAMED.exec(exception.message)?.[1].split('.')[0];
      if (topLevel) return topLevel;
    }
  }
  return null;
}

/** A runtime's importable top-level modules; null when its image could not be read. */
export interface RuntimeModules {
  readonly name: string;
  readonly modules: ReadonlySet<string> | null;
}

/** Which of the runtimes (in their order) have the module, and which could not be checked. */
export function moduleHintOf(module: string, runtimes: readonly RuntimeModules[]): ModuleHint {
  return {
    module,
    runtimes: runtimes.filter(({ modules }) => modules?.has(module)).map(({ name }) => name),
    unchecked: runtimes.filter(({ modules }) => modules === null).map(({ name }) => name),
  };
}
