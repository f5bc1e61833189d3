/**
 * The image probe's program, run with this machine's `python3` as a probe container
 * runs it: what it reports is what this Python has.
 */
import { spawnSync } from 'node:child_process';
import { IMAGE_PROBE_COMMAND, parseImageInventory } from './image-inventory';

function probeHere() {
  const [python, ...args] = IMAGE_PROBE_COMMAND;
  const result = spawnSync(python, args, { timeout: 20_000 });
  expect(result.stderr.toString('utf8')).toBe('');
  expect(result.status).toBe(0);
  return parseImageInventory(result.stdout, 'here');
}

function here(code: string): string {
  const [python] = IMAGE_PROBE_COMMAND;
  return spawnSync(python, ['-I', '-c', code]).stdout.toString('utf8').trim();
}

describe('the image probe', () => {
  it('reports the Python version, the stdlib and built-in modules, and the distributions', () => {
    const inventory = probeHere();
    expect(inventory.pythonVersion).toBe(here('import platform; print(platform.python_version())'));
    expect(inventory.modules).toEqual(expect.arrayContaining(['json', 'sys', 'os', 'importlib']));
    expect([...inventory.modules].sort()).toEqual(inventory.modules);
    const names = inventory.packages.map((item) => item.name.toLowerCase());
    expect(new Set(names).size).toBe(names.length);
    const pip = here(
      "import importlib.metadata as m\ntry: print(m.version('pip'))\nexcept m.PackageNotFoundError: print('')",
    );
    if (pip !== '') {
      const listed = inventory.packages.find((item) => item.name.toLowerCase() === 'pip');
      expect(listed?.version).toBe(pip);
    }
  });
});
