/** How much of a job's code is read for its imports: its head holds them, and reading costs CPU. */
export const MAX_SCANNED_CHARS = 200 * 1024;

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

/**
 * The top-level packages a job's codes import (a batch's items: their union), reading at
 * most MAX_SCANNED_CHARS of them in all.
 */
export function importedByJob(codes: readonly string[]): Set<string> {
  const packages = new Set<string>();
  let left = MAX_SCANNED_CHARS;
  for (const code of codes) {
    if (left <= 0) break;
    for (const name of importedModules(code, left)) packages.add(name);
    left -= code.length;
  }
  return packages;
}

/** `matplotlib.pyplot` → `matplotlib`. */
export function topLevelPackage(module: string): string {
  return module.split('.')[0];
}
