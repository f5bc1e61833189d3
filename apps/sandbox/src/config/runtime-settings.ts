import { ValidateBy } from 'class-validator';

/** A runtime a request may name (`runtime`): its name, and the image its containers start from. */
export interface Runtime {
  readonly name: string;
  readonly image: string;
}

/** The runtimes of SANDBOX_RUNTIMES in the order given, the default first. */
export interface RuntimeSettings {
  readonly all: readonly Runtime[];
  /** The first one: what a request without `runtime` runs in. */
  readonly default: Runtime;
}

/**
 * The one runtime of a service without SANDBOX_RUNTIMES, SANDBOX_IMAGE under this name:
 * the Python both ways of building the default image ship (python:3.11-slim, bookworm).
 */
export const DEFAULT_RUNTIME_NAME = 'python-3.11';

/** Lower case like image names, so that a name never differs from another by case alone. */
const NAME = '[a-z0-9][a-z0-9._-]{0,62}';
/** As SANDBOX_IMAGE: a tag, or a digest reference. */
const IMAGE = String.raw`[\w./:@-]+`;
const ENTRY = `${NAME}=${IMAGE}`;

/** `name=image` entries separated by commas (spaces around them or not); empty: SANDBOX_IMAGE alone. */
const RUNTIMES_PATTERN = new RegExp(String.raw`^(${ENTRY}(\s*,\s*${ENTRY})*)?$`);

/** Validates SANDBOX_RUNTIMES' syntax (RUNTIMES_PATTERN); runtimeProblems() checks the entries together. */
export function IsRuntimeList(): PropertyDecorator {
  return ValidateBy({
    name: 'isRuntimeList',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && RUNTIMES_PATTERN.test(value),
      defaultMessage: () =>
        'SANDBOX_RUNTIMES must be name=image entries separated by commas (names: lower-case letters, digits, . _ -)',
    },
  });
}

/** The runtimes SANDBOX_RUNTIMES names (its syntax checked by RUNTIMES_PATTERN), or SANDBOX_IMAGE alone. */
export function runtimeSettingsOf(runtimes: string, sandboxImage: string): RuntimeSettings {
  const all: Runtime[] =
    runtimes === ''
      ? [{ name: DEFAULT_RUNTIME_NAME, image: sandboxImage }]
      : runtimes.split(',').map((entry) => {
          const [name, image] = entry.trim().split('=');
          return { name, image };
        });
  return { all, default: all[0] };
}

/**
 * What is wrong across SANDBOX_RUNTIMES' entries (each valid on its own): a name or an
 * image given twice (one warm pool and one catalog entry per image), or SANDBOX_IMAGE set
 * (`sandboxImage`; undefined when unset) to another image than the default runtime's.
 */
export function runtimeProblems(runtimes: string, sandboxImage: string | undefined): string[] {
  if (runtimes === '') return [];
  const { all, default: first } = runtimeSettingsOf(runtimes, '');
  const problems: string[] = [];
  const twice = (values: string[]) => [
    ...new Set(values.filter((value, i) => values.indexOf(value) !== i)),
  ];
  for (const name of twice(all.map((runtime) => runtime.name))) {
    problems.push(`SANDBOX_RUNTIMES: the runtime ${name} is named twice`);
  }
  for (const image of twice(all.map((runtime) => runtime.image))) {
    problems.push(`SANDBOX_RUNTIMES: the image ${image} is given twice; one name per image`);
  }
  if (sandboxImage !== undefined && sandboxImage !== first.image) {
    problems.push(
      `SANDBOX_IMAGE=${JSON.stringify(sandboxImage)}: the default runtime's image is the first of SANDBOX_RUNTIMES (${first.name}=${first.image}); leave SANDBOX_IMAGE out or make them agree`,
    );
  }
  return problems;
}

/** The runtime of that name, if it is configured. */
export function runtimeNamed(settings: RuntimeSettings, name: string): Runtime | undefined {
  return settings.all.find((runtime) => runtime.name === name);
}
