import type { RuntimeDto, RuntimePackageDto } from '../runtimes/dto/runtime.dto';

/** The packages most code for data work reaches for: named first, so a model finds them at once. */
const KEY_PACKAGES = ['numpy', 'pandas', 'matplotlib', 'scipy', 'scikit-learn'];

/** A distribution's name as PEP 503 compares names: `Scikit_Learn` is `scikit-learn`. */
function normalized(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** The runtimes as a model reads them: each one's Python, its key packages, then the others. */
export function runtimeSummary(runtimes: readonly RuntimeDto[]): string {
  const lines = ['Runtimes run_python can use (pass the name as `runtime`):'];
  for (const runtime of runtimes) {
    const name = `${runtime.name}${runtime.default ? ' (default)' : ''}`;
    const { packages } = runtime;
    if (packages === null) {
      lines.push(`- ${name}: its image could not be read (${runtime.error ?? 'unknown reason'})`);
      continue;
    }
    const key = KEY_PACKAGES.flatMap((wanted) =>
      packages.filter((found) => normalized(found.name) === wanted),
    );
    const others = packages.filter((found) => !key.includes(found));
    lines.push(
      `- ${name}: Python ${runtime.python_version ?? 'of unknown version'}`,
      `  key packages: ${listed(key) || 'none of ' + KEY_PACKAGES.join(', ')}`,
      `  other packages: ${listed(others) || 'none'}`,
    );
  }
  return lines.join('\n');
}

function listed(packages: readonly RuntimePackageDto[]): string {
  return packages.map(({ name, version }) => `${name} ${version}`).join(', ');
}
