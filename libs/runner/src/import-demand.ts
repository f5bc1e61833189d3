/** How much of a job's code is read for its imports: its head holds them, and reading costs CPU. */
export const MAX_SCANNED_CHARS = 200 * 1024;
/** Jobs whose imports decide what warm containers preload. */
export const REMEMBERED_JOBS = 50;

const PACKAGE_NAME = /^[A-Za-z_]\w*$/;

/**
 * The top-level packages a Python source imports (`import a.b as c, d`: a and d;
 * `from a.b import c`: a), found line by line without a parser: each line's statements
 * (split on `;`, a `#` comment cut off first) that begin with `import` or `from`, however
 * indented. Relative imports name no package. Garbage is skipped; a line of a string that
 * reads like an import counts, which only preloads a module more. Reads at most
 * `maxChars` of the code.
 */
export function importedModules(code: string, maxChars = MAX_SCANNED_CHARS): Set<string> {
  const packages = new Set<string>();
  for (const line of code.slice(0, maxChars).split(/\r\n|\r|\n/)) {
    const comment = line.indexOf('#');
    const statements = (comment === -1 ? line : line.slice(0, comment)).split(';');
    for (const statement of statements) {
      for (const name of importedNames(statement.trim())) {
        const topLevel = topLevelPackage(name);
        if (PACKAGE_NAME.test(topLevel)) packages.add(topLevel);
      }
    }
  }
  return packages;
}

/** The dotted module names one statement imports; none when it is not an import. */
function importedNames(statement: string): string[] {
  const plain = /^import\s+(.+)$/.exec(statement);
  if (plain) return plain[1].split(',').map((clause) => clause.trim().split(/\s+/)[0]);
  const from = /^from\s+(\S+)\s+import\b/.exec(statement);
  if (from && !from[1].startsWith('.')) return [from[1]];
  return [];
}

/** `matplotlib.pyplot` → `matplotlib`. */
function topLevelPackage(module: string): string {
  return module.split('.')[0];
}

/**
 * What recent jobs imported, to preload in warm containers only the modules jobs use:
 * a module preloaded for nothing costs each warm container memory and CPU. Knows
 * nothing of Docker.
 */
export class ImportDemand {
  /** The packages of each remembered job, oldest first. */
  private readonly jobs: Set<string>[] = [];
  /** How many remembered jobs import each package. */
  private readonly importers = new Map<string, number>();

  /**
   * Remembers one job's imports: the union over its codes (a batch's items), reading at
   * most MAX_SCANNED_CHARS of them in all.
   */
  record(codes: readonly string[]): void {
    const packages = new Set<string>();
    let left = MAX_SCANNED_CHARS;
    for (const code of codes) {
      if (left <= 0) break;
      for (const name of importedModules(code, left)) packages.add(name);
      left -= code.length;
    }
    this.jobs.push(packages);
    for (const name of packages) this.importers.set(name, (this.importers.get(name) ?? 0) + 1);
    const oldest = this.jobs.length > REMEMBERED_JOBS ? this.jobs.shift() : undefined;
    if (oldest) this.forget(oldest);
  }

  /**
   * The configured modules, in their order, whose top-level package a remembered job
   * imports; all of them until a job is recorded (a fresh instance preloads as configured).
   */
  preloadFor(configured: readonly string[]): string[] {
    if (this.jobs.length === 0) return [...configured];
    return configured.filter((module) => this.importers.has(topLevelPackage(module)));
  }

  private forget(packages: Set<string>): void {
    for (const name of packages) {
      const count = (this.importers.get(name) ?? 0) - 1;
      if (count > 0) this.importers.set(name, count);
      else this.importers.delete(name);
    }
  }
}
