/**
 * The name the code is written and compiled under in its working directory: tracebacks
 * say `main.py`, line N.
 */
export const CODE_FILENAME = 'main.py';

/** Longest path, and longest name in it, in UTF-8 bytes (Linux's PATH_MAX share and NAME_MAX). */
const MAX_PATH_BYTES = 1024;
const MAX_NAME_BYTES = 255;

/**
 * Names a Windows machine treats as devices, with any extension: a file the code writes
 * out under such a name cannot be saved on the caller's side, so none comes in either.
 */
const DEVICE_NAME = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/**
 * Why `path` cannot name a file of the code's working directory, or null when it can: a
 * relative POSIX path of plain names, none of them `.`, `..` or a device name, that
 * does not take the code's own file. Links cannot come in at all: an entry is always
 * written as a new regular file.
 */
export function inputFilePathProblem(path: string): string | null {
  if (path === '') return 'is empty';
  if (Buffer.byteLength(path, 'utf8') > MAX_PATH_BYTES)
    return `is longer than ${MAX_PATH_BYTES} bytes`;
  if (CONTROL_CHARACTER.test(path)) return 'holds a control character';
  if (path.includes('\\')) return 'holds a backslash (separate directories with /)';
  if (path.startsWith('/')) return 'is absolute (paths are relative to the working directory)';
  for (const name of path.split('/')) {
    if (name === '') return 'has an empty name (a doubled or trailing /)';
    if (name === '.' || name === '..') return `has a "${name}" in it`;
    if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES)
      return `has a name longer than ${MAX_NAME_BYTES} bytes`;
    if (DEVICE_NAME.test(name)) return `has the device name "${name}" in it`;
  }
  if (path === CODE_FILENAME) return `is ${CODE_FILENAME}, the code's own file`;
  return null;
}

/**
 * For each path that clashes with an earlier one, its index and why: the same path
 * twice, or a path inside another that is a file (`data` and `data/a.csv`).
 */
export function inputFilePathClashes(paths: readonly string[]): Map<number, string> {
  const clashes = new Map<number, string>();
  const files = new Map<string, number>();
  const directories = new Map<string, number>();
  paths.forEach((path, index) => {
    const earlier = files.get(path) ?? directories.get(path);
    const parents = path
      .split('/')
      .slice(0, -1)
      .map((_, depth, names) => names.slice(0, depth + 1).join('/'));
    const fileAbove = parents.find((parent) => files.has(parent));
    if (earlier !== undefined) {
      clashes.set(index, `clashes with files[${earlier}]: the same path, or a directory of it`);
    } else if (fileAbove !== undefined) {
      clashes.set(index, `is inside files[${files.get(fileAbove)}], which is a file`);
    } else {
      files.set(path, index);
      for (const parent of parents) if (!directories.has(parent)) directories.set(parent, index);
    }
  });
  return clashes;
}
